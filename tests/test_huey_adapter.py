"""huey's private API that zammad_sla_plugin.runtime.huey_adapter relies on is still there, in the
shape the adapter was written for. These fail loudly, naming the installed huey version,
when an upgrade moves something: fix the adapter (and INTERNALS) before lifting the pin."""

from __future__ import annotations

import importlib
import inspect
import re
import sqlite3
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Iterator

import huey
import huey.consumer
import huey.storage
import pytest
from huey.constants import EmptyData

from zammad_sla_plugin.runtime import huey_adapter
from zammad_sla_plugin.runtime.huey_adapter import (
    INTERNALS, QUEUED, REVOKE_PREFIX, SQLITE_COLUMNS, TESTED_HUEY, Internal, atomic,
)  # fmt: skip
from zammad_sla_plugin.runtime.queue import build_huey

ADAPTER_SOURCE = Path(huey_adapter.__file__).read_text()


def upgrade_broke(what: str) -> str:
    return (
        f"huey {huey.__version__} (the adapter was written for huey {TESTED_HUEY}): {what}. "
        "Adapt zammad_sla_plugin/runtime/huey_adapter.py and its INTERNALS before allowing this huey version."
    )


def owner_class(internal: Internal) -> type:
    module_name, _, class_name = internal.owner.rpartition(".")
    owner = getattr(importlib.import_module(module_name), class_name, None)
    assert isinstance(owner, type), upgrade_broke(f"{internal.owner} is gone ({internal.why})")
    return owner


@pytest.fixture(scope="module")
def instances(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[type, Any]]:
    """One plain huey object of each class the adapter builds on (nothing started or connected)."""
    directory = tmp_path_factory.mktemp("huey")
    hub = huey.SqliteHuey("adapter-check", filename=str(directory / "q.sqlite3"))
    consumer = huey.consumer.Consumer(hub, workers=1, worker_type="thread")
    scheduler = huey.consumer.Scheduler(huey=hub, stop_flag=consumer.stop_flag, interval=1, periodic=False)
    redis_storage = huey.storage.RedisStorage("adapter-check", url="redis://127.0.0.1:1/0")  # connects lazily
    yield {
        huey.api.Huey: hub,
        huey.consumer.Consumer: consumer,
        huey.consumer.Scheduler: scheduler,
        huey.storage.SqliteStorage: hub.storage,
        huey.storage.RedisStorage: redis_storage,
        huey.api.Task: huey.api.Task(),
    }
    hub.storage.close()


@pytest.mark.parametrize("internal", [i for i in INTERNALS if i.params is not None], ids=lambda i: f"{i.owner}.{i.name}")
def test_private_method_keeps_its_signature(internal: Internal) -> None:
    method = inspect.getattr_static(owner_class(internal), internal.name, None)
    assert callable(method), upgrade_broke(f"{internal.owner}.{internal.name}() is gone ({internal.why})")
    params = tuple(inspect.signature(method).parameters)
    expected = internal.params or ()
    fits = params == expected if internal.exact else set(expected) <= set(params)
    assert fits, upgrade_broke(
        f"{internal.owner}.{internal.name} now takes {params}, the adapter expects "
        f"{'' if internal.exact else 'at least '}{expected} ({internal.why})"
    )


@pytest.mark.parametrize("internal", [i for i in INTERNALS if i.params is None], ids=lambda i: f"{i.owner}.{i.name}")
def test_private_attribute_is_still_set(internal: Internal, instances: dict[type, Any]) -> None:
    instance = instances[owner_class(internal)]
    assert hasattr(instance, internal.name), upgrade_broke(
        f"{internal.owner} objects no longer have `{internal.name}` ({internal.why})"
    )


def test_every_huey_internal_the_adapter_touches_is_listed(instances: dict[type, Any]) -> None:
    # An underscore name the adapter uses that exists on a plain huey object is huey's,
    # not ours: it must be in INTERNALS so the checks above cover it.
    listed = {(i.owner, i.name) for i in INTERNALS}
    used = set(re.findall(r"\.(_[a-z]\w*)", ADAPTER_SOURCE))
    unlisted = [
        f"{cls.__module__}.{cls.__qualname__}.{name}"
        for cls, instance in instances.items()
        for name in sorted(used)
        if hasattr(instance, name) and (f"{cls.__module__}.{cls.__qualname__}", name) not in listed
    ]
    assert not unlisted, f"huey internals used by the adapter but missing from INTERNALS: {unlisted}"


def test_sqlite_schema_has_the_columns_our_statements_use(tmp_path: Path) -> None:
    storage = huey.storage.SqliteStorage("schema-check", filename=str(tmp_path / "q.sqlite3"))
    with sqlite3.connect(storage.filename) as conn:
        for table, columns in SQLITE_COLUMNS.items():
            present = {row[1] for row in conn.execute(f"pragma table_info({table})")}
            missing = sorted(set(columns) - present)
            assert not missing, upgrade_broke(f"huey's SQLite table {table!r} lacks columns {missing}")


