"""The gate's own tests: unit/ the harness modules, backends/ the servers the gate starts or
reaches, mutations/ a broken copy of the config turns the gate red. A package tree, so that
every folder imports the shared helper as tests.gate_subprocess."""
