"""Paid, but the past-due notice is still shown: when it should go, or who to ask."""

from __future__ import annotations

import datetime as dt
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.base import (
    ERROR_REPLIES,
    BillingAction,
    Reply,
    customer_timezone,
    tracker_language,
)
from actions.billing import utter_no_payment_yet
from bot.billing.accounts import NOTICE_HOURS, find_past_due, last_payment
from bot.db import app_engine, session_scope
from bot.errors import AuthError, DatabaseUnavailable, NotFound, NothingPastDue
from bot.i18n import format_moment, format_money

# Without an account to look at, the general answer about the notice still helps.
GENERAL_ANSWER = Reply(("utter_still_past_due",))


class ActionExplainNotice(BillingAction):
    """The 48-hour note, with the customer's own payment time when the bot knows it.

    With the balance still open the bot has no payment for it: it says so, that a
    payment made another way can take up to 48 hours to show, and offers to pay
    now or a person.
    """

    error_replies = {
        **ERROR_REPLIES,
        AuthError: GENERAL_ANSWER,
        NotFound: GENERAL_ANSWER,
        DatabaseUnavailable: Reply(GENERAL_ANSWER.responses, our_fault=True),
        NothingPastDue: Reply(("utter_nothing_past_due", *GENERAL_ANSWER.responses)),
    }

    def name(self) -> str:
        return "action_explain_notice"

    async def act(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        language = tracker_language(tracker)
        customer_id = self.signed_in_customer(tracker)
        payment, open_balances = await self.run_db(_payment_and_balances, customer_id)
        if open_balances:
            # The bot sees the balance as unpaid: say so, and how a payment made
            # elsewhere shows up, rather than ask them to wait.
            utter_no_payment_yet(dispatcher, open_balances[0], language)
            return []
        if payment is None:
            raise NothingPastDue(customer_id)
        notice_until = payment.completed_at + dt.timedelta(hours=NOTICE_HOURS)
        zone = customer_timezone(tracker)
        facts = {
            "amount": format_money(payment.amount, payment.currency, language),
            "paid_at": format_moment(payment.completed_at, language, zone),
            "notice_until": format_moment(notice_until, language, zone),
        }
        if dt.datetime.now(dt.timezone.utc) < notice_until:
            dispatcher.utter_message(response="utter_still_past_due_recent", **facts)
        else:
            dispatcher.utter_message(response="utter_still_past_due_after_48h", **facts)
        return []


def _payment_and_balances(customer_id: str) -> tuple[Any, list[Any]]:
    with session_scope(app_engine()) as session:
        return last_payment(session, customer_id), find_past_due(session, customer_id)
