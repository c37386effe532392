"""The services under test: the contract a service meets (contract.py), the MindWeave Node
services as its default instance, and their build from the config dir's TypeScript
(build.py, with the listed edits of seed_edits.py)."""
