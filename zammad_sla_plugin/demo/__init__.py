"""The twin and the sidecar in one process (`LocalStack`) and the scripted demo week."""
