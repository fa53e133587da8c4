"""The sidecar at run time: settings, the durable queue (huey on SQLite or Redis), the
evaluator that reads Zammad and writes back, reconcile, metrics."""
