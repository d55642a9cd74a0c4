"""The console's sign-in throttle: attempts counted before the password is checked.

Argon2 makes each guess slow, so an attacker sends many at once: a throttle that
counts a failure only after the hash is checked lets all of them through (60
concurrent wrong passwords were 60 checks). Here an attempt is counted, and
refused when over the limit, before the check begins, in one atomic step:

- per username: MAX_ATTEMPTS per WINDOW_SECONDS (a success clears them);
- per client address: MAX_CLIENT_ATTEMPTS per WINDOW_SECONDS (a success does not
  count), so one client cannot try a few passwords on every username;
- while checking: one check at a time per username and CONCURRENT_CHECKS in all
  per process; more than MAX_WAITING waiting checks are refused.

With several Rasa servers (BOT_LOCK_STORE_URL) the counts live in Redis and a Lua
script does the count-and-decide; Redis is reached asynchronously, with a
timeout. If Redis does not answer, this process's own count applies.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import secrets
import time
from collections import deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from bot.errors import BotError

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 5
MAX_CLIENT_ATTEMPTS = 30
WINDOW_SECONDS = 900.0
CONCURRENT_CHECKS = 2
MAX_WAITING = 50
REDIS_TIMEOUT_SECONDS = 2.0

# KEYS: username key, client key. ARGV: now, window, max per username, max per
# client, member. Returns 0 when the attempt is counted, else seconds to wait.
COUNT_ATTEMPT = """
local now, window = tonumber(ARGV[1]), tonumber(ARGV[2])
local limits = {tonumber(ARGV[3]), tonumber(ARGV[4])}
local wait = 0
for i, key in ipairs(KEYS) do
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)
  local count = redis.call('ZCARD', key)
  if count >= limits[i] then
    local oldest = redis.call('ZRANGE', key, count - limits[i], count - limits[i], 'WITHSCORES')
    wait = math.max(wait, math.ceil(tonumber(oldest[2]) + window - now))
  end
end
if wait > 0 then return wait end
for _, key in ipairs(KEYS) do
  redis.call('ZADD', key, now, ARGV[5])
  redis.call('EXPIRE', key, math.ceil(window) + 60)
end
return 0
"""


class Throttled(BotError):
    """Too many sign-in attempts: try again in `retry_after` seconds."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"too many sign-in attempts; retry in {retry_after} s")
        self.retry_after = max(1, retry_after)


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


class Attempt:
    """One counted sign-in attempt; `succeeded()` once the password was right."""

    def __init__(self) -> None:
        self.success = False

    def succeeded(self) -> None:
        self.success = True


