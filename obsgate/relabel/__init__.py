"""The config's scrape jobs run on representative targets with Prometheus' own relabel code:
which labels each job really attaches to the series the rules, SLOs and dashboards select."""
