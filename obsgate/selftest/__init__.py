"""`obs-gate self-test`: the gate measures its own detection power on the config under test.

It makes one-line mutants of the config (mutants.py, with the PromQL operators in
exprops.py), runs the suites that read each mutated file on a private copy (runner.py), and
reports which mutants the gate killed and which survived (report.py): a survivor is a
scenario the team is missing.
"""
