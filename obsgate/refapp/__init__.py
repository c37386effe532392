"""What the app-level suites and the load gate need around the services under test
(obsgate/services): the upstream stub standing in for the Claude API and MCP tools
(upstream.py), the `refapp` fixture that starts them all (fixtures.py), the client that
drives and scrapes them (client.py), the metrics intent (intent.py) and the app's stated
instrumentation settings (settings.py).
"""
