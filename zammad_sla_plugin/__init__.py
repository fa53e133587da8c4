"""zammad-sla: an SLA engine sidecar for Zammad that enforces the Aivo support SLA."""

__version__ = "0.1.0"
