"""Inbound adapter: the Flask receiver for Zammad's signed webhooks (no SLA logic here)."""
