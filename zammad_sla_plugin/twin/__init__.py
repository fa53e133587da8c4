"""A Zammad twin: a small Zammad-compatible HTTP server with in-memory state.

Used by end-to-end tests, the demo and benchmarks over real HTTP on loopback
(`TwinServer`, or `zammad-sla twin`). JSON keys, types and semantics follow recorded
Zammad 6.x traffic and Zammad's source; tests/test_twin_contract.py keeps it honest.

Twin-only endpoints (no token) live under `/_twin/`: `clock` (GET; POST `{"set": iso}`,
`{"advance_seconds": n}`, optional `"frozen": bool` – after a jump the clock keeps ticking
at real speed unless frozen), `faults` (POST/GET/DELETE; `outage: true` answers every
/api/v1 call with an HTML 503, `error_rate` draws are reproducible with `"seed"`),
`requests` (GET `?since=N` cursor / DELETE) and `deliveries` (webhook attempt log).

Also `notifications` (GET/DELETE: who Zammad would notify, see notifications.py; each entry also names `caused_by_id`, the user whose change it was),
`settings` (GET/POST `{"tag_new": bool, "auto_shutdown": bool}`), `restarts` (GET
`{"restarts", "down", "restart_pending", "auto_shutdown", "manual_restart_pending", "stale_columns"}`) and
`restart` (POST: the admin's manual restart). FIDELITY.md is the ledger of what the twin holds
to Zammad's source and which test keeps it there.

Known differences from real Zammad:
- Auth: only `Authorization: Token token=...` (or Bearer) for one token/user; no basic
  auth, sessions or OAuth; token-scoped permissions are not modelled (the token has its
  user's permissions). Controller policies and TicketPolicy are enforced (FIDELITY.md);
  UserPolicy and OrganizationPolicy are simplified to permission checks per endpoint.
- Links and mentions (subscriptions): see `api_links` (and `/_twin/emails`, the e-mail
  articles Zammad would send).
- Not implemented: merge, ticket_attachment downloads, tag_search, role writes
  (POST/PUT/DELETE), notification emails themselves (only the log), time accounting, checklists,
  macros, schedulers/jobs, time-event triggers, email channels, Elasticsearch, knowledge base.
- SLAs and calendars (`api_slas`): CRUD with Zammad's validations and policies, but no
  escalation is computed from them, `ical_url` feeds are never fetched, and `calendars_init`
  lists only a few of Zammad's iCal presets.
- Roles: GET index/show only, always attributes_with_association_ids (`expand`/`full`
  ignored); permission_ids are fixed seed values, no permission records behind them.
- Core workflows run only as ChecksCoreWorkflow does on ticket create/update (mandatory and
  visibility; no restrict values, readonly, custom modules or /core_workflows/perform).
  Validation: name present and unique case-insensitively ("Name has already been taken",
  as current Zammad; 2023-era source only had a unique DB index -> "Object already
  exists!"), `object` must be Ticket/Organization/User/Group when set (current Zammad's
  AdminCoreWorkflow check; older versions accepted any), null booleans/priority -> 422
  "Attribute 'x' required!" (PostgreSQL wording differs slightly); name/object cut at 100
  chars; no `note` column (ignored like any unknown param); the newest Zammad's
  `admin_folder_id` column is absent. Seeded "base - ..." workflows
  (changeable false) are hidden as in Zammad; their set varies by Zammad version, so ids
  of created workflows may differ. Unknown/hidden ids -> 404 with PostgreSQL's scoped
  "[WHERE ...]" suffix. `sort_by`/`order_by`/`full` are ignored (index order: priority, id).
- Escalation/SLA columns (`*_escalation_at`, `*_in_min`, `escalation_at`) are stored as
  written and never recomputed; `close_at`, `last_contact_*`, `last_owner_update_at`,
  `first_response_at` are never set automatically.
- Search: `query` is a case-insensitive substring match on title and number (a
  `title:`/`number:` prefix is stripped), not Lucene/Elasticsearch or article text.
  `condition` supports is, is not, contains, contains not, before/after (absolute), is
  set, not set and ticket.tags contains all/one (not); no relative times. Default sort
  updated_at desc. Without `expand` the response is {"tickets","tickets_count","assets"}.
- Triggers: only activator "action" and only the `notification.webhook` perform action.
  "selective" mode fires on create, when an article was added, or when an attribute named
  in the conditions (other than ticket.action/ticket.updated_by_id) changed. Tag changes
  fire nothing. Custom webhook payloads are not rendered (always the default payload).
- Webhook delivery runs on background threads (one per job) after the response is sent;
  the payload is rebuilt from current state at every attempt (ActiveJob reloads the
  ticket), waits are 10/20/30/40 s x time_scale; redirects count as failures.
- Object manager: migrations apply at once, then the restart is simulated (restart.py); `date` attributes need no
  future/past (only datetime does, per DataOptionValidator); the controller defaults
  select/boolean `options` to {} so they pass, exactly like Zammad's API. Built-in
  attributes are a small non-editable subset (with empty screens).
- History: written for ticket create/update (custom attributes included), articles and
  tags; tag `removed` rows carry the tag creator's id, like Zammad's callback. Organization
  and user changes write no history. `sourceable_*` are always null.
- Assets contain Ticket, Group, User, Role, Organization (one level of members) and
  TicketArticle; fewer records than Zammad may include.
- Users search without expand returns attributes_with_association_ids objects.
- `GET /signshow` (api_session.py): `config` holds only `locale_default`; `models`,
  `collections` and `assets` are empty; a bad token is a 401, where Zammad answers 200 with
  `error` and the public `config`.
- Validation messages for missing title/group/customer and unknown values are twin-made
  in Zammad's style ({"error","error_human"}, 422).
"""

from .server import TwinServer

__all__ = ["TwinServer"]
