"""Prometheus metrics and the readiness endpoint. Imports nothing of ours."""
