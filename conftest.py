"""Root conftest: empty on purpose. The gate is the `obsgate` pytest plugin, loaded by its
entry point wherever it is installed (`pip install -e .` here, scripts/setup does it)."""
