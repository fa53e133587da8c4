"""How many ticket histories the report fetches at once (shared by the pipeline and its CLI)."""

DEFAULT_CONCURRENCY = 10  # gentle: ten reads in flight; at 20 ms per call about 300 tickets a second
MAX_CONCURRENCY = 32
FORMATS = ("csv", "html", "json")
