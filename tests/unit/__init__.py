"""Fast tests of the harness modules and tools, each on its own: no child gate run."""
