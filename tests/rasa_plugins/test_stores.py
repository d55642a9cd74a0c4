"""The stores endpoints.yml names: chosen by environment; Redis locks taken atomically."""

from __future__ import annotations

import asyncio
import os
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from rasa.core.lock_store import InMemoryLockStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import SlotSet, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from bot.config import PROJECT_ROOT, load_settings
from bot.errors import ConfigError
from bot.ops.launch import endpoints_file, nginx_config
from bot.rasa_plugins.stores import (
    AtomicRedisLockStore,
    EnvLockStore,
    EnvTrackerStore,
)
from bot.security.inbound import MessageRefused, clean_metadata, clean_text, parse_rest_body
from tests.conftest import POSTGRES_URL, service_missing

REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


@pytest.fixture
def redis_store() -> Iterator[AtomicRedisLockStore]:
    import redis

    try:
        redis.Redis.from_url(REDIS_URL, socket_timeout=3).ping()
    except redis.RedisError as error:
        service_missing(f"Redis not reachable at {REDIS_URL}: {error}")
    yield AtomicRedisLockStore.from_url(REDIS_URL, f"test{uuid.uuid4().hex[:8]}")


def test_without_a_url_locks_are_in_memory(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("BOT_LOCK_STORE_URL", raising=False)
    assert isinstance(EnvLockStore(), InMemoryLockStore)


def test_a_lock_store_url_must_be_redis(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BOT_LOCK_STORE_URL", "postgresql://localhost/x")
    with pytest.raises(ConfigError, match="redis://"):
        EnvLockStore()
    assert load_settings({"BOT_REDIS_KEY_PREFIX": "prod1"}).redis_key_prefix == "prod1"
    with pytest.raises(ConfigError):
        load_settings({"BOT_REDIS_KEY_PREFIX": "a:b"})


def test_with_a_url_locks_are_in_redis(
    monkeypatch: pytest.MonkeyPatch, redis_store: AtomicRedisLockStore
) -> None:
    monkeypatch.setenv("BOT_LOCK_STORE_URL", REDIS_URL)
    monkeypatch.setenv("BOT_REDIS_KEY_PREFIX", "testprefix")
    store = EnvLockStore()
    assert isinstance(store, AtomicRedisLockStore)
    assert store.key_prefix.startswith("testprefix:")


def test_tickets_taken_at_once_from_many_processes_are_all_different(
    redis_store: AtomicRedisLockStore,
) -> None:
    """Rasa's RedisLockStore can hand two servers the same ticket; this one cannot."""
    conversation = f"c-{uuid.uuid4().hex}"
    prefix = redis_store.key_prefix.split(":")[0]
    stores = [AtomicRedisLockStore.from_url(REDIS_URL, prefix) for _ in range(2)]
    barrier = threading.Barrier(8)
    tickets: list[int] = []

    def take(store: AtomicRedisLockStore) -> None:
        barrier.wait()
        for _ in range(25):
            tickets.append(store.issue_ticket(conversation, 60))

    threads = [threading.Thread(target=take, args=(stores[i % 2],)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(tickets) == list(range(200))
    lock = redis_store.get_lock(conversation)
    assert lock is not None and len(lock.tickets) == 200


def test_two_holders_of_one_conversation_never_overlap(redis_store: AtomicRedisLockStore) -> None:
    conversation = f"c-{uuid.uuid4().hex}"
    other = AtomicRedisLockStore.from_url(REDIS_URL, redis_store.key_prefix.split(":")[0])
    inside: list[str] = []
    overlaps: list[str] = []

    async def hold(store: AtomicRedisLockStore, name: str) -> None:
        for _ in range(5):
            async with store.lock(conversation):
                if inside:
                    overlaps.append(name)
                inside.append(name)
                await asyncio.sleep(0.02)
                inside.remove(name)

    async def both() -> None:
        await asyncio.gather(hold(redis_store, "a"), hold(other, "b"))

    asyncio.run(both())
    assert overlaps == []
    assert redis_store.get_lock(conversation) is None  # cleaned up when nobody waits


def _tracker_round_trip(store: EnvTrackerStore) -> None:
    sender = f"s-{uuid.uuid4().hex[:8]}"
    tracker = DialogueStateTracker.from_events(
        sender, [UserUttered("hello"), SlotSet("language", "lv")], slots=store.domain.slots
    )
    asyncio.run(store.save(tracker))
    again = asyncio.run(store.retrieve(sender))
    assert again is not None and again.get_slot("language") == "lv"
    assert [e.text for e in again.events if isinstance(e, UserUttered)] == ["hello"]


def test_the_tracker_store_url_picks_the_database(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("BOT_TRACKER_STORE_URL", f"sqlite:///{tmp_path / 'conversations.db'}")
    store = EnvTrackerStore(domain=Domain.load(str(PROJECT_ROOT / "domain.yml")))
    _tracker_round_trip(store)
    assert (tmp_path / "conversations.db").exists()
    assert store.engine.pool._pre_ping  # type: ignore[attr-defined]


@pytest.mark.postgres
def test_the_tracker_store_on_postgresql(monkeypatch: pytest.MonkeyPatch) -> None:
    from bot.db import make_engine

    try:
        make_engine(POSTGRES_URL).connect().close()
    except Exception as error:  # noqa: BLE001 - any failure means "no usable server"
        service_missing(f"PostgreSQL not reachable at {POSTGRES_URL}: {error.__class__.__name__}")
    monkeypatch.setenv("BOT_TRACKER_STORE_URL", POSTGRES_URL)
    store = EnvTrackerStore(domain=Domain.load(str(PROJECT_ROOT / "domain.yml")))
    _tracker_round_trip(store)
    store.engine.dispose()


@pytest.mark.parametrize(
    ("text", "cleaned"),
    [
        ("  hello \u0000there\u001b ", "hello there"),
        ("line\r\nnext", "line\nnext"),
        ("Cafe\u0301", "Café"),
        ("one\u2028- two", "one\n- two"),
        ("👍", "👍"),
    ],
)
def test_messages_are_cleaned(text: str, cleaned: str) -> None:
    assert clean_text(text) == cleaned


def test_refusals_carry_a_status_and_a_code() -> None:
    with pytest.raises(MessageRefused) as refused:
        parse_rest_body(b'{"sender": "x", "message": "\\ud800"}')
    assert (refused.value.status, refused.value.code) == (400, "empty_message")
    assert clean_metadata({"customer_token": "t", "language": "lv", "other": {"x": 1}}) == {
        "customer_token": "t",
        "language": "lv",
    }


def test_the_balancer_config_names_every_server_and_only_the_channels(tmp_path: Path) -> None:
    config = nginx_config(tmp_path, 8080, [5101, 5102, 5103])
    assert config.count("server 127.0.0.1:51") == 6  # both upstreams
    assert "listen 127.0.0.1:8080;" in config
    assert "location / { return 404; }" in config
    assert "(webhooks|chat|console)" in config


def test_endpoints_name_the_env_stores_and_follow_the_action_port(tmp_path: Path) -> None:
    import yaml

    assert endpoints_file(tmp_path, 5055) == PROJECT_ROOT / "endpoints.yml"
    endpoints = yaml.safe_load(endpoints_file(tmp_path, 6001).read_text())
    assert endpoints["action_endpoint"]["url"] == "http://127.0.0.1:6001/webhook"
    assert endpoints["tracker_store"]["type"] == "bot.rasa_plugins.stores.EnvTrackerStore"
    assert endpoints["lock_store"]["type"] == "bot.rasa_plugins.stores.EnvLockStore"
    assert endpoints["event_broker"]["type"] == "bot.rasa_plugins.broker.InboxEventBroker"


def test_sign_in_attempts_are_counted_across_processes(redis_store: AtomicRedisLockStore) -> None:
    import asyncio

    from bot.security.throttle import RedisLoginThrottle

    async def scenario() -> list[int]:
        prefix = f"test{uuid.uuid4().hex[:8]}"
        first, second = (RedisLoginThrottle(REDIS_URL, prefix) for _ in range(2))
        waits = []
        for throttle in (first, second, first, second, first, second):
            waits.append((await throttle.count_attempt("anna", "10.0.0.1"))[0])
        waits.append((await second.count_attempt("bob", "10.0.0.1"))[0])
        wait, member = await first.count_attempt("carl", "10.0.0.2")
        await first.forget_attempt("carl", "10.0.0.2", member)
        waits.append((await second.count_attempt("carl", "10.0.0.2"))[0])
        return waits

    waits = asyncio.run(scenario())
    assert waits[:5] == [0, 0, 0, 0, 0] and 0 < waits[5] <= 901
    assert waits[6:] == [0, 0]


@pytest.mark.parametrize("kind", ["memory", "redis"])
def test_a_conversation_lock_outlives_a_long_turn(
    kind: str, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest
) -> None:
    """A turn that takes longer than a ticket's lifetime keeps the next message waiting."""
    import bot.rasa_plugins.stores as stores
    from bot.rasa_plugins.stores import QuickInMemoryLockStore

    monkeypatch.setattr(stores, "TICKET_LIFETIME_SECONDS", 0.4, raising=False)
    monkeypatch.setattr(stores, "TICKET_RENEW_SECONDS", 0.1, raising=False)
    store = QuickInMemoryLockStore() if kind == "memory" else request.getfixturevalue("redis_store")
    order: list[str] = []

    async def turn(name: str, seconds: float) -> None:
        async with store.lock("conv-long", lock_lifetime=0.4):
            order.append(f"{name} in")
            await asyncio.sleep(seconds)
            order.append(f"{name} out")

    async def two_messages() -> None:
        long_turn = asyncio.create_task(turn("long", 1.5))
        await asyncio.sleep(0.05)
        await turn("next", 0)
        await long_turn

    asyncio.run(two_messages())
    assert order == ["long in", "long out", "next in", "next out"]
    assert store.get_lock("conv-long") is None  # nothing left behind
