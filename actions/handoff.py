"""Handing the conversation to a person, and taking it back.

`escalate` opens a ticket with a packet for the agent and pauses the bot for this
conversation (ConversationPaused): Rasa then stores the customer's messages
without answering them, and the console shows them to the agent.
"""

from __future__ import annotations

import datetime as dt
import logging

from rasa_sdk import Tracker
from rasa_sdk.events import ConversationPaused, EventType, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.base import (
    ERROR_REPLIES,
    BillingAction,
    Reply,
    run_db,
    signed_in_customer,
    tracker_language,
)
from actions.billing import utter_past_due
from bot.billing.accounts import find_past_due, get_customer
from bot.db import app_engine, session_scope
from bot.errors import AuthError, DatabaseUnavailable, NotFound, NothingPastDue
from bot.support.handoff import Queued, build_packet, open_ticket, payment_attempts
from bot.support.transcript import transcript

logger = logging.getLogger(__name__)

# What the customer chose in this conversation, as the agent should read it.
TRIED_BY_INTENT = {
    "change_expiry": "Chose to change the card's expiry date",
    "pick_other_card": "Asked to use a different card",
    "add_new_card": "Asked for the card form to add a new card",
    "card_added": "Added a new card through the card form",
    "still_past_due": "Said they already paid but still see the past-due notice",
}


def _conversation_start(tracker: Tracker) -> dt.datetime | None:
    """When the conversation began; None when the tracker holds no events."""
    stamps = [e["timestamp"] for e in tracker.events if isinstance(e.get("timestamp"), float)]
    return dt.datetime.fromtimestamp(min(stamps), dt.timezone.utc) if stamps else None


def tried_in_conversation(tracker: Tracker) -> list[str]:
    """The options the customer already went for, in order, each once."""
    tried: list[str] = []
    for event in tracker.events:
        if event.get("event") != "user":
            continue
        intent = ((event.get("parse_data") or {}).get("intent") or {}).get("name")
        label = TRIED_BY_INTENT.get(intent or "")
        if label and label not in tried:
            tried.append(label)
    failures = int(tracker.get_slot("expiry_failures") or 0)
    if failures:
        tried.append(f"Typed an expiry date the bot could not accept ({failures}x)")
    return tried


async def escalate(
    dispatcher: CollectingDispatcher, tracker: Tracker, reason: str
) -> list[EventType]:
    """Opens (or joins) the conversation's ticket and pauses the bot.

    When the ticket cannot be stored, the bot says how to reach support instead
    and stays active: pausing without a ticket would leave the customer alone.
    That failure is answered here, not by the calling action's error replies:
    escalating after a second decline (action_save_and_pay) keeps that action's events.
    """
    language = tracker_language(tracker)
    try:
        customer_id: str | None = signed_in_customer(tracker)
    except AuthError:
        customer_id = None
    try:
        queued = await run_db(_open_ticket, tracker, customer_id, language, reason)
    except DatabaseUnavailable:
        logger.exception("could not open a handoff ticket for %s", tracker.sender_id)
        dispatcher.utter_message(response="utter_contact_support")
        return []
    logger.info("handoff ticket %s (%s) for %s", queued.ticket_id, reason, tracker.sender_id)
    dispatcher.utter_message(response="utter_handoff_queued", position=queued.position or 1)
    dispatcher.utter_message(
        json_message={"handoff": {"status": "waiting", "position": queued.position or 1}}
    )
    return [ConversationPaused()]


def _open_ticket(tracker: Tracker, customer_id: str | None, language: str, reason: str) -> Queued:
    """The ticket with its packet, in one database session (in a worker thread)."""
    with session_scope(app_engine()) as session:
        customer, due, attempts = None, None, []
        if customer_id is not None:
            try:
                row = get_customer(session, customer_id)
                customer = {"id": row.id, "name": row.display_name}
                balances = find_past_due(session, customer_id)
                due = balances[0] if balances else None
                since = _conversation_start(tracker)
                attempts = payment_attempts(session, customer_id, since)
            except NotFound:
                customer_id = None
        packet = build_packet(
            customer=customer,
            language=language,
            due=due,
            attempts=attempts,
            tried=tried_in_conversation(tracker),
            reason=reason,
            transcript=transcript(tracker.events),
        )
        return open_ticket(
            session,
            conversation_id=tracker.sender_id,
            customer_id=customer_id,
            language=language,
            reason=reason,
            packet=packet,
        )


class ActionHandoff(BillingAction):
    """The customer asked for a person."""

    def name(self) -> str:
        return "action_handoff"

    async def act(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        return await escalate(dispatcher, tracker, "customer_asked")


def previous_answer_was_fallback(tracker: Tracker) -> bool:
    """Whether the bot's answer to the previous message was also "not understood"."""
    seen_latest_user = False
    for event in reversed(tracker.events):
        kind = event.get("event")
        if kind == "user":
            if seen_latest_user:
                return False
            seen_latest_user = True
        elif kind == "action" and seen_latest_user:
            name = event.get("name")
            if name in ("action_listen", "action_session_start", "action_extract_slots"):
                continue
            # action_default_fallback is Rasa's own, for "no rule or story fits".
            return name in ("action_fallback", "action_default_fallback")
    return False


class ActionFallback(BillingAction):
    """Not understood: asks to rephrase; the second time in a row, a person takes over."""

    def name(self) -> str:
        return "action_fallback"

    async def act(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        if previous_answer_was_fallback(tracker):
            return await escalate(dispatcher, tracker, "not_understood")
        dispatcher.utter_message(response="utter_default")
        return []


# The counters of this conversation start again after a person had it.
RESUME_RESET = (SlotSet("payment_declines", 0.0), SlotSet("expiry_failures", 0.0))
# Without a fresh token there is no account to look at yet; the customer's next
# message (with its token) gets the full answer.
HOW_CAN_I_HELP = Reply(("utter_how_can_i_help",), RESUME_RESET)


class ActionResumeAfterHandoff(BillingAction):
    """The agent handed the conversation back: the bot picks up from the account's state.

    When the agent got the failing card fixed (it is valid again), the bot offers to
    pay with it right away; otherwise it shows what is still open and the options.
    """

    error_replies = {
        **ERROR_REPLIES,
        AuthError: HOW_CAN_I_HELP,
        NotFound: HOW_CAN_I_HELP,
        DatabaseUnavailable: Reply(HOW_CAN_I_HELP.responses, RESUME_RESET, our_fault=True),
        NothingPastDue: Reply(("utter_anything_else",), RESUME_RESET),
    }

    def name(self) -> str:
        return "action_resume_after_handoff"

    async def act(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        dispatcher.utter_message(response="utter_handed_back")
        reset: list[EventType] = [dict(event) for event in RESUME_RESET]
        due = (await self.past_due(tracker, note=False)).oldest
        card = due.failed_card
        if (
            card is not None
            and not card.is_expired(dt.date.today())
            and (due.decline_reason == "expired_card")
        ):
            return [
                *reset,
                SlotSet("save_kind", "card"),
                SlotSet("chosen_card_id", str(card.id)),
                FollowupAction("action_confirm_save"),
            ]
        utter_past_due(dispatcher, due, tracker_language(tracker))
        return reset
