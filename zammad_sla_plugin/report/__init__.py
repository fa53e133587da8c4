"""`zammad-sla report`: SLA compliance per severity, organization and month.

The pipeline, one module per job:

- `collect`: fetch the tickets created or closed in the period from Zammad, with their
  history and organization (the only module doing I/O besides the command).
- `outcome`: turn one fetched ticket into a `TicketOutcome` (evaluate it with the SLA
  core at its closing time, or at the end of the period) - pure.
- `stats`: aggregate outcomes into `GroupStats` (pure, unit-tested on hand-made sets).
- `document`: the JSON document every format is rendered from (structure documented there).
- `render_json`, `render_csv`, `render_html` (+ `charts` for the inline SVG).
- `command`: `make_report`, the pipeline end to end (the click command is `cli/report.py`).
"""

from __future__ import annotations
