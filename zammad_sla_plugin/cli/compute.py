"""`zammad-sla compute`: evaluate tickets offline, JSON in on stdin, JSON out on stdout."""

from __future__ import annotations

import json
import sys
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, Iterator, TextIO

import click

from zammad_sla_plugin.cli.options import policy_option

if TYPE_CHECKING:  # the core is imported when the command runs (cli/__init__.py)
    from zammad_sla_plugin.core.policy import Policy


def _documents(text: str) -> Iterator[tuple[int, str]]:
    """(line number, JSON text) per input document: one JSON object, or JSON Lines."""
    stripped = text.strip()
    if not stripped:
        return
    try:
        if isinstance(json.loads(stripped), dict):
            # One (possibly pretty-printed) object: report it as line 1.
            yield 1, stripped
            return
    except (ValueError, RecursionError):
        pass
    for number, line in enumerate(text.splitlines(), start=1):
        if line.strip():
            yield number, line


def compute_line(
    document: str, policy: Policy, default_now: datetime, *, explained: bool = False, contract: str | None = None
) -> dict[str, Any]:
    """Evaluate one input document; raises ValueError with a one-line reason on bad input.

    With `explained`, returns the full explanation (see `explain.explain`) instead.
    `contract` (`NAME` or `NAME@YYYY-MM-DD`) measures the ticket under that contract instead
    of the one its selectors choose, at the version in force on that date (else at creation).
    """
    from zammad_sla_plugin.core.clock import evaluate
    from zammad_sla_plugin.core.contracts import parse_contract_label
    from zammad_sla_plugin.core.explain import explain
    from zammad_sla_plugin.core.times import parse_time

    name, on = parse_contract_label(contract) if contract is not None else (None, None)
    try:
        item = json.loads(document)
    except json.JSONDecodeError as error:
        raise ValueError(f"not JSON ({error.msg})") from None
    except RecursionError:
        raise ValueError("JSON nested too deeply") from None
    if not isinstance(item, dict):
        raise ValueError("expected a JSON object with a 'ticket' key")
    if not isinstance(item.get("ticket"), dict):
        raise ValueError("missing 'ticket' object")
    now = parse_time(item["now"], "now") if item.get("now") is not None else default_now
    organization = item.get("organization")
    if organization is not None and not isinstance(organization, dict):
        raise ValueError("'organization' must be an object or null")
    customer = item.get("customer")
    if customer is not None and not isinstance(customer, dict):
        raise ValueError("'customer' must be an object or null")
    options: dict[str, Any] = {"customer": customer, "contract": name, "contract_on": on}
    try:
        if explained:
            return explain(item["ticket"], item.get("history"), organization, now, policy, **options)
        return evaluate(item["ticket"], item.get("history"), organization, now, policy, **options).to_dict()
    except RecursionError:  # deep values inside an otherwise parseable document
        raise ValueError("JSON nested too deeply") from None


def run_compute(
    stdin: TextIO, stdout: TextIO, stderr: TextIO, policy: Policy, default_now: datetime, *, explained: bool = False,
    contract: str | None = None,
) -> int:
    """Answer every input document in order; return 2 if any was bad, else 0."""
    from zammad_sla_plugin.core.clock import SlaInputError
    from zammad_sla_plugin.core.explain import explain_text

    status = 0
    for number, document in _documents(stdin.read()):
        try:
            result = compute_line(document, policy, default_now, explained=explained, contract=contract)
        except (SlaInputError, ValueError) as error:
            print(f"zammad-sla compute: line {number}: {error}", file=stderr)
            status = 2
            continue
        print(explain_text(result) + "\n" if explained else json.dumps(result), file=stdout, flush=True)
    return status


def _check_contract(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """Refuse a malformed `--contract` before reading any input."""
    from zammad_sla_plugin.core.contracts import parse_contract_label

    if value is None:
        return None
    try:
        parse_contract_label(value)
    except ValueError as error:
        raise click.BadParameter(str(error)) from None
    return value


@click.command()
@policy_option
@click.option("--explain", "explained", is_flag=True, help="Print why each deadline is where it is, in plain text.")
@click.option("--contract", metavar="NAME[@DATE]", callback=_check_contract,
              help="Measure under this contract (at the version in force on DATE, else at creation) instead of the one "
                   "its selectors choose.")  # fmt: skip
def compute(policy: Policy, explained: bool, contract: str | None) -> None:
    """Evaluate tickets read from stdin (one JSON object, or JSON Lines).

    Each input is {"ticket": {...}, "history": {"history": [...]}, "organization": {...}|null,
    "customer": {...}|null, "now": "2026-03-10T13:00:00Z"}; each output line is that ticket's
    SLA result. An input without "now" is evaluated as of the current time.
    """
    from zammad_sla_plugin.core.contracts import parse_contract_label

    book = policy.contract_book
    if contract is not None and not book.knows(parse_contract_label(contract)[0]):
        raise click.BadParameter(f"no contract named {contract!r} (known: {', '.join(book.names)})", param_hint="--contract")
    status = run_compute(
        sys.stdin, sys.stdout, sys.stderr, policy, datetime.now(timezone.utc), explained=explained, contract=contract
    )
    sys.exit(status)
