"""Where Rasa keeps conversations and conversation locks, chosen by environment variables.

endpoints.yml names the two classes below; they read:

  BOT_TRACKER_STORE_URL  conversations (an SQLAlchemy URL). Default: the SQLite file
                         var/tracker.db. Production: postgresql://user@host/db.
  BOT_LOCK_STORE_URL     conversation locks. Unset: in memory, which is right for one
                         Rasa process only. Production: redis://host:6379/0, which
                         every Rasa process shares (also used for Socket.IO fan-out).
  BOT_REDIS_KEY_PREFIX   prefix of every Redis key and channel (default "billingbot"),
                         so that two deployments can share one Redis.

Rasa's own RedisLockStore reads a lock, changes it in Python and writes it back.
Two Rasa processes taking a ticket for one conversation at the same moment can
both read the same lock and both believe they hold it, so two messages of one
conversation would be processed at once. `AtomicRedisLockStore` does every
read-change-write in a Redis transaction (WATCH/MULTI), retried on conflict, and
waits at most REDIS_TIMEOUT_SECONDS for Redis (Rasa's default: 10 s, during which
the whole server waits).

A conversation's ticket expires TICKET_LIFETIME_SECONDS after it was last
renewed, and the process holding it renews it every few seconds while the turn
runs (Rasa's own ticket simply expires after 60 s, so a turn that waits longer
for the action server would let the next message in at the same time). A ticket
of a process that died is gone within TICKET_LIFETIME_SECONDS.

The tracker store reads and writes the database in a worker thread: Rasa's SQL
tracker store does it on the event loop, where a slow database stops every
conversation of that server.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import AsyncGenerator, Callable
from contextlib import asynccontextmanager
from typing import Any, TypeVar

import sqlalchemy as sa
from rasa.core.lock import TicketLock
from rasa.core.lock_store import (
    LOCK_LIFETIME,
    InMemoryLockStore,
    LockError,
    LockStore,
    RedisLockStore,
)
from rasa.core.tracker_store import SQLTrackerStore, create_engine_kwargs
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.utils.endpoints import EndpointConfig
from sqlalchemy.engine import make_url

from bot.config import PROJECT_ROOT, get_settings
from bot.errors import ConfigError
from bot.security.redaction import mask_event_data

logger = logging.getLogger(__name__)

# A waiting message checks the lock this often (Rasa's default is once a second).
LOCK_POLL_SECONDS = 0.05
# A lock nobody cleaned up (its process died) disappears from Redis after this long.
LOCK_KEY_TTL_SECONDS = 24 * 3600
# A ticket lives this long after its last renewal; its holder renews it this often.
TICKET_LIFETIME_SECONDS = 30.0
TICKET_RENEW_SECONDS = 5.0
REDIS_TIMEOUT_SECONDS = 2.0
# How far back a conversation's stored events are searched for a message to mask.
REDACT_WINDOW = 300


T = TypeVar("T")


class EnvTrackerStore(SQLTrackerStore):
    """Rasa's SQL tracker store at BOT_TRACKER_STORE_URL, with connections checked on use.

    `pool_pre_ping` makes a connection that died with a database restart be replaced
    instead of failing the next message.
    """

    def __init__(
        self, domain: Any = None, host: str | None = None, event_broker: Any = None, **kwargs: Any
    ) -> None:
        url = make_url(get_settings().tracker_store_url)
        if url.get_backend_name() == "sqlite" and url.database:
            (PROJECT_ROOT / url.database).parent.mkdir(parents=True, exist_ok=True)
        super().__init__(
            domain=domain,
            dialect=url.drivername,
            host=url.host,
            port=url.port,
            db=url.database or "",
            username=url.username,
            password=url.password,
            event_broker=event_broker,
            query=dict(url.query) or None,
            **kwargs,
        )
        engine: sa.engine.Engine = self.engine  # type: ignore[has-type]
        engine_url = engine.url
        engine.dispose()
        self.engine = sa.create_engine(
            engine_url, pool_pre_ping=True, **create_engine_kwargs(engine_url)
        )
        self.sessionmaker = sa.orm.session.sessionmaker(bind=self.engine)

    async def _retrieve(
        self, sender_id: str, fetch_events_from_all_sessions: bool
    ) -> DialogueStateTracker | None:
        return await asyncio.to_thread(self._load, sender_id, fetch_events_from_all_sessions)

    def _load(self, sender_id: str, fetch_events_from_all_sessions: bool) -> Any:
        """Rasa's SQL retrieve, run in a worker thread."""
        with self.session_scope() as session:
            rows = self._event_query(
                session, sender_id, fetch_events_from_all_sessions=fetch_events_from_all_sessions
            ).all()
            events = [json.loads(row.data) for row in rows]
        if self.domain and events:
            return DialogueStateTracker.from_dict(sender_id, events, self.domain.slots)
        return None

    async def save(self, tracker: DialogueStateTracker) -> None:
        """Rasa's save in a worker thread, telling the event broker only what it stored.

        Rasa's own save first loads the whole stored conversation again, only to
        find which events are new for the event broker (`stream_events`); the new
        events are the ones the save itself appends, so they are published from
        there, after the commit.
        """
        events = await asyncio.to_thread(self._append_new_events, tracker)
        if self.event_broker is not None:
            await self._stream_new_events(self.event_broker, events, tracker.sender_id)

    def _append_new_events(self, tracker: DialogueStateTracker) -> list[Any]:
        with self.session_scope() as session:
            events = list(self._additional_events(session, tracker))
            for event in events:
                data = event.as_dict()
                session.add(
                    self.SQLEvent(
                        sender_id=tracker.sender_id,
                        type_name=event.type_name,
                        timestamp=data.get("timestamp"),
                        intent_name=data.get("parse_data", {}).get("intent", {}).get("name"),
                        action_name=data.get("name"),
                        data=json.dumps(data),
                    )
                )
            session.commit()
        return events

    def redact_messages(self, sender_id: str, messages: dict[str, tuple[str, str]]) -> int:
        """Masks stored customer messages, by message id: {id: (original, masked)}.

        Later events that repeat the text (a slot filled from it) are masked too.
        Returns how many stored events changed.
        """
        changed = 0
        with self.session_scope() as session:
            rows = (
                session.query(self.SQLEvent)
                .filter(self.SQLEvent.sender_id == sender_id)
                .order_by(self.SQLEvent.id.desc())
                .limit(REDACT_WINDOW)
                .all()
            )
            masking: list[tuple[str, str]] = []
            for row in reversed(rows):
                data = json.loads(row.data)
                if row.type_name == "user" and data.get("message_id") in messages:
                    masking.append(messages[data["message_id"]])
                masked = data
                for original, replacement in masking:
                    masked = mask_event_data(masked, original, replacement)
                if masked != data:
                    row.data = json.dumps(masked)
                    changed += 1
            session.commit()
        return changed


