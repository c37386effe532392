"""What a run leaves for people to look at: the landing page (reports/index.html), the
facts of the run in pytest-html's Environment table, and the figures (alert timelines,
routing trees, exact scenarios, SLO burn, load latency)."""
