"""Encryption of Temporal payloads (buyer names and emails): the keys and the codec."""
