"""Finding the customer's past-due subscription and what can be done about it.

Database work runs in a worker thread (`asyncio.to_thread`): the action server
serves every conversation on one event loop.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy.exc import SQLAlchemyError

from bot.billing.accounts import Card, PastDue, find_past_due
from bot.config import get_settings
from bot.db import app_engine, session_scope
from bot.errors import AuthError, NotFound
from bot.i18n import (
    brand_in_sentence,
    format_day,
    format_expiry,
    format_money,
    resolve_language,
    valid_timezone,
)
from bot.insights.ledger import note_billing_conversation
from bot.security.auth import customer_from_metadata

logger = logging.getLogger(__name__)

KNOWN_DECLINE_REASONS = ("expired_card", "insufficient_funds", "card_declined")


def tracker_language(tracker: Tracker) -> str:
    """The conversation's reply language (the `language` slot, else the default)."""
    return resolve_language(tracker.get_slot("language"))


def customer_timezone(tracker: Tracker) -> str | None:
    """The IANA time zone the customer's widget last reported, if any.

    Messages that do not come from the widget (the card form's, the console's)
    carry none, so the latest customer message that did carry one counts.
    """
    for event in reversed(tracker.events):
        if event.get("event") != "user":
            continue
        zone = valid_timezone((event.get("metadata") or {}).get("timezone"))
        if zone:
            return zone
    return valid_timezone(((tracker.latest_message or {}).get("metadata") or {}).get("timezone"))


def signed_in_customer(tracker: Tracker) -> str:
    """The customer the channel verified for the latest message (bot.security.auth).

    Raises:
        AuthError: no valid token came with the message.
    """
    metadata = (tracker.latest_message or {}).get("metadata")
    return customer_from_metadata(metadata, tracker.sender_id, get_settings().auth_secret)


def past_due_of(customer_id: str) -> list[PastDue]:
    with session_scope(app_engine()) as session:
        return find_past_due(session, customer_id)


def utter_options(dispatcher: CollectingDispatcher, due: PastDue) -> None:
    """The next steps the seeds allow: owners may also change the expiry date."""
    card = due.failed_card
    if card is None:
        # No charge failed yet: there is no card to fix, and no owner to speak of.
        dispatcher.utter_message(response="utter_settle_options_any_card")
    elif card.is_owner:
        dispatcher.utter_message(response="utter_settle_options_owner")
    else:
        dispatcher.utter_message(response="utter_settle_options_nonowner")


def utter_no_payment_yet(dispatcher: CollectingDispatcher, due: PastDue, language: str) -> None:
    """Paid, the customer says, but this balance is open and has no payment: say so."""
    dispatcher.utter_message(
        response="utter_still_past_due_no_payment",
        subscription=due.subscription,
        amount=format_money(due.amount, due.currency, language),
    )


def utter_past_due(
    dispatcher: CollectingDispatcher,
    due: PastDue,
    language: str,
    with_summary: bool = True,
    with_options: bool = True,
) -> None:
    """Says what is past due, why the charge failed, and which options the customer has."""
    if with_summary:
        dispatcher.utter_message(
            response="utter_past_due_summary",
            subscription=due.subscription,
            amount=format_money(due.amount, due.currency, language),
            due_date=format_day(due.due_date, language),
        )
    card = due.failed_card
    if card is not None:
        reason = due.decline_reason if due.decline_reason in KNOWN_DECLINE_REASONS else "unknown"
        dispatcher.utter_message(
            response=f"utter_decline_reason_{reason}", **card_kwargs(card, language)
        )
    if with_options:
        utter_options(dispatcher, due)


def card_kwargs(card: Card, language: str) -> dict[str, str]:
    """What the responses may say about a card, in the customer's language."""
    return {
        "card_brand": brand_in_sentence(card.brand, language),
        "card_last4": card.last4,
        "card_expiry": format_expiry(card.exp_month, card.exp_year),
    }


async def signed_in_past_due(
    dispatcher: CollectingDispatcher, tracker: Tracker
) -> tuple[str, list[PastDue]] | None:
    """The signed-in customer and their open balances, oldest first.

    When there is no account to look at, the lookup fails, or nothing is past due,
    it says so to the customer and returns None.
    """
    try:
        customer_id = signed_in_customer(tracker)
        balances = await asyncio.to_thread(past_due_of, customer_id)
    except (AuthError, NotFound) as exc:
        logger.info("no account access for %s: %s", tracker.sender_id, exc)
        dispatcher.utter_message(response="utter_no_account_access")
        dispatcher.utter_message(response="utter_settle_procedure")
        return None
    except SQLAlchemyError:
        logger.exception("billing lookup failed for %s", tracker.sender_id)
        dispatcher.utter_message(response="utter_billing_unavailable")
        return None
    if not balances:
        dispatcher.utter_message(response="utter_nothing_past_due")
        return None
    await asyncio.to_thread(_note_billing, tracker, customer_id, balances)
    return customer_id, balances


def first_message_at(tracker: Tracker) -> dt.datetime:
    """When the customer wrote first in this conversation (now, if the tracker has none)."""
    for event in tracker.events:
        stamp = event.get("timestamp")
        if event.get("event") == "user" and isinstance(stamp, (int, float)):
            return dt.datetime.fromtimestamp(stamp, dt.timezone.utc)
    return dt.datetime.now(dt.timezone.utc)


def _note_billing(tracker: Tracker, customer_id: str, balances: list[PastDue]) -> None:
    """Notes the conversation for the insights; a failure never reaches the customer."""
    try:
        with session_scope(app_engine()) as session:
            note_billing_conversation(
                session,
                conversation_id=tracker.sender_id,
                customer_id=customer_id,
                balance_ids=[due.balance_id for due in balances],
                language=tracker_language(tracker),
                started_at=first_message_at(tracker),
            )
    except SQLAlchemyError:
        logger.exception("could not note the billing conversation %s", tracker.sender_id)


class ActionExplainPastDue(Action):
    """Looks up the signed-in customer's past-due balance and offers the next steps."""

    def name(self) -> str:
        return "action_explain_past_due"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        found = await signed_in_past_due(dispatcher, tracker)
        if found is not None:
            language = tracker_language(tracker)
            for due in found[1]:
                utter_past_due(dispatcher, due, language)
        return []
