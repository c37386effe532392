"""Break one line of a copy of the config (or of the input) and the gate must go red."""
