"""Support agents: accounts with Argon2id password hashes, and console sessions.

The session cookie carries a random secret; the database keeps only its SHA-256,
next to the session's CSRF token, so a database leak signs nobody in.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import logging
import re
import secrets
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.db import Agent, AgentSession, as_utc, utcnow
from bot.errors import AuthError, BotError

logger = logging.getLogger(__name__)

USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{1,63}$")
MIN_PASSWORD_LENGTH = 10
SESSION_HOURS = 12
ROLES = ("agent", "trainer", "lead")
_hasher = PasswordHasher()
# Verified against when the username is unknown, so both cases take as long.
_DUMMY_HASH = _hasher.hash("not-a-real-password")


class AgentExists(BotError):
    """An agent with this username already exists."""


@dataclass(frozen=True)
class SignedIn:
    """The agent behind a console session."""

    agent_id: int
    username: str
    display_name: str
    role: str
    csrf_token: str


def add_agent(
    session: Session,
    username: str,
    password: str,
    display_name: str | None = None,
    role: str = "agent",
) -> Agent:
    """Creates an agent account.

    Raises:
        ValueError: the username, password or role is not acceptable.
        AgentExists: the username is taken.
    """
    if not USERNAME.match(username):
        raise ValueError(
            "the username must be 2-64 characters: lower-case letters, digits, '.', '_' or '-'"
        )
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValueError(f"the password must be at least {MIN_PASSWORD_LENGTH} characters")
    if role not in ROLES:
        raise ValueError(f"the role must be one of {', '.join(ROLES)}")
    agent = Agent(
        username=username,
        display_name=(display_name or username).strip()[:100] or username,
        password_hash=_hasher.hash(password),
        role=role,
    )
    try:
        with session.begin_nested():
            session.add(agent)
    except IntegrityError as exc:
        raise AgentExists(f"an agent named {username!r} already exists") from exc
    return agent


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def authenticate(session: Session, username: str, password: str) -> Agent:
    """The agent, if the password is right.

    Raises:
        AuthError: unknown username or wrong password (one message for both).
    """
    agent = session.scalars(select(Agent).where(Agent.username == username)).first()
    try:
        _hasher.verify(agent.password_hash if agent else _DUMMY_HASH, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError) as exc:
        raise AuthError("wrong username or password") from exc
    if agent is None:
        raise AuthError("wrong username or password")
    if _hasher.check_needs_rehash(agent.password_hash):
        agent.password_hash = _hasher.hash(password)
    return agent


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def start_session(session: Session, agent: Agent) -> str:
    """A new console session; returns the cookie's secret."""
    secret = secrets.token_urlsafe(32)
    now = utcnow()
    session.execute(delete(AgentSession).where(AgentSession.expires_at < now))
    session.add(
        AgentSession(
            token_hash=_digest(secret),
            agent_id=agent.id,
            csrf_token=secrets.token_urlsafe(32),
            expires_at=now + dt.timedelta(hours=SESSION_HOURS),
        )
    )
    session.flush()
    return secret


def signed_in(session: Session, secret: str | None) -> SignedIn:
    """The agent a session cookie belongs to.

    Raises:
        AuthError: no cookie, an unknown one, or an expired session.
    """
    if not secret:
        raise AuthError("not signed in")
    row = session.scalars(
        select(AgentSession).where(AgentSession.token_hash == _digest(secret))
    ).first()
    if row is None or as_utc(row.expires_at) <= utcnow():
        raise AuthError("the session has ended")
    agent = row.agent
    return SignedIn(agent.id, agent.username, agent.display_name, agent.role, row.csrf_token)


def csrf_matches(expected: str, given: str | None) -> bool:
    return bool(given) and hmac.compare_digest(expected.encode(), (given or "").encode())


def end_session(session: Session, secret: str | None) -> None:
    if secret:
        session.execute(delete(AgentSession).where(AgentSession.token_hash == _digest(secret)))
