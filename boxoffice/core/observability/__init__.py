"""Metrics (Prometheus) and structured logs for the API and the worker processes."""
