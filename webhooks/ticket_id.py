"""`ticket.id` of a webhook body: the whole body checked as JSON, only that one value read.

`json.loads` builds every object of a Zammad payload (~6 KB: the ticket, its article,
nested users) for the receiver to read one integer: ~30 us alone and 40-50 us per
request under load, the receiver's largest single cost (benchmarks/bench_receiver.py).
simdjson validates the whole document into a tape and reads the key from it in ~2 us.

The answer is always the one `json.loads` gives: simdjson is strict where json is lenient
(NaN, Infinity, integers beyond 64 bits, lone surrogates, UTF-16 bodies...), so any body it
refuses goes to `json.loads`, which decides. Where simdjson accepts and could still read
differently, the body goes to `json.loads` too: a repeated `ticket` or `id` key (simdjson
finds the first, json keeps the last) and deep nesting (json refuses from about 1,000
levels, simdjson from 1,024), detected from the count of `[` and `{`. Bodies over
`FAST_MAX_BYTES` go to `json.loads` as well: each thread's parser keeps a buffer sized for
the largest document it parsed (about 14 bytes per byte of document).
tests/test_ticket_id.py holds the two paths to the same answer.
"""

from __future__ import annotations

import json
import threading
from typing import Any

import simdjson

FAST_MAX_BYTES = 64 * 1024
# A document with fewer opening brackets cannot be nested as deep as json refuses
# (the recursion limit, 1,000, less the frames already on the thread's stack).
_FAST_MAX_OPENERS = 800

_UNDECIDED = object()
_local = threading.local()


def raw_ticket_id(body: bytes) -> Any:
    """The value at `ticket.id` of the JSON document `body`, or None when it has none.

    As `json.loads(body)` reads it: containers come back as None (they are no id), and
    a body that is not JSON raises what `json.loads` raises (ValueError, its subclass
    UnicodeDecodeError, or RecursionError when nested too deeply).
    """
    value = _fast(body)
    if value is _UNDECIDED:
        return ticket_id_in(json.loads(body))
    return value


def ticket_id_in(payload: Any) -> Any:
    """The value at `payload["ticket"]["id"]` of a parsed document, or None."""
    ticket = payload.get("ticket") if isinstance(payload, dict) else None
    value = ticket.get("id") if isinstance(ticket, dict) else None
    return None if isinstance(value, (dict, list)) else value


def _parser() -> simdjson.Parser:
    parser = getattr(_local, "parser", None)
    if parser is None:
        parser = _local.parser = simdjson.Parser(max_capacity=FAST_MAX_BYTES)
    return parser


def _fast(body: bytes) -> Any:
    if len(body) > FAST_MAX_BYTES or body.count(b"[") + body.count(b"{") > _FAST_MAX_OPENERS:
        return _UNDECIDED
    try:
        # The document's proxies must be gone before this thread's next parse: nothing
        # of it outlives this call (a scalar comes back as a plain Python value).
        document = _parser().parse(body)
        return _lookup(document)
    except Exception:  # refused by simdjson, or the parser is unusable: json decides
        return _UNDECIDED


def _lookup(document: Any) -> Any:
    ticket = _only(document, "ticket")
    if ticket is _UNDECIDED or not isinstance(ticket, simdjson.Object):
        return ticket if ticket is _UNDECIDED else None
    value = _only(ticket, "id")
    if isinstance(value, (simdjson.Object, simdjson.Array)):
        return None
    return value


def _only(container: Any, key: str) -> Any:
    """`container[key]` of an Object (None when absent or not an Object); UNDECIDED if repeated."""
    if not isinstance(container, simdjson.Object):
        return None
    count = sum(1 for name in container.keys() if name == key)
    if count == 0:
        return None
    return container[key] if count == 1 else _UNDECIDED
