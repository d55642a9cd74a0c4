"""Noting billing conversations: which conversation looked at which past-due balance.

The tracker store knows what was said and the bot's database knows what was paid;
this row links the two, so that the insights never have to read conversations'
JSON. It is written once per conversation and balance, however often the bot
looks the balance up again.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.db import BillingConversation, as_utc


def note_billing_conversation(
    session: Session,
    *,
    conversation_id: str,
    customer_id: str,
    balance_ids: Iterable[int],
    language: str,
    started_at: dt.datetime,
) -> int:
    """Adds the balances this conversation has not noted yet; returns how many were new."""
    wanted = list(dict.fromkeys(balance_ids))
    if not wanted:
        return 0
    noted = set(
        session.scalars(
            select(BillingConversation.balance_id).where(
                BillingConversation.conversation_id == conversation_id,
                BillingConversation.balance_id.in_(wanted),
            )
        )
    )
    started = as_utc(started_at).astimezone(dt.timezone.utc)
    added = 0
    for balance_id in wanted:
        if balance_id in noted:
            continue
        try:
            with session.begin_nested():
                session.add(
                    BillingConversation(
                        conversation_id=conversation_id,
                        customer_id=customer_id,
                        balance_id=balance_id,
                        language=language,
                        started_at=started,
                        day=started.date(),
                    )
                )
        except IntegrityError:
            continue  # a concurrent action of the same conversation noted it first
        added += 1
    return added
