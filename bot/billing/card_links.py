"""One-time links to the card form: issued in chat, redeemed by the card endpoint.

A link names one conversation and customer, expires after LINK_TTL, works until a
card is saved with it, and is burned after MAX_FAILED_POSTS rejected submissions.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from bot.billing.accounts import get_customer
from bot.db import CardFormLink, as_utc, utcnow
from bot.errors import BotError

LINK_TTL = dt.timedelta(minutes=15)
MAX_FAILED_POSTS = 5


class LinkUnusable(BotError):
    """The link is unknown, expired, already used, or burned by failed submissions."""


@dataclass(frozen=True)
class FormSession:
    link_id: int
    customer_id: str
    sender_id: str
    language: str


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue_link(session: Session, customer_id: str, sender_id: str, language: str) -> str:
    """A new link secret for this conversation (only its hash is stored)."""
    get_customer(session, customer_id)
    token = secrets.token_urlsafe(32)
    now = utcnow()
    session.add(
        CardFormLink(
            token_hash=_hash(token),
            customer_id=customer_id,
            sender_id=sender_id,
            language=language,
            created_at=now,
            expires_at=now + LINK_TTL,
        )
    )
    return token


def _usable(session: Session, token: str) -> CardFormLink:
    link = session.scalars(
        select(CardFormLink).where(CardFormLink.token_hash == _hash(token))
    ).first()
    if link is None:
        raise LinkUnusable("unknown link")
    if link.used_at is not None:
        raise LinkUnusable("link already used")
    if as_utc(link.expires_at) <= utcnow():
        raise LinkUnusable("link expired")
    if link.failed_posts >= MAX_FAILED_POSTS:
        raise LinkUnusable("too many rejected submissions")
    return link


def open_link(session: Session, token: str) -> FormSession:
    """The conversation a usable link belongs to.

    Raises:
        LinkUnusable: see the class.
    """
    link = _usable(session, token)
    return FormSession(link.id, link.customer_id, link.sender_id, link.language)


def language_of(session: Session, token: str) -> str | None:
    """The language a link was issued in, even when it is no longer usable."""
    link = session.scalars(
        select(CardFormLink).where(CardFormLink.token_hash == _hash(token))
    ).first()
    return link.language if link else None


def record_rejected_post(session: Session, token: str) -> None:
    link = _usable(session, token)
    link.failed_posts += 1


def use_link(session: Session, token: str) -> FormSession:
    """Marks the link used (once) and returns its conversation.

    Raises:
        LinkUnusable: see the class.
    """
    link = _usable(session, token)
    # Conditional update: of two submissions racing, only one can use the link.
    claimed = session.execute(
        update(CardFormLink)
        .where(CardFormLink.id == link.id, CardFormLink.used_at.is_(None))
        .values(used_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    if claimed.rowcount != 1:
        raise LinkUnusable("link already used")
    return FormSession(link.id, link.customer_id, link.sender_id, link.language)