class QuickLockMixin:
    """Waits for a busy conversation in short steps, and renews the ticket it holds.

    Replaces Rasa's `LockStore.lock`: the ticket is issued for TICKET_LIFETIME_SECONDS
    and renewed while this process waits for its turn and while the turn runs.
    """

    @asynccontextmanager
    async def lock(
        self,
        conversation_id: str,
        lock_lifetime: float = LOCK_LIFETIME,
        wait_time_in_seconds: float = LOCK_POLL_SECONDS,
    ) -> AsyncGenerator[TicketLock, None]:
        store: Any = self
        poll = min(wait_time_in_seconds, LOCK_POLL_SECONDS)
        ticket = store.issue_ticket(conversation_id, TICKET_LIFETIME_SECONDS)
        keeping: asyncio.Task[None] | None = None
        try:
            held = await self._wait_for_turn(conversation_id, ticket, poll)
            keeping = asyncio.create_task(self._keep_alive(conversation_id, ticket))
            yield held
        finally:
            if keeping is not None:
                keeping.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await keeping
            store.cleanup(conversation_id, ticket)

    async def _wait_for_turn(self, conversation_id: str, ticket: int, poll: float) -> TicketLock:
        store: Any = self
        renewed = time.monotonic()
        while True:
            lock = store.get_lock(conversation_id)
            if lock is None or lock._ticket_for_ticket_number(ticket) is None:
                raise LockError(f"the ticket for conversation {conversation_id!r} expired")
            if not lock.is_locked(ticket):
                return lock
            await asyncio.sleep(poll)
            if time.monotonic() - renewed >= TICKET_RENEW_SECONDS:
                self.renew(conversation_id, ticket)
                renewed = time.monotonic()
            else:
                store.update_lock(conversation_id)

    async def _keep_alive(self, conversation_id: str, ticket: int) -> None:
        while True:
            await asyncio.sleep(TICKET_RENEW_SECONDS)
            try:
                self.renew(conversation_id, ticket)
            except Exception:  # noqa: BLE001 - the turn goes on; the next renewal retries
                logger.warning("could not renew the lock of %s", conversation_id, exc_info=True)

    def renew(self, conversation_id: str, ticket: int) -> None:
        """Extends `ticket` by TICKET_LIFETIME_SECONDS from now and drops expired ones."""
        store: Any = self
        lock = store.get_lock(conversation_id)
        if lock is not None and _extend(lock, ticket):
            store.save_lock(lock)


