"""The JSON report: the report document as is (structure in `document`)."""

from __future__ import annotations

import json
from typing import Any


def render_json(document: dict[str, Any]) -> str:
    """Pretty-printed JSON with a trailing newline (keys in document order)."""
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"
