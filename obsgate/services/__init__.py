"""The services under test: the contract a service meets (contract.py), the config's
declaration of them (declaration.py: `services:` of obs-gate.yaml), and the build of a
`build: node` config's TypeScript (build.py, with the listed edits of seed_edits.py)."""