class LoginThrottle:
    """Counts in this process; see the module docstring for the limits."""

    def __init__(
        self,
        max_attempts: int = MAX_ATTEMPTS,
        max_client_attempts: int = MAX_CLIENT_ATTEMPTS,
        window_seconds: float = WINDOW_SECONDS,
        concurrent_checks: int = CONCURRENT_CHECKS,
    ) -> None:
        self.max_attempts = max_attempts
        self.max_client_attempts = max_client_attempts
        self.window = window_seconds
        self.concurrent_checks = concurrent_checks
        self._attempts: dict[str, deque[tuple[float, str]]] = {}
        self._user_locks: dict[str, asyncio.Lock] = {}
        self._checks: asyncio.Semaphore | None = None
        self._waiting = 0

    # -- counting -------------------------------------------------------------

    def count(self, username: str, client: str, now: float | None = None) -> tuple[int, str]:
        """Counts an attempt; returns (seconds to wait, 0 if counted; the attempt's id).

        Synchronous, with no await inside: atomic on the event loop.
        """
        now = time.time() if now is None else now
        member = secrets.token_hex(8)
        keys = (f"user:{username}", f"client:{client}")
        limits = (self.max_attempts, self.max_client_attempts)
        wait = 0
        for key, limit in zip(keys, limits, strict=True):
            entries = self._attempts.setdefault(key, deque())
            while entries and entries[0][0] <= now - self.window:
                entries.popleft()
            if len(entries) >= limit:
                oldest = entries[len(entries) - limit][0]
                wait = max(wait, int(oldest + self.window - now) + 1)
        if wait:
            return wait, member
        for key in keys:
            self._attempts[key].append((now, member))
        if len(self._attempts) > 20_000:  # forget the oldest keys first
            self._attempts.pop(next(iter(self._attempts)))
        return 0, member

    def forget(self, username: str, client: str, member: str) -> None:
        """After a success: the username starts afresh, and the client is not charged."""
        self._attempts.pop(f"user:{username}", None)
        entries = self._attempts.get(f"client:{client}")
        if entries:
            self._attempts[f"client:{client}"] = deque(e for e in entries if e[1] != member)

    async def count_attempt(self, username: str, client: str) -> tuple[int, str]:
        return self.count(username, client)

    async def forget_attempt(self, username: str, client: str, member: str) -> None:
        self.forget(username, client, member)

    # -- the check --------------------------------------------------------------

    @asynccontextmanager
    async def attempt(self, username: str, client: str) -> AsyncIterator[Attempt]:
        """Counts the attempt, then holds the check slots while the password is checked.

        Raises:
            Throttled: over a limit, or too many checks waiting.
        """
        wait, member = await self.count_attempt(username, client)
        if wait:
            raise Throttled(wait)
        if self._waiting >= MAX_WAITING:
            raise Throttled(5)
        if self._checks is None:
            self._checks = asyncio.Semaphore(self.concurrent_checks)
        user_lock = self._user_locks.setdefault(username, asyncio.Lock())
        attempt = Attempt()
        checking = False
        self._waiting += 1
        try:
            async with user_lock, self._checks:
                self._waiting -= 1
                checking = True
                yield attempt
        finally:
            if not checking:
                self._waiting -= 1
            if not user_lock.locked() and not getattr(user_lock, "_waiters", None):
                self._user_locks.pop(username, None)
        if attempt.success:
            await self.forget_attempt(username, client, member)


class RedisLoginThrottle(LoginThrottle):
    """The same limits, counted in Redis so that every Rasa server sees every attempt."""

    def __init__(self, url: str, prefix: str, **limits: Any) -> None:
        import redis
        from redis import asyncio as redis_asyncio
        from redis.asyncio.retry import Retry
        from redis.backoff import NoBackoff

        super().__init__(**limits)
        # After an outage the pool still holds connections to the Redis that went away:
        # the first command on one fails. One retry on a new connection keeps that
        # attempt counted where every server sees it (tests/e2e/test_production.py).
        self.redis = redis_asyncio.Redis.from_url(
            url,
            socket_timeout=REDIS_TIMEOUT_SECONDS,
            socket_connect_timeout=REDIS_TIMEOUT_SECONDS,
            retry=Retry(NoBackoff(), 1),
            retry_on_error=[redis.ConnectionError, redis.TimeoutError],
        )
        self.prefix = prefix
        self._script = self.redis.register_script(COUNT_ATTEMPT)

    def _keys(self, username: str, client: str) -> list[str]:
        return [
            f"{self.prefix}:login:user:{_digest(username)}",
            f"{self.prefix}:login:client:{_digest(client)}",
        ]

    async def count_attempt(self, username: str, client: str) -> tuple[int, str]:
        import redis

        member = f"{time.time()}:{secrets.token_hex(6)}"
        limits = [self.window, self.max_attempts, self.max_client_attempts]
        try:
            wait = await self._script(
                keys=self._keys(username, client), args=[time.time(), *limits, member]
            )
        except (redis.RedisError, OSError, asyncio.TimeoutError):
            logger.warning("sign-in throttle: Redis unreachable, counting in this process")
            return self.count(username, client)
        return int(wait), member

    async def forget_attempt(self, username: str, client: str, member: str) -> None:
        import redis

        self.forget(username, client, member)
        user_key, client_key = self._keys(username, client)
        try:
            await self.redis.delete(user_key)
            await self.redis.zrem(client_key, member)
        except (redis.RedisError, OSError, asyncio.TimeoutError):
            logger.warning("sign-in throttle: Redis unreachable; the attempts stay counted")


def login_throttle() -> LoginThrottle:
    """Counted in Redis when the deployment has one (BOT_LOCK_STORE_URL), else per process."""
    from bot.config import get_settings

    settings = get_settings()
    url = settings.lock_store_url
    return RedisLoginThrottle(url, settings.redis_key_prefix) if url else LoginThrottle()