def _extend(lock: TicketLock, ticket: int) -> bool:
    lock.remove_expired_tickets()
    for held in lock.tickets:
        if held.number == ticket:
            held.expires = time.time() + TICKET_LIFETIME_SECONDS
            return True
    logger.error("ticket %s of %s expired while in use", ticket, lock.conversation_id)
    return False


class QuickInMemoryLockStore(QuickLockMixin, InMemoryLockStore):
    """Rasa's in-memory lock store (one process only), polling quickly."""


class AtomicRedisLockStore(QuickLockMixin, RedisLockStore):
    """Rasa's Redis lock store with each read-change-write done atomically."""

    @classmethod
    def from_url(cls, url: str, key_prefix: str) -> AtomicRedisLockStore:
        parsed = make_url(url)
        if parsed.drivername not in ("redis", "rediss"):
            raise ConfigError(f"BOT_LOCK_STORE_URL must be a redis:// URL, not {parsed.drivername}")
        store = cls(
            host=parsed.host or "127.0.0.1",
            port=parsed.port or 6379,
            db=int(parsed.database or 0),
            username=parsed.username,
            password=parsed.password,
            use_ssl=parsed.drivername == "rediss",
            key_prefix=key_prefix,
            socket_timeout=REDIS_TIMEOUT_SECONDS,
        )
        store.red.connection_pool.connection_kwargs["socket_connect_timeout"] = (
            REDIS_TIMEOUT_SECONDS
        )
        return store

    def _change(
        self,
        conversation_id: str,
        change: Callable[[TicketLock | None], tuple[TicketLock | None, T]],
    ) -> T:
        """Runs `change` on the stored lock inside a WATCH/MULTI transaction.

        `change` gets the lock (or None) and returns the lock to store (None deletes
        it) and a result. Redis retries the whole function if another process
        changed the key in between.
        """
        key = self.key_prefix + conversation_id

        def transaction(pipe: Any) -> T:
            raw = pipe.get(key)
            lock = TicketLock.from_dict(json.loads(raw)) if raw else None
            new_lock, result = change(lock)
            pipe.multi()
            if new_lock is None:
                pipe.delete(key)
            else:
                pipe.set(key, new_lock.dumps(), ex=LOCK_KEY_TTL_SECONDS)
            return result

        return self.red.transaction(transaction, key, value_from_callable=True)

    def issue_ticket(self, conversation_id: str, lock_lifetime: float = LOCK_LIFETIME) -> int:
        def issue(lock: TicketLock | None) -> tuple[TicketLock, int]:
            lock = lock or self.create_lock(conversation_id)
            return lock, lock.issue_ticket(lock_lifetime)

        try:
            return self._change(conversation_id, issue)
        except Exception as error:  # noqa: BLE001 - Rasa expects a LockError for any failure
            from rasa.core.lock_store import LockError

            raise LockError(f"Error while acquiring lock. Error:\n{error}") from error

    def update_lock(self, conversation_id: str) -> None:
        def drop_expired(lock: TicketLock | None) -> tuple[TicketLock | None, None]:
            if lock is not None:
                lock.remove_expired_tickets()
            return lock, None

        self._change(conversation_id, drop_expired)

    def renew(self, conversation_id: str, ticket: int) -> None:
        def extend(lock: TicketLock | None) -> tuple[TicketLock | None, None]:
            if lock is not None:
                _extend(lock, ticket)
            return lock, None

        self._change(conversation_id, extend)

    def finish_serving(self, conversation_id: str, ticket_number: int) -> None:
        self.cleanup(conversation_id, ticket_number)

    def cleanup(self, conversation_id: str, ticket_number: int) -> None:
        def release(lock: TicketLock | None) -> tuple[TicketLock | None, None]:
            if lock is None:
                return None, None
            lock.remove_ticket_for(ticket_number)
            return (lock if lock.is_someone_waiting() else None), None

        self._change(conversation_id, release)


class EnvLockStore(LockStore):
    """Named in endpoints.yml; becomes the lock store that BOT_LOCK_STORE_URL asks for.

    Rasa instantiates a custom lock store class with the endpoint's config, so the
    choice is made in `__new__`: Redis when the URL is set, else in memory.
    """

    def __new__(cls, endpoint_config: EndpointConfig | None = None) -> LockStore:  # type: ignore[misc]
        settings = get_settings()
        url = settings.lock_store_url
        if url:
            store: LockStore = AtomicRedisLockStore.from_url(url, settings.redis_key_prefix)
            logger.info("conversation locks in Redis at %s", make_url(url).host)
            return store
        return QuickInMemoryLockStore()
