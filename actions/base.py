"""What every custom action stands on: the signed-in customer, their past-due
balances, database work off the event loop, and one answer per expected error.

An action's logic (`act`, or a form's `validate_<slot>`) raises the errors it
expects (bot.errors and the domain's BotErrors) instead of answering them itself;
`run` answers each with the responses that ERROR_REPLIES names for it, so a
failure gets the same words in every action. An action whose answer to a failure
differs (the past-due notice, the hand-back) overrides entries of its
`error_replies`, not the mechanism.

Any other exception (a bug, a raw SQLAlchemyError that did not go through
`run_db`, a BotError no reply names) is not answered here: it leaves `run`, the
action server logs it with its traceback and answers Rasa with a 500, and Rasa
answers the customer with utter_technical_problem (bot.rasa_plugins.resilience).
What the action had said before it failed is not sent.

rasa_sdk registers every imported subclass of Action that is not abstract
(`ActionExecutor.register_package`): BillingAction and BillingFormValidationAction
keep `name` abstract, so neither registers under a name.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, TypeVar

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.forms import REQUESTED_SLOT
from rasa_sdk.types import DomainDict
from sqlalchemy.exc import SQLAlchemyError

from bot.billing.accounts import NotCardOwner, PastDue, find_past_due
from bot.billing.payments import IdempotencyKeyReused
from bot.billing.settlement import ChargeInProgress
from bot.config import get_settings
from bot.db import app_engine, session_scope
from bot.errors import AuthError, BotError, DatabaseUnavailable, NotFound, NothingPastDue
from bot.i18n import resolve_language, valid_timezone
from bot.insights.ledger import note_billing_conversation
from bot.security.auth import customer_from_metadata

logger = logging.getLogger(__name__)

T = TypeVar("T")


@dataclass(frozen=True)
class Reply:
    """The answer to an expected error: responses by name, then the action's events.

    `our_fault` marks a failure on our side (the database, a bug caught by the
    payment gateway): it is logged with its traceback, the others in one line.
    """

    responses: tuple[str, ...]
    events: tuple[EventType, ...] = ()
    our_fault: bool = False


NO_ACCOUNT = Reply(("utter_no_account_access", "utter_settle_procedure"))
BILLING_UNAVAILABLE = Reply(("utter_billing_unavailable",), our_fault=True)

ERROR_REPLIES: Mapping[type[BotError], Reply] = {
    AuthError: NO_ACCOUNT,  # no valid customer token came with the message
    NotFound: NO_ACCOUNT,  # the token names a customer we do not have
    NothingPastDue: Reply(("utter_nothing_past_due",)),
    # Only the card's owner may change its expiry: what they may do instead,
    # and nothing left waiting to be saved.
    NotCardOwner: Reply(("utter_settle_options_nonowner",), (SlotSet("save_kind", None),)),
    ChargeInProgress: Reply(("utter_payment_in_progress",)),
    DatabaseUnavailable: BILLING_UNAVAILABLE,
    IdempotencyKeyReused: BILLING_UNAVAILABLE,
}


@dataclass(frozen=True)
class PastDueAccount:
    """The signed-in customer and their open balances, the oldest due first (never empty)."""

    customer_id: str
    balances: list[PastDue]

    @property
    def oldest(self) -> PastDue:
        return self.balances[0]


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


def first_message_at(tracker: Tracker) -> dt.datetime:
    """When the customer wrote first in this conversation (now, if the tracker has none)."""
    for event in tracker.events:
        stamp = event.get("timestamp")
        if event.get("event") == "user" and isinstance(stamp, (int, float)):
            return dt.datetime.fromtimestamp(stamp, dt.timezone.utc)
    return dt.datetime.now(dt.timezone.utc)


def signed_in_customer(tracker: Tracker) -> str:
    """The customer the channel verified for the latest message (bot.security.auth).

    Raises:
        AuthError: no valid token came with the message.
    """
    metadata = (tracker.latest_message or {}).get("metadata")
    return customer_from_metadata(metadata, tracker.sender_id, get_settings().auth_secret)


async def run_db(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Runs database work in a worker thread: the action server serves every
    conversation on one event loop.

    Raises:
        DatabaseUnavailable: the work failed in SQLAlchemy (the cause is chained).
    """
    try:
        return await asyncio.to_thread(fn, *args, **kwargs)
    except SQLAlchemyError as error:
        raise DatabaseUnavailable(f"{getattr(fn, '__name__', fn)}: {error}") from error


