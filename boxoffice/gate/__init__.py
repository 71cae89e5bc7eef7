"""Tickets at the door: online validation, offline gate bundles and scan uploads, the gate CLI."""
