"""Where in a policy file a `[[contracts]]` entry (or a key inside it) is written.

`tomllib` keeps no positions, so a load-time error inside contract 3 would otherwise say
"contracts.3.severities" and leave the admin counting tables. This scans the text for the
array-of-tables headers, which is all the precision an error message needs.
"""

from __future__ import annotations

import re

_HEADER = re.compile(r"^\s*\[\[\s*contracts\s*\]\]\s*(#.*)?$")
_VERSION = re.compile(r"^\s*\[\[\s*contracts\s*\.\s*versions\s*\]\]\s*(#.*)?$")
_ANY_ARRAY = re.compile(r"^\s*\[\[")


def _blocks(lines: list[str], start: int, end: int, header: re.Pattern[str]) -> list[tuple[int, int]]:
    """(first, past-last) line indexes of each `header` block within lines[start:end]."""
    starts = [i for i in range(start, end) if header.match(lines[i])]
    blocks = []
    for number, first in enumerate(starts):
        last = starts[number + 1] if number + 1 < len(starts) else end
        if header is _VERSION:  # a version block ends at the next array header of any kind
            last = next((i for i in range(first + 1, last) if _ANY_ARRAY.match(lines[i])), last)
        blocks.append((first, last))
    return blocks


def _key_line(lines: list[str], first: int, last: int, keys: list[str]) -> int:
    """The line of the deepest of `keys` written in the block, else the block's header."""
    for key in reversed(keys):
        pattern = re.compile(rf"^\s*(\[.*\b{re.escape(key)}\b.*\]|\"?{re.escape(key)}\"?\s*=|{re.escape(key)}\s*\.)")
        for index in range(first, last):
            if pattern.match(lines[index]):
                return index
    return first


def contract_line(text: str, path: list[str]) -> int | None:
    """The 1-based line of `path` (['contracts', '2', 'severities', 'high', ...]) in `text`."""
    if len(path) < 2 or path[0] != "contracts" or not path[1].isdigit():
        return None
    lines = text.splitlines()
    contracts = _blocks(lines, 0, len(lines), _HEADER)
    index = int(path[1])
    if index >= len(contracts):
        return None
    first, last = contracts[index]
    rest = path[2:]
    if len(rest) >= 2 and rest[0] == "versions" and rest[1].isdigit():
        versions = _blocks(lines, first, last, _VERSION)
        if int(rest[1]) < len(versions):
            first, last = versions[int(rest[1])]
            rest = rest[2:]
    else:
        # The contract's own keys stop where its first version starts.
        last = next((i for i in range(first + 1, last) if _VERSION.match(lines[i])), last)
    keys = [part for part in rest if not part.isdigit()]
    return _key_line(lines, first, last, keys) + 1 if keys else first + 1
