"""Root conftest: the gate's plugin (options, markers, honest-gate rules) and the services."""

pytest_plugins = [
    "fixtures.plugin",
    "fixtures.stack.fixtures",
    "fixtures.scenarios.fixtures",
    "fixtures.refapp.fixtures",
    "fixtures.load.fixtures",
]
