"""webhooks/ticket_id.py: the simdjson fast path reads `ticket.id` exactly as json.loads does."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from webhooks import ticket_id as tid
from webhooks.ticket_id import raw_ticket_id, ticket_id_in

FIXTURE = Path(__file__).parent / "fixtures" / "zammad" / "docs-examples" / "default_payload_admin_docs_example.json"


def json_answer(body: bytes) -> tuple[str, Any]:
    """What the receiver got from json.loads before the fast path: the value, or the error kind."""
    try:
        return "ok", ticket_id_in(json.loads(body))
    except RecursionError:
        return "too_deep", None
    except ValueError:
        return "not_json", None


def answer(body: bytes) -> tuple[str, Any]:
    try:
        return "ok", raw_ticket_id(body)
    except RecursionError:
        return "too_deep", None
    except ValueError:
        return "not_json", None


def test_zammads_payload_takes_the_fast_path() -> None:
    body = FIXTURE.read_bytes()
    assert tid._fast(body) is not tid._UNDECIDED
    assert answer(body) == json_answer(body) == ("ok", json.loads(body)["ticket"]["id"])


EDGE_CASES = [
    b'{"ticket":{"id":1}}', b'\xef\xbb\xbf{"ticket":{"id":1}}', '{"ticket":{"id":1}}'.encode("utf-16"),
    b'{"a":"x\ny","ticket":{"id":1}}', b'{"a":"\\ud800","ticket":{"id":1}}', b'{"a":1e400,"ticket":{"id":1}}',
    b'{"a":NaN,"ticket":{"id":1}}', b'{"ticket":{"id":1},}', b'{"ticket":{"id":01}}', b'{"a":"\xff"}',
    b'{"a":"\xed\xa0\x80","ticket":{"id":2}}', b'{"ticket":{"id":-0}}', b'{"ticket":{"id":1.0}}',
    b'{"ticket":{"id":"\\u0031"}}', b"[1]", b"1", b'"x"', b"", b"null", b'{"ticket":{"id":18446744073709551615}}',
    b'{"ticket":{"id":99999999999999999999999}}', b'{"ticket":{"id":1}}\x00', b'{"ticket":{"id":1}}{}',
    b'{"ticket":{"id":true}}', b'{"ticket":{"id":1,"id":2}}', b'{"ticket":{"id":1},"ticket":{"id":3}}',
    b'{"ticket":{"id":1},"\\u0074icket":{"id":4}}', b'{"ticket":{"\\u0069d":5,"id":1}}', b'{"ticket":[1]}',
    b'{"ticket":{"id":{"x":1}}}', b'{"ticket":{"id":[1]}}', b'{"ticket":null}', b' {"ticket" : { "id" : 5 } } ',
    *(b'{"ticket":{"id":1},"a":' + b"[" * depth + b"]" * depth + b"}" for depth in (700, 990, 1000, 1023, 1030)),
]  # fmt: skip


def test_edge_cases_get_the_answer_json_gives() -> None:
    for body in EDGE_CASES:
        assert answer(body) == json_answer(body), body[:60]


def test_large_bodies_and_deep_nesting_go_to_json() -> None:
    big = json.dumps({"ticket": {"id": 9}, "article": {"body": "x" * tid.FAST_MAX_BYTES}}).encode()
    assert tid._fast(big) is tid._UNDECIDED and answer(big) == ("ok", 9)
    deep = b'{"ticket":{"id":1},"a":' + b"[" * 1000 + b"]" * 1000 + b"}"
    assert tid._fast(deep) is tid._UNDECIDED and answer(deep) == json_answer(deep) == ("too_deep", None)


def test_a_parser_still_referenced_does_not_change_the_answer() -> None:
    # A document kept alive (say, by a traceback) makes the thread's parser refuse to
    # parse again: the answer then comes from json, not an error.
    held = tid._parser().parse(b'{"ticket":{"id":1}}')
    try:
        assert answer(b'{"ticket":{"id":8}}') == ("ok", 8)
    finally:
        del held


scalars = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=8),
)  # fmt: skip
documents = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.sampled_from(["ticket", "id", "a", "ticket ", "Id"]), inner,
                                                     max_size=4),
    ),
    max_leaves=12,
)


def _mutations(data: bytes, cuts: list[int]) -> list[bytes]:
    """The body, and the body with a byte dropped, doubled or replaced at each cut."""
    out = [data]
    for cut in cuts:
        i = cut % (len(data) + 1)
        out += [data[:i] + data[i + 1:], data[:i] + data[i:i + 1] * 2 + data[i + 1:], data[:i] + b"\xff" + data[i:]]
    return out


@settings(max_examples=300, deadline=None)
@given(
    documents,
    st.lists(st.tuples(st.sampled_from(["ticket", "id"]), scalars), max_size=2),
    st.lists(st.integers(min_value=0), max_size=3),
)
def test_any_body_gets_the_answer_json_gives(document: Any, repeats: list[tuple[str, Any]], cuts: list[int]) -> None:
    text = json.dumps({"ticket": document} if not isinstance(document, dict) else document)
    for key, value in repeats:  # a repeated key, which json resolves to the last one
        if text.endswith("}") and len(text) > 2:
            text = text[:-1] + f", {json.dumps(key)}: {json.dumps(value)}" + "}"
    for body in _mutations(text.encode(), cuts):
        assert answer(body) == json_answer(body), body
