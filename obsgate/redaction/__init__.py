"""Redaction suite helpers: the log store searched for secrets, the senders, and the
Fluent Bit config reader."""