@pytest.fixture(params=["sqlite", "redis"])
def hub(request: pytest.FixtureRequest, tmp_path: Path) -> huey.Huey:
    if request.param == "sqlite":
        return build_huey(data_dir=tmp_path)
    url = request.getfixturevalue("redis_url")
    import redis

    redis.Redis.from_url(url).flushdb()
    return build_huey(redis_url=url)


def test_our_writes_land_where_huey_reads(hub: huey.Huey) -> None:
    # The atomic primitives write huey's queue, schedule and key/value store directly;
    # huey's own readers must find what they wrote.
    storage, now = atomic(hub), datetime.now()  # noqa: DTZ005  # huey's storage takes its naive timestamps
    assert storage.record_and_enqueue(("delivery:a", b"1"), None, lambda: (b"ready-task", None)) == QUEUED
    assert storage.record_and_enqueue(None, ("pending:1", b"2"), lambda: (b"due-task", now - timedelta(seconds=1))) == QUEUED
    assert bytes(hub.storage.dequeue()) == b"ready-task"
    assert bytes(hub.storage.peek_data("delivery:a")) == b"1" and bytes(hub.storage.peek_data("pending:1")) == b"2"
    assert storage.move_due(now) == 1
    assert hub.storage.schedule_size() == 0 and bytes(hub.storage.dequeue()) == b"due-task"
    assert storage.compare_and_set("pending:1", b"2", b"3") and bytes(hub.storage.peek_data("pending:1")) == b"3"
    assert list(storage.items_with_prefix("pending:")) == [("pending:1", b"3")]
    # Taking a free lock clears the pending mark in the same transaction; a taken one clears nothing.
    assert storage.put_if_empty_and_delete("lock.ticket-1", b"me", "pending:1")
    assert hub.storage.peek_data("pending:1") is EmptyData and bytes(hub.storage.peek_data("lock.ticket-1")) == b"me"
    hub.storage.put_data("pending:1", b"4")
    assert not storage.put_if_empty_and_delete("lock.ticket-1", b"other", "pending:1")
    assert bytes(hub.storage.peek_data("pending:1")) == b"4" and bytes(hub.storage.peek_data("lock.ticket-1")) == b"me"


def test_tasks_run_without_touching_revocation_keys(hub: huey.Huey, monkeypatch: pytest.MonkeyPatch) -> None:
    # huey would read two revocation keys before every task and delete one after it: two
    # Redis round trips per evaluation for a feature the queue never uses.
    touched: list[str] = []
    storage = hub.storage
    for name in ("peek_data", "pop_data", "delete_data"):
        original = getattr(storage, name)
        monkeypatch.setattr(storage, name, lambda key, *a, _o=original, **k: (touched.append(key), _o(key, *a, **k))[1])
    original_many = storage.peek_many
    monkeypatch.setattr(storage, "peek_many", lambda keys: (touched.extend(keys), original_many(keys))[1])
    ran: list[int] = []

    @hub.task(name="adapter-check-task")
    def work(n: int) -> None:
        ran.append(n)

    task = work.s(7)
    assert task.revoke_id.startswith(REVOKE_PREFIX)
    hub.execute(task)
    assert ran == [7]
    assert not [key for key in touched if key.startswith((REVOKE_PREFIX, "rt:"))], touched
    hub.put("pending:1", 1)
    assert hub.delete("pending:1") and hub.get("pending:1", peek=True) is None  # other keys: huey's delete
    with pytest.raises(NotImplementedError, match="does not revoke"):
        work.revoke()
    with pytest.raises(NotImplementedError):
        hub.revoke_by_id(task.id)


def test_prefix_scan_reads_every_key_in_batches_while_keys_are_deleted(hub: huey.Huey) -> None:
    # Pruning 100k next-check keys must not hold them all at once, nor skip any while it
    # deletes the ones it has seen.
    from zammad_sla_plugin.runtime.huey_adapter import PREFIX_BATCH

    count = PREFIX_BATCH * 2 + 7
    for n in range(count):
        hub.put(f"sla-next:{n}", n)
    hub.put("sla-nextish", 1)  # shares the prefix text, not the prefix with the colon
    scan = atomic(hub).items_with_prefix("sla-next:")
    assert not isinstance(scan, list)  # a lazy iterator, batch by batch
    seen = []
    for key, _ in scan:
        seen.append(key)
        hub.delete(key)
    assert sorted(seen) == sorted(f"sla-next:{n}" for n in range(count))
    assert list(atomic(hub).items_with_prefix("sla-next:")) == []
