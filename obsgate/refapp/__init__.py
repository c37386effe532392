"""Reference MindWeave services, instrumented as MW-ENG-071 prescribes, for the app-level
suites and the load gate: api-gateway (gateway.py), the upstream stub standing in for the
Claude API and MCP tools (upstream.py), and the usage-tracker behind Kafka
(usage_tracker.py). They read their instrumentation settings from the config dir under
test (settings.py), so a broken line there changes what they serve. The `refapp` fixture
(obsgate.py) starts them; client.py drives them; intent.py reads the metrics intent.
"""
