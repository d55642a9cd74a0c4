"""Settling the balance: change the expiry or pick a card, confirm, resubmit.

Database work, the gateway and waiting for a concurrent charge run in a worker
thread (`run_db`): the action server serves every conversation on one event loop.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import EventType, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.base import (
    BillingAction,
    BillingFormValidationAction,
    customer_timezone,
    tracker_language,
)
from actions.billing import card_kwargs, utter_no_payment_yet, utter_options, utter_past_due
from actions.handoff import escalate
from bot.billing.accounts import NOTICE_HOURS, PastDue, change_expiry, get_card
from bot.billing.card_links import issue_link
from bot.billing.expiry import ExpiryError, parse_expiry
from bot.billing.payments import get_gateway
from bot.billing.settlement import Settlement, resubmit
from bot.config import get_settings
from bot.db import app_engine, session_scope
from bot.errors import NotFound
from bot.i18n import brand_name, format_expiry, format_moment, format_money

logger = logging.getLogger(__name__)

MAX_EXPIRY_TRIES = 2
MAX_DECLINES = 2
# Questions answered in the middle of the expiry form, which then asks again.
QUESTIONS_ABOUT_THE_BALANCE = ("payment_declined", "settle_balance", "card_expired")


class ActionStartChangeExpiry(BillingAction):
    """Starts the expiry form for the card's owner; explains the rule to anyone else."""

    def name(self) -> str:
        return "action_start_change_expiry"

    async def act(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        due = (await self.past_due(tracker)).oldest
        card = due.failed_card
        if card is None:
            # No charge failed, so no card needs a new expiry date: say that, not "not yours".
            language = tracker_language(tracker)
            dispatcher.utter_message(
                response="utter_no_failed_card_to_change",
                amount=format_money(due.amount, due.currency, language),
            )
            return []
        if not card.is_owner:
            # Says why not and offers the two allowed options as buttons.
            dispatcher.utter_message(
                response="utter_not_owner_cannot_change_expiry",
                **card_kwargs(card, tracker_language(tracker)),
            )
            return []
        return [
            SlotSet("save_kind", "expiry"),
            SlotSet("new_expiry", None),
            SlotSet("expiry_failures", 0.0),
            FollowupAction("expiry_form"),
        ]


class ValidateExpiryForm(BillingFormValidationAction):
    """Reads the new expiry; answers questions asked instead; gives up after two misses."""

    def name(self) -> str:
        return "validate_expiry_form"

    async def required_slots(
        self,
        domain_slots: list[str],
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> list[str]:
        if (tracker.get_slot("expiry_failures") or 0) >= MAX_EXPIRY_TRIES:
            return []
        return domain_slots

    async def validate_new_expiry(
        self,
        value: Any,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> dict[str, Any]:
        if value is None or not str(value).strip():
            # The form checks slots reset when it starts: nothing was typed yet.
            return {"new_expiry": None}
        try:
            expiry = parse_expiry(str(value), dt.date.today())
        except ExpiryError as error:
            intent = (tracker.latest_message.get("intent") or {}).get("name")
            # A question instead of a date: answered, then the form asks again. Without
            # an account to answer from, run() says why (the error replies).
            if intent in QUESTIONS_ABOUT_THE_BALANCE and error.reason == ExpiryError.NOT_A_DATE:
                due = (await self.past_due(tracker)).oldest
                utter_past_due(dispatcher, due, tracker_language(tracker), with_options=False)
                return {"new_expiry": None}
            if intent == "still_past_due" and error.reason == ExpiryError.NOT_A_DATE:
                due = (await self.past_due(tracker)).oldest
                utter_no_payment_yet(dispatcher, due, tracker_language(tracker))
                return {"new_expiry": None}
            failures = (tracker.get_slot("expiry_failures") or 0) + 1
            dispatcher.utter_message(response=f"utter_expiry_{error.reason}")
            if failures >= MAX_EXPIRY_TRIES:
                dispatcher.utter_message(response="utter_expiry_give_up")
            return {"new_expiry": None, "expiry_failures": float(failures)}
        return {"new_expiry": str(expiry)}


class ActionOfferOtherCards(BillingAction):
    """Lists the customer's other valid cards as buttons."""

    def name(self) -> str:
        return "action_offer_other_cards"

    async def act(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        due = (await self.past_due(tracker)).oldest
        if not due.other_cards:
            dispatcher.utter_message(response="utter_no_other_cards")
            return []
        language = tracker_language(tracker)
        buttons = [
            {
                # No words in the title: brand, digits and date need no translation.
                "title": f"{brand_name(c.brand, language)} •••• {c.last4} "
                f"({format_expiry(c.exp_month, c.exp_year)})",
                "payload": f'/choose_card{{"card_id":"{c.id}"}}',
            }
            for c in due.other_cards
        ]
        amount = format_money(due.amount, due.currency, language)
        dispatcher.utter_message(response="utter_choose_card", buttons=buttons, amount=amount)
        return [SlotSet("save_kind", "card")]


class ActionSendCardForm(BillingAction):
    """Sends a one-time link to the card form: card numbers never go through the chat."""

    def name(self) -> str:
        return "action_send_card_form"

    async def act(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        customer_id = (await self.past_due(tracker)).customer_id
        language = tracker_language(tracker)
        link = await self.run_db(_issue_link, customer_id, tracker.sender_id, language)
        url = f"{get_settings().public_url}/webhooks/cards/form/{link}"
        dispatcher.utter_message(
            response="utter_card_form_link",
            url=url,
            json_message={"card_form": {"url": url, "expires_in_seconds": 900}},
        )
        return [SlotSet("save_kind", "card"), SlotSet("chosen_card_id", None)]


def save_target(customer_id: str, due: PastDue, tracker: Tracker, kind: str | None) -> str | None:
    """What Save would do now: account, balance, card and change, as one string.

    ActionConfirmSave keeps it in the `confirmed_save` slot when it asks; Save
    acts only if it is still the same, so a confirmation never applies to another
    account (a different customer's token) or a balance that changed meanwhile.
    """
    if kind == "expiry" and due.failed_card is not None:
        change = f"expiry:{due.failed_card.id}:{tracker.get_slot('new_expiry')}"
    elif kind == "card":
        change = f"card:{tracker.get_slot('chosen_card_id')}"
    else:
        return None
    return f"{customer_id}|{due.balance_id}|{due.amount}{due.currency}|{change}"


class ActionConfirmSave(BillingAction):
    """Says exactly what Save will do and asks before doing it."""

    def name(self) -> str:
        return "action_confirm_save"

    async def act(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        account = await self.past_due(tracker)
        customer_id, due = account.customer_id, account.oldest
        amount = format_money(due.amount, due.currency, tracker_language(tracker))
        if tracker.get_slot("save_kind") == "expiry":
            new_expiry = tracker.get_slot("new_expiry")
            if not new_expiry or due.failed_card is None:
                utter_options(dispatcher, due)
                return [
                    SlotSet("save_kind", None),
                    SlotSet("expiry_failures", 0.0),
                    SlotSet("confirmed_save", None),
                ]
            dispatcher.utter_message(
                response="utter_confirm_expiry_save",
                new_expiry=new_expiry,
                amount=amount,
                **card_kwargs(due.failed_card, tracker_language(tracker)),
            )
            return [SlotSet("confirmed_save", save_target(customer_id, due, tracker, "expiry"))]
        try:
            card_id = int(tracker.get_slot("chosen_card_id"))
            card = await self.run_db(_card, customer_id, card_id)
        except (NotFound, TypeError, ValueError):
            card = None
        if card is None or card.is_expired(dt.date.today()):
            dispatcher.utter_message(response="utter_card_unavailable")
            utter_options(dispatcher, due)
            # Nothing is waiting for a yes: a "yes" now gets the options again.
            return [
                SlotSet("chosen_card_id", None),
                SlotSet("save_kind", None),
                SlotSet("confirmed_save", None),
            ]
        if (tracker.latest_message.get("intent") or {}).get("name") == "card_added":
            dispatcher.utter_message(
                response="utter_card_added", **card_kwargs(card, tracker_language(tracker))
            )
        dispatcher.utter_message(
            response="utter_confirm_card_save",
            amount=amount,
            **card_kwargs(card, tracker_language(tracker)),
        )
        target = save_target(customer_id, due, tracker, "card")
        return [SlotSet("save_kind", "card"), SlotSet("confirmed_save", target)]


class ActionSaveAndPay(BillingAction):
    """Saves the change and resubmits the payment, once, then says how it went."""

    def name(self) -> str:
        return "action_save_and_pay"

    async def act(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        account = await self.past_due(tracker)
        customer_id, due = account.customer_id, account.oldest
        language = tracker_language(tracker)
        kind = tracker.get_slot("save_kind")
        if tracker.get_slot("confirmed_save") is None:
            # A yes with nothing put to the customer: what they can do, not a payment.
            utter_options(dispatcher, due)
            return [SlotSet("save_kind", None)]
        if kind in ("expiry", "card") and tracker.get_slot("confirmed_save") != save_target(
            customer_id, due, tracker, kind
        ):
            logger.warning("Save for %s no longer matches what was confirmed", tracker.sender_id)
            dispatcher.utter_message(response="utter_confirmation_outdated")
            utter_past_due(dispatcher, due, language)
            return [
                SlotSet("save_kind", None),
                SlotSet("new_expiry", None),
                SlotSet("chosen_card_id", None),
                SlotSet("confirmed_save", None),
            ]
        try:
            if kind == "expiry" and due.failed_card is not None:
                card_id = due.failed_card.id
                expiry = parse_expiry(tracker.get_slot("new_expiry") or "", dt.date.today())
                await self.run_db(_change_expiry, customer_id, card_id, expiry)
            elif kind == "card":
                card_id = int(tracker.get_slot("chosen_card_id"))
            else:
                utter_options(dispatcher, due)
                return []
            result = await self.run_db(
                resubmit,
                app_engine(),
                get_gateway(),
                customer_id,
                due.balance_id,
                card_id,
                conversation_id=tracker.sender_id,
            )
        except (NotFound, ExpiryError, TypeError, ValueError):
            # The card or the date cannot be used (any more): what the customer can
            # do instead. Not the owner, a charge in flight, no database: run() answers.
            dispatcher.utter_message(response="utter_card_unavailable")
            utter_options(dispatcher, due)
            return [SlotSet("save_kind", None)]
        reset = [
            SlotSet("save_kind", None),
            SlotSet("new_expiry", None),
            SlotSet("chosen_card_id", None),
            SlotSet("confirmed_save", None),
        ]
        if result.approved:
            self._utter_approved(dispatcher, result, due, language, customer_timezone(tracker))
            return [*reset, SlotSet("payment_declines", 0.0)]
        declined = await self._utter_declined(dispatcher, tracker, customer_id, result, language)
        return [*reset, *declined]

    @staticmethod
    def _utter_approved(
        dispatcher: CollectingDispatcher,
        result: Settlement,
        due: PastDue,
        language: str,
        timezone: str | None,
    ) -> None:
        dispatcher.utter_message(
            response="utter_payment_approved",
            amount=format_money(result.amount, result.currency, language),
            subscription=due.subscription,
            **card_kwargs(result.card, language),
        )
        contact_after = result.completed_at + dt.timedelta(hours=NOTICE_HOURS)
        dispatcher.utter_message(
            response="utter_notice_may_stay",
            contact_after=format_moment(contact_after, language, timezone),
        )

    async def _utter_declined(
        self,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        customer_id: str,
        result: Settlement,
        language: str,
    ) -> list[EventType]:
        declines = (tracker.get_slot("payment_declines") or 0) + 1
        dispatcher.utter_message(
            response="utter_payment_declined_again",
            amount=format_money(result.amount, result.currency, language),
        )
        balances = await self.open_balances(customer_id)
        if not balances:
            return [SlotSet("payment_declines", float(declines))]
        if declines >= MAX_DECLINES:
            utter_past_due(dispatcher, balances[0], language, with_options=False)
            return [
                SlotSet("payment_declines", float(declines)),
                *(await escalate(dispatcher, tracker, "payments_declined")),
            ]
        else:
            utter_past_due(dispatcher, balances[0], language, with_summary=False)
        return [SlotSet("payment_declines", float(declines))]


def _issue_link(customer_id: str, conversation_id: str, language: str) -> str:
    with session_scope(app_engine()) as session:
        return issue_link(session, customer_id, conversation_id, language)


def _card(customer_id: str, card_id: int) -> Any:
    with session_scope(app_engine()) as session:
        return get_card(session, customer_id, card_id)


def _change_expiry(customer_id: str, card_id: int, expiry: Any) -> None:
    with session_scope(app_engine()) as session:
        change_expiry(session, customer_id, card_id, expiry)
