"""Temporal as every process uses it: the client, the search attributes, payload encryption."""
