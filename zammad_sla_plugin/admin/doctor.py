"""`zammad-sla doctor`: check an installation end to end, one pass/fail line per check.

Every failed check says how to fix it. Checks read Zammad only (nothing is written there);
the queue check writes and deletes one probe key. Checks that depend on an earlier one
(e.g. the webhook check needs a reachable Zammad) are reported as failed with the cause.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Literal

from zammad_sla_plugin.admin import provision
from zammad_sla_plugin.core.policy import Policy
from zammad_sla_plugin.runtime.locale import effective_locale
from zammad_sla_plugin.runtime.queue import build_huey
from zammad_sla_plugin.admin.required_fields import lifted_fields, mandatory_ticket_fields
from zammad_sla_plugin.runtime.settings import Settings
from zammad_sla_plugin.zammad import ZammadClient, ZammadError

Status = Literal["PASS", "WARN", "FAIL"]
DEFAULT_MAX_SKEW_SECONDS = 30.0

# Permission -> how doctor sees whether the token has it, without writing: a GET of a list
# only that permission may read, or a PUT to an id that cannot exist (Zammad authorizes the
# controller action before it looks the record up: 403 without, 404 with the permission).
PERMISSION_PROBES: tuple[tuple[str, str, str], ...] = (
    ("ticket.agent", "GET", "ticket_history/0"),  # only agents may read histories (customers may list priorities)
    ("admin.object", "GET", "object_manager_attributes"),
    ("admin.ticket_priority", "PUT", "ticket_priorities/0"),
    ("admin.webhook", "GET", "webhooks"),
    ("admin.trigger", "GET", "triggers"),
    ("admin.overview", "GET", "overviews"),
    ("admin.core_workflow", "GET", "core_workflows"),
    ("admin.tag", "GET", "tag_list"),
)


@dataclass(frozen=True)
class CheckResult:
    """The outcome of one check."""

    name: str
    status: Status
    detail: str
    fix: str = ""

    @property
    def failed(self) -> bool:
        """Whether this check makes doctor exit non-zero."""
        return self.status == "FAIL"

    def lines(self) -> list[str]:
        """`PASS  name: detail` plus an indented `fix:` line when there is something to do."""
        out = [f"{self.status}  {self.name}: {self.detail}"]
        if self.fix and self.status != "PASS":
            out.append(f"      fix: {self.fix}")
        return out


class Doctor:
    """Runs the checks against one Zammad with one policy and settings."""

    def __init__(
        self,
        client: ZammadClient,
        policy: Policy,
        settings: Settings,
        *,
        webhook_url: str | None = None,
        now: Callable[[], datetime] = lambda: datetime.now(timezone.utc),
        max_skew_seconds: float = DEFAULT_MAX_SKEW_SECONDS,
        huey_factory: Callable[[Settings], Any] = build_huey,
    ) -> None:
        self.client, self.policy, self.settings = client, policy, settings
        self.webhook_url = webhook_url or settings.public_url
        self.now = now
        self.max_skew_seconds = max_skew_seconds
        self.huey_factory = huey_factory
        self._me: dict[str, Any] | None = None
        self._auth_error: ZammadError | None = None
        self._cache: dict[str, list[dict[str, Any]] | ZammadError] = {}

    # -- data, fetched once -----------------------------------------------------------
    def _list(self, path: str) -> list[dict[str, Any]]:
        if path not in self._cache:
            try:
                self._cache[path] = list(self.client.request("GET", path) or [])
            except ZammadError as error:
                self._cache[path] = error
        value = self._cache[path]
        if isinstance(value, ZammadError):
            raise value
        return value

    # -- checks -----------------------------------------------------------------------
    def run(self) -> list[CheckResult]:
        """Every check, in order."""
        results = [self.check_reachable(), self.check_token()]
        if results[0].failed or results[1].failed:
            cause = results[0] if results[0].failed else results[1]
            for name in ("token permissions", "priorities mapped", "states known", "attributes", "tags",
                         "mandatory fields", "webhook", "trigger", "signature secret", "clock skew"):  # fmt: skip
                results.append(CheckResult(name, "FAIL", f"not checked: {cause.name} failed", cause.fix))
        else:
            results.extend([
                self.check_permissions(), self.check_priorities(), self.check_states(), self.check_attributes(),
                self.check_tags(), self.check_mandatory_fields(), *self.check_webhook_and_trigger(), self.check_clock(),
            ])  # fmt: skip
        results.append(self.check_queue())
        return results

    def check_reachable(self) -> CheckResult:
        """Zammad answers HTTP at ZAMMAD_URL."""
        started = time.perf_counter()
        try:
            self._me = self.client.me()
        except ZammadError as error:
            if error.status is None or error.status >= 500:
                return CheckResult("Zammad reachable", "FAIL", str(error),
                                   f"check ZAMMAD_URL ({self.client.base_url}) and that Zammad runs and is reachable from here")  # fmt: skip
            # 401/403 means Zammad answered: reachable, the token check reports the rest.
            self._me = None
            self._auth_error = error
        elapsed = (time.perf_counter() - started) * 1000
        return CheckResult("Zammad reachable", "PASS", f"{self.client.base_url} answered in {elapsed:.0f} ms")

    def check_token(self) -> CheckResult:
        """The token authenticates a user."""
        if self._me is None:
            error = self._auth_error
            return CheckResult("API token valid", "FAIL", str(error) if error else "no answer",
                               "create a token (Profile > Token Access) and set ZAMMAD_TOKEN or ZAMMAD_TOKEN_FILE")  # fmt: skip
        login = self._me.get("login") or self._me.get("email") or "?"
        return CheckResult("API token valid", "PASS", f"authenticated as {login} (user id {self._me.get('id')})")

    def check_permissions(self) -> CheckResult:
        """The token holds every permission setup, doctor and the worker use."""
        missing: list[str] = []
        for permission, method, path in PERMISSION_PROBES:
            try:
                if method == "GET":
                    self._list(path)
                else:
                    self.client.request(method, path, json={}, idempotent=True)
            except ZammadError as error:
                if error.status in (401, 403):
                    missing.append(f"{permission} (to {provision.REQUIRED_PERMISSIONS[permission]})")
                elif not error.not_found:  # 404: allowed (PUT probe) or an older Zammad (core workflows)
                    missing.append(f"{permission}: {method} {path} failed: {error}")
        if missing:
            return CheckResult("token permissions", "FAIL", "missing " + "; ".join(missing),
                               "grant these permissions to a role of the token's user and to the token itself")  # fmt: skip
        return CheckResult("token permissions", "PASS", ", ".join(p for p, _, _ in PERMISSION_PROBES))

    def check_priorities(self) -> CheckResult:
        """Every active Zammad priority maps to a severity; every priority the policy maps exists and is active."""
        try:
            priorities = self._list("ticket_priorities")
        except ZammadError as error:
            return CheckResult("priorities mapped", "FAIL", str(error), "see the token permissions check")
        active = {str(p.get("name")): bool(p.get("active", True)) for p in priorities}
        names = [n for n, is_active in active.items() if is_active]
        unmapped = [n for n in names if n not in self.policy.priorities]
        missing = [n for n in self.policy.priorities if n not in active]
        inactive = [n for n in self.policy.priorities if active.get(n) is False]
        problems, fixes = [], []
        if unmapped:
            problems.append("not mapped by the policy: " + ", ".join(repr(n) for n in unmapped))
            fixes.append("add them under [priorities] in the policy file (ZAMMAD_SLA_CONFIG), e.g. "
                         f'"{unmapped[0]}" = "medium"')  # fmt: skip
        if missing:
            problems.append("missing in Zammad: " + ", ".join(repr(n) for n in missing))
            fixes.append("run `zammad-sla setup` (creates the priorities the policy maps)")
        if inactive:  # setup leaves an existing priority alone: it cannot fix this
            problems.append("inactive in Zammad, agents cannot pick them: " + ", ".join(repr(n) for n in inactive))
            fixes.append("activate them in Zammad (Admin > Priorities), or remove them from the policy")
        if problems:
            return CheckResult("priorities mapped", "FAIL", "; ".join(problems), "; ".join(fixes))
        return CheckResult("priorities mapped", "PASS", f"{len(names)} priorities, all mapped")

    def check_states(self) -> CheckResult:
        """Every state the policy names (pause/closed/merged) exists in Zammad."""
        try:
            states = self._list("ticket_states")
        except ZammadError as error:
            return CheckResult("states known", "FAIL", str(error), "see the token permissions check")
        known = {str(s.get("name")) for s in states}
        roles = self.policy.states
        unknown = [f"{role}: {name!r}" for role in ("pause", "closed", "merged") for name in getattr(roles, role)
                   if name not in known]  # fmt: skip
        for terms in self.policy.contract_book.every_version() if self.policy.has_contracts else []:
            unknown += [f"contract {terms.label} pause_states: {name!r}" for name in terms.policy.states.pause
                        if name not in known and name not in roles.pause]  # fmt: skip
        if unknown:
            return CheckResult("states known", "FAIL", "unknown in Zammad: " + ", ".join(unknown),
                               "fix [states] in the policy file; Zammad's states: " + ", ".join(sorted(known)))  # fmt: skip
        return CheckResult("states known", "PASS", f"pause/closed/merged states all exist ({len(known)} in Zammad)")

    def check_attributes(self) -> CheckResult:
        """Our attributes exist with the right type and are migrated (usable columns)."""
        try:
            attributes = self._list("object_manager_attributes")
        except ZammadError as error:
            return CheckResult("attributes", "FAIL", str(error), "see the token permissions check")
        problems = []
        try:
            in_use = effective_locale(self.policy, self.client)  # the select labels' language
        except ZammadError as error:
            return CheckResult("attributes", "FAIL", f"cannot read Zammad's locale_default: {error}", "check that Zammad answers")
        wanted = provision.desired_attributes(self.policy.model_copy(update={"locale": in_use.locale}))
        for want in wanted:
            label = f"{want['object']}.{want['name']}"
            have = next((a for a in attributes if a.get("object") == want["object"] and a.get("name") == want["name"]), None)
            if have is None:
                problems.append(f"{label} missing")
            elif have.get("data_type") != want["data_type"]:
                problems.append(f"{label} is {have.get('data_type')}, needs {want['data_type']}")
            elif any(have.get(flag) for flag in provision.PENDING_FLAGS):
                problems.append(f"{label} not migrated yet")
            elif drift := provision.attribute_drift(want, have):
                problems.append(f"{label} differs ({', '.join(drift)})")
        if problems:
            return CheckResult("attributes", "FAIL", "; ".join(problems),
                               "run `zammad-sla setup` (creates them and executes the migrations)")  # fmt: skip
        quiet = self.policy.notifications
        if quiet.quiet:
            how = f"routine writes notify nobody (deadlines and status visible to {', '.join(quiet.field_permissions)})"
        else:
            how = "quiet mode off: agents are notified of every deadline and status change"
        return CheckResult("attributes", "PASS" if quiet.quiet else "WARN",
                           f"{len(wanted)} present and migrated; {how}; language {in_use.describe()}",
                           "set [notifications] quiet = true in the policy and run `zammad-sla setup`")  # fmt: skip

    def check_tags(self) -> CheckResult:
        """Our tags are in Zammad's tag list, so tags/add accepts them even with tag_new off."""
        try:
            names = {str(t.get("name")) for t in self._list("tag_list")}
        except ZammadError as error:
            return CheckResult("tags", "FAIL", str(error), "see the token permissions check")
        missing = [t for t in self.policy.tags.ours if t not in names]
        if missing:
            return CheckResult("tags", "FAIL", "not in the tag list: " + ", ".join(missing) +
                               " (Zammad refuses them on tickets while the tag_new setting is off)", "run `zammad-sla setup`")  # fmt: skip
        return CheckResult("tags", "PASS", "sla tags are in the tag list")

    def check_mandatory_fields(self) -> CheckResult:
        """No mandatory ticket field can make Zammad refuse our writes (422 on every PUT)."""
        try:
            workflows = self._list("core_workflows")
            attributes = self._list("object_manager_attributes")
        except ZammadError as error:
            if error.not_found:
                return CheckResult("mandatory fields", "PASS", "this Zammad has no core workflows (no form checks on API writes)")
            return CheckResult("mandatory fields", "FAIL", str(error), "see the token permissions check")
        assert self._me is not None
        mandatory = mandatory_ticket_fields(attributes, workflows, ignore_workflow=provision.LIFT_WORKFLOW_NAME)
        lift = next((w for w in workflows if w.get("name") == provision.LIFT_WORKFLOW_NAME), None)
        blocking = sorted(set(mandatory) - lifted_fields(lift, int(self._me["id"])))
        if blocking:
            return CheckResult(
                "mandatory fields", "FAIL",
                f"{', '.join(blocking)} mandatory for agents and not optional for our API user: every SLA write on a "
                "ticket where it is empty gets 422 (no fields, notes or tags)",
                "run `zammad-sla setup` (its core workflow makes them optional for the sidecar's user only)",
            )  # fmt: skip
        detail = f"{len(mandatory)} mandatory field(s), all optional for our API user" if mandatory else "no mandatory fields"
        return CheckResult("mandatory fields", "PASS", detail)

    def check_webhook_and_trigger(self) -> list[CheckResult]:
        """Webhook present, active and pointing at us; trigger calling it; secrets equal."""
        try:
            webhook = next((w for w in self._list("webhooks") if w.get("name") == provision.WEBHOOK_NAME), None)
        except ZammadError as error:
            failed = CheckResult("webhook", "FAIL", str(error), "see the token permissions check")
            return [failed, CheckResult("trigger", "FAIL", "not checked: webhook failed"),
                    CheckResult("signature secret", "FAIL", "not checked: webhook failed")]  # fmt: skip
        setup_fix = "run `zammad-sla setup`"
        results = [self._webhook_result(webhook, setup_fix)]
        results.append(self._trigger_result(webhook, setup_fix))
        results.append(self._secret_result(webhook, setup_fix))
        return results

    def _webhook_result(self, webhook: dict[str, Any] | None, setup_fix: str) -> CheckResult:
        if webhook is None:
            return CheckResult("webhook", "FAIL", f"no webhook named {provision.WEBHOOK_NAME!r}", setup_fix)
        if not webhook.get("active", True):
            return CheckResult("webhook", "FAIL", "webhook is inactive", setup_fix)
        endpoint = str(webhook.get("endpoint"))
        if not self.webhook_url:
            return CheckResult("webhook", "WARN", f"present ({endpoint}); cannot tell whether it points at us",
                               "set ZAMMAD_SLA_PUBLIC_URL (or pass --webhook-url) so doctor can compare")  # fmt: skip
        expected = provision.webhook_endpoint(self.webhook_url)
        if endpoint != expected:
            return CheckResult("webhook", "FAIL", f"points at {endpoint}, expected {expected}", setup_fix)
        return CheckResult("webhook", "PASS", f"active, points at {endpoint}")

    def _trigger_result(self, webhook: dict[str, Any] | None, setup_fix: str) -> CheckResult:
        try:
            trigger = next((t for t in self._list("triggers") if t.get("name") == provision.TRIGGER_NAME), None)
        except ZammadError as error:
            return CheckResult("trigger", "FAIL", str(error), "see the token permissions check")
        if trigger is None:
            return CheckResult("trigger", "FAIL", f"no trigger named {provision.TRIGGER_NAME!r}", setup_fix)
        assert self._me is not None
        want = provision.desired_trigger(webhook["id"] if webhook else "(missing)", int(self._me["id"]))
        drift = provision.trigger_drift(want, trigger)
        if drift:
            reasons = {
                "perform": "does not call our webhook" if webhook else "calls a webhook that no longer exists",
                "condition": f"does not exclude updates by our API user (id {self._me['id']}): webhook loops",
                "active": "is inactive",
            }
            detail = "; ".join(reasons.get(key, f"{key} differs") for key in drift)
            return CheckResult("trigger", "FAIL", detail, setup_fix)
        return CheckResult("trigger", "PASS", f"active, calls the webhook, skips updates by user {self._me['id']}")

    def _secret_result(self, webhook: dict[str, Any] | None, setup_fix: str) -> CheckResult:
        if self.settings.webhook_secret is None:
            return CheckResult("signature secret", "FAIL", "ZAMMAD_SLA_WEBHOOK_SECRET is not set here",
                               "set ZAMMAD_SLA_WEBHOOK_SECRET (or _FILE) to the same value the receiver uses")  # fmt: skip
        if webhook is None:
            return CheckResult("signature secret", "FAIL", "no webhook to compare with", setup_fix)
        matches = provision.secret_matches(webhook, self.settings.webhook_secret.reveal())
        if matches is None:
            return CheckResult("signature secret", "WARN",
                               "Zammad masks the webhook's token and setup has not recorded its fingerprint",
                               "run `zammad-sla setup` (it sets the token and records its fingerprint)")  # fmt: skip
        if not matches:
            return CheckResult("signature secret", "FAIL",
                               "the webhook's signature token differs from ZAMMAD_SLA_WEBHOOK_SECRET (deliveries get 401)",
                               "run `zammad-sla setup` with the receiver's ZAMMAD_SLA_WEBHOOK_SECRET")  # fmt: skip
        return CheckResult("signature secret", "PASS", "the webhook signs with ZAMMAD_SLA_WEBHOOK_SECRET")

    def check_clock(self) -> CheckResult:
        """Our clock against Zammad's `Date` header (deadlines are compared across both)."""
        try:
            server = self.client.server_time()
        except ZammadError as error:
            return CheckResult("clock skew", "FAIL", str(error), "check that Zammad is reachable")
        if server is None:
            return CheckResult("clock skew", "WARN", "Zammad sent no Date header", "check the proxy in front of Zammad")
        skew = (self.now() - server).total_seconds()
        detail = f"{skew:+.0f}s against Zammad (limit ±{self.max_skew_seconds:.0f}s; the header has 1 s resolution)"
        if abs(skew) > self.max_skew_seconds:
            return CheckResult("clock skew", "FAIL", detail, "synchronise both hosts with NTP (e.g. systemd-timesyncd or chrony)")
        return CheckResult("clock skew", "PASS", detail)

    def check_queue(self) -> CheckResult:
        """The queue storage (SQLite in the data dir, or Redis) accepts a write."""
        where = "Redis" if self.settings.redis_url else f"SQLite in {self.settings.data_dir}"
        key = f"doctor:probe:{uuid.uuid4().hex}"
        try:
            hub = self.huey_factory(self.settings)
            hub.put(key, "ok")
            value = hub.get(key)
            if value != "ok":
                raise RuntimeError(f"wrote 'ok', read back {value!r}")
        except Exception as error:  # any storage failure is the finding itself
            fix = ("check ZAMMAD_SLA_REDIS_URL and that Redis runs" if self.settings.redis_url
                   else "make ZAMMAD_SLA_DATA_DIR writable for the service user")  # fmt: skip
            return CheckResult("queue writable", "FAIL", f"{where}: {type(error).__name__}: {error}", fix)
        return CheckResult("queue writable", "PASS", where)


def render(results: list[CheckResult]) -> str:
    """All result lines plus a summary line."""
    lines = [line for result in results for line in result.lines()]
    failed = sum(1 for r in results if r.failed)
    warned = sum(1 for r in results if r.status == "WARN")
    lines.append(f"{len(results) - failed - warned} passed, {warned} warnings, {failed} failed")
    return "\n".join(lines)