def open_balances_of(customer_id: str) -> list[PastDue]:
    """The customer's open balances, the oldest due first (in a worker thread)."""
    with session_scope(app_engine()) as session:
        return find_past_due(session, customer_id)


def _note_billing(tracker: Tracker, customer_id: str, balances: list[PastDue]) -> None:
    with session_scope(app_engine()) as session:
        note_billing_conversation(
            session,
            conversation_id=tracker.sender_id,
            customer_id=customer_id,
            balance_ids=[due.balance_id for due in balances],
            language=tracker_language(tracker),
            started_at=first_message_at(tracker),
        )


class BillingContext(ABC):
    """The lookups and the error answers that actions and form validations share."""

    error_replies: ClassVar[Mapping[type[BotError], Reply]] = ERROR_REPLIES

    signed_in_customer = staticmethod(signed_in_customer)
    run_db = staticmethod(run_db)

    async def open_balances(self, customer_id: str) -> list[PastDue]:
        """The customer's open balances, oldest first; empty when paid up.

        Raises:
            NotFound: no such customer.
            DatabaseUnavailable: the lookup failed.
        """
        return await run_db(open_balances_of, customer_id)

    async def past_due(self, tracker: Tracker, *, note: bool = True) -> PastDueAccount:
        """The signed-in customer and their open balances.

        With `note`, the conversation counts in the insights as one about these
        balances (bot.insights.ledger); a failure to note it never reaches the customer.

        Raises:
            AuthError: no valid token came with the latest message.
            NotFound: the token's customer does not exist.
            DatabaseUnavailable: the lookup failed.
            NothingPastDue: the customer has no open balance.
        """
        customer_id = signed_in_customer(tracker)
        balances = await self.open_balances(customer_id)
        if not balances:
            raise NothingPastDue(customer_id)
        if note:
            try:
                await run_db(_note_billing, tracker, customer_id, balances)
            except DatabaseUnavailable:
                logger.exception("could not note the billing conversation %s", tracker.sender_id)
        return PastDueAccount(customer_id, balances)

    def reply_for(self, error: BaseException) -> Reply | None:
        """The reply this action gives to `error`: its closest class's in `error_replies`."""
        for cls in type(error).__mro__:
            reply = self.error_replies.get(cls)
            if reply is not None:
                return reply
        return None

    def answer(
        self, reply: Reply, error: BotError, dispatcher: CollectingDispatcher, tracker: Tracker
    ) -> list[EventType]:
        """Says the reply's responses and returns (a copy of) its events."""
        if reply.our_fault:
            logger.error("%s failed for %s", self.name(), tracker.sender_id, exc_info=error)
        else:
            logger.info(
                "%s for %s: %s: %s", self.name(), tracker.sender_id, type(error).__name__, error
            )
        for response in reply.responses:
            dispatcher.utter_message(response=response)
        return [dict(event) for event in reply.events]

    @abstractmethod
    def name(self) -> str:
        """The action's name in domain.yml."""


class BillingAction(BillingContext, Action, ABC):
    """A custom action: `act` holds its logic; `run` answers the errors it expects."""

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        try:
            return await self.act(dispatcher, tracker, domain)
        except BotError as error:
            reply = self.reply_for(error)
            if reply is None:
                raise
            return self.answer(reply, error, dispatcher, tracker)

    @abstractmethod
    async def act(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        """What the action does; raises the expected errors rather than answering them."""


class BillingFormValidationAction(BillingContext, FormValidationAction, ABC):
    """A form's validation with the same lookups and the same answers to expected errors.

    An expected error while validating is answered with its reply, and the value
    the form asked for (`requested_slot`) is rejected, so the form asks for it again.
    """

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        try:
            return await super().run(dispatcher, tracker, domain)
        except BotError as error:
            reply = self.reply_for(error)
            if reply is None:
                raise
            events = self.answer(reply, error, dispatcher, tracker)
            requested = tracker.get_slot(REQUESTED_SLOT)
            return [*events, SlotSet(requested, None)] if requested else events
