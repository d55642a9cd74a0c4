"""Saying what is past due, why the charge failed, and what the customer can do."""

from __future__ import annotations

from rasa_sdk import Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.base import BillingAction, tracker_language
from bot.billing.accounts import Card, PastDue
from bot.i18n import brand_in_sentence, format_day, format_expiry, format_money

KNOWN_DECLINE_REASONS = ("expired_card", "insufficient_funds", "card_declined")


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


class ActionExplainPastDue(BillingAction):
    """Looks up the signed-in customer's past-due balance and offers the next steps."""

    def name(self) -> str:
        return "action_explain_past_due"

    async def act(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        account = await self.past_due(tracker)
        language = tracker_language(tracker)
        for due in account.balances:
            utter_past_due(dispatcher, due, language)
        return []
