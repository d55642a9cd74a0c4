"""The NLU inbox: messages the bot understood poorly, for trainers to review.

Rasa's event stream fills it (bot.rasa_plugins.broker.InboxEventBroker); trainers
label or dismiss its items. Card numbers are masked before anything is stored.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Session

from bot.db import NluInboxItem, app_engine, as_utc, session_scope, utcnow
from bot.errors import NotFound
from bot.nlu.examples import AddResult, Example, NluStore, ValidationFailed
from bot.security.redaction import mask_card_numbers

logger = logging.getLogger(__name__)


def record(
    session: Session,
    *,
    conversation_id: str,
    message_id: str,
    text: str,
    language: str | None,
    intent: str | None,
    confidence: float | None,
    reason: str,
) -> bool:
    """Keeps one message (once per conversation and message id). False if kept before."""
    try:
        with session.begin_nested():
            session.add(
                NluInboxItem(
                    conversation_id=conversation_id,
                    message_id=message_id,
                    text=mask_card_numbers(text)[:2000],
                    language=language,
                    predicted_intent=intent,
                    confidence=confidence,
                    reason=reason,
                )
            )
    except IntegrityError:
        return False
    return True


def list_items(
    session: Session, language: str | None = None, include_done: bool = False
) -> list[NluInboxItem]:
    query = select(NluInboxItem).order_by(NluInboxItem.created_at.desc(), NluInboxItem.id.desc())
    if language:
        query = query.where(NluInboxItem.language == language)
    if not include_done:
        query = query.where(NluInboxItem.status == "open")
    return list(session.scalars(query))


def item_view(item: NluInboxItem, with_conversation: bool = True) -> dict[str, Any]:
    """An inbox item for `bot inbox`; the console leaves the conversation id out."""
    view = {
        "id": item.id,
        "text": item.text,
        "language": item.language,
        "predicted_intent": item.predicted_intent,
        "confidence": item.confidence,
        "reason": item.reason,
        "status": item.status,
        "labelled_intent": item.labelled_intent,
        "created_at": as_utc(item.created_at).isoformat(),
    }
    if with_conversation:
        view["conversation_id"] = item.conversation_id
    return view


def _get(session: Session, item_id: int) -> NluInboxItem:
    item = session.get(NluInboxItem, item_id)
    if item is None:
        raise NotFound(f"no inbox item {item_id}")
    return item


@dataclass
class Labelled:
    result: AddResult
    invalid: str | None = None


def label_item(
    session: Session, item_id: int, intent: str, project: Path, language: str | None = None
) -> Labelled:
    """Files the item as a training example, through the same checks as `bot nlu add`.

    An item whose text already is an example of that intent counts as labelled.
    A message written over several lines becomes one line: an example is one line,
    and a line break of any kind (U+2028 included) would start another example.
    """
    item = _get(session, item_id)
    example = Example(intent, language or item.language or "", " ".join(item.text.split()))
    try:
        result = NluStore(project).add([example])
    except ValidationFailed as exc:
        return Labelled(AddResult(), invalid=str(exc))
    done = bool(result.added) or any(r.code == "duplicate" for r in result.refused)
    if done:
        item.status, item.labelled_intent, item.handled_at = "labelled", intent, utcnow()
    return Labelled(result)


def redact_items(session: Session, conversation_id: str, masked: dict[str, str]) -> int:
    """Replaces the text of kept messages (by message id) with their masked text."""
    if not masked:
        return 0
    items = session.scalars(
        select(NluInboxItem).where(
            NluInboxItem.conversation_id == conversation_id,
            NluInboxItem.message_id.in_(list(masked)),
        )
    ).all()
    for item in items:
        item.text = masked[item.message_id][:2000]
    return len(items)


def dismiss_item(session: Session, item_id: int) -> None:
    item = _get(session, item_id)
    item.status, item.handled_at = "dismissed", utcnow()


def store_item(sender: str, reason: str, item: dict[str, Any]) -> None:
    """Keeps one item; a database error is logged, never raised into Rasa's event stream."""
    try:
        with session_scope(app_engine()) as session:
            record(session, conversation_id=sender, reason=reason, **item)
    except SQLAlchemyError:
        logger.exception("could not keep an inbox item for %s", sender)
