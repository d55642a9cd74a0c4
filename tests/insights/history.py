"""Hand-built histories for the insights tests: every row written out, answers known."""

from __future__ import annotations

import datetime as dt
import uuid
from itertools import count

from sqlalchemy.orm import Session

from bot.db import (
    Balance,
    BillingConversation,
    CardFormLink,
    Customer,
    HandoffTicket,
    NluInboxItem,
    PaymentAttempt,
    PaymentMethod,
    Subscription,
)

UTC = dt.timezone.utc
_numbers = count(1)


def at(day: int, hour: int, minute: int = 0, month: int = 11) -> dt.datetime:
    """A moment in 2026, in UTC."""
    return dt.datetime(2026, month, day, hour, minute, tzinfo=UTC)


class Customer_:
    """One customer with a past-due balance, and what happened in their conversations."""

    def __init__(self, session: Session, language: str, amount_minor: int, currency: str) -> None:
        self.session = session
        self.id = f"cust-{next(_numbers)}-{language}"
        self.language = language
        session.add(Customer(id=self.id, display_name=self.id, language=language))
        subscription = Subscription(customer_id=self.id, product_name="M365", status="past_due")
        session.add(subscription)
        session.flush()
        self.balance = Balance(
            subscription_id=subscription.id,
            amount_minor=amount_minor,
            currency=currency,
            due_date=dt.date(2026, 10, 1),
            status="open",
        )
        session.add(self.balance)
        self.failing = self.card(at(1, 0, month=1))
        session.flush()

    def card(self, created_at: dt.datetime) -> PaymentMethod:
        method = PaymentMethod(
            customer_id=self.id,
            brand="Visa",
            last4="4242",
            exp_month=12,
            exp_year=2030,
            is_owner=True,
            gateway_token=f"tok_{uuid.uuid4().hex}",
            created_at=created_at,
        )
        self.session.add(method)
        self.session.flush()
        return method

    def attempt(
        self,
        method: PaymentMethod,
        status: str,
        created_at: dt.datetime,
        reason: str | None = None,
        conversation: str | None = None,
        minutes: int = 0,
    ) -> None:
        self.session.add(
            PaymentAttempt(
                balance_id=self.balance.id,
                payment_method_id=method.id,
                idempotency_key=uuid.uuid4().hex,
                amount_minor=self.balance.amount_minor,
                currency=self.balance.currency,
                status=status,
                decline_reason=reason,
                created_at=created_at,
                completed_at=created_at + dt.timedelta(minutes=minutes),
                conversation_id=conversation,
            )
        )
        if status == "approved":
            self.balance.status = "settled"
        self.session.flush()

    def renewal_declined(self, reason: str, when: dt.datetime) -> None:
        self.attempt(self.failing, "declined", when, reason)

    def conversation(self, started_at: dt.datetime, demo: bool = False) -> str:
        conversation_id = f"{'demo-history-' if demo else ''}conv-{next(_numbers)}"
        self.session.add(
            BillingConversation(
                conversation_id=conversation_id,
                customer_id=self.id,
                balance_id=self.balance.id,
                language=self.language,
                started_at=started_at,
                day=started_at.date(),
                demo=demo,
            )
        )
        self.session.flush()
        return conversation_id

    def ticket(
        self,
        conversation: str,
        reason: str,
        created_at: dt.datetime,
        claimed_after: int | None = None,
        closed_after: int | None = None,
    ) -> None:
        claimed = created_at + dt.timedelta(minutes=claimed_after) if claimed_after else None
        ended = created_at + dt.timedelta(minutes=closed_after) if closed_after else None
        status = "handed_back" if ended else ("active" if claimed else "waiting")
        self.session.add(
            HandoffTicket(
                conversation_id=conversation,
                customer_id=self.id,
                language=self.language,
                reason=reason,
                status=status,
                packet={},
                created_at=created_at,
                claimed_at=claimed,
                ended_at=ended,
                last_activity_at=ended or claimed or created_at,
            )
        )
        self.session.flush()

    def card_form(self, conversation: str, created_at: dt.datetime) -> None:
        self.session.add(
            CardFormLink(
                token_hash=uuid.uuid4().hex,
                customer_id=self.id,
                sender_id=conversation,
                language=self.language,
                created_at=created_at,
                expires_at=created_at + dt.timedelta(minutes=15),
                used_at=created_at + dt.timedelta(minutes=2),
            )
        )
        self.session.flush()


def not_understood(
    session: Session,
    text: str,
    language: str,
    reason: str,
    created_at: dt.datetime,
    conversation: str = "conv-nlu",
) -> None:
    session.add(
        NluInboxItem(
            conversation_id=conversation,
            message_id=uuid.uuid4().hex,
            text=text,
            language=language,
            predicted_intent="nlu_fallback" if reason == "fallback" else "greet",
            confidence=0.3,
            reason=reason,
            created_at=created_at,
        )
    )
    session.flush()


def build_known_history(session: Session) -> None:
    """Five real conversations from 1 to 3 November 2026, and noise around them.

    1. lv, 25.50 EUR, renewal declined (expired_card); the customer changes the expiry
       date and pays 12 minutes after the first message: contained, new expiry.
    2. zh, 1080.00 CNY, renewal declined (insufficient_funds); a retry on the same card
       is declined again, a person takes over (claimed after 10 min, handed back after
       34), then the customer pays with another card 45 minutes in: after handoff.
    3. en, 6.00 USD, renewal declined (expired_card); starts 23:50 on 1 November, a new
       card through the card form, paid at 00:15 on the 2nd: contained, new card,
       counted on the 1st.
    4. en, 40.00 USD, renewal declined (card_declined); asks for a person, nobody has
       claimed yet: not settled, one waiting ticket.
    5. en, 10.00 GBP, renewal declined (card_declined); pays with another card 30
       minutes in: contained, other card.
    """
    lv = Customer_(session, "lv", 2550, "EUR")
    lv.renewal_declined("expired_card", at(31, 6, month=10))
    c1 = lv.conversation(at(1, 10))
    lv.attempt(lv.failing, "approved", at(1, 10, 11), conversation=c1, minutes=1)

    zh = Customer_(session, "zh", 108000, "CNY")
    zh.renewal_declined("insufficient_funds", at(30, 6, month=10))
    other = zh.card(at(1, 0, month=6))
    c2 = zh.conversation(at(1, 9))
    zh.attempt(zh.failing, "declined", at(1, 9, 5), "insufficient_funds", conversation=c2)
    zh.ticket(c2, "payments_declined", at(1, 9, 6), claimed_after=10, closed_after=34)
    zh.attempt(other, "approved", at(1, 9, 45), conversation=c2)

    midnight = Customer_(session, "en", 600, "USD")
    midnight.renewal_declined("expired_card", at(20, 6, month=10))
    c3 = midnight.conversation(at(1, 23, 50))
    midnight.card_form(c3, at(1, 23, 55))
    new_card = midnight.card(at(1, 23, 58))
    midnight.attempt(new_card, "approved", at(2, 0, 14), conversation=c3, minutes=1)

    gone = Customer_(session, "en", 4000, "USD")
    gone.renewal_declined("card_declined", at(1, 6))
    c4 = gone.conversation(at(2, 12))
    gone.ticket(c4, "customer_asked", at(2, 12, 3))

    gbp = Customer_(session, "en", 1000, "GBP")
    gbp.renewal_declined("card_declined", at(2, 6))
    spare = gbp.card(at(1, 0, month=3))
    c5 = gbp.conversation(at(3, 8))
    gbp.attempt(spare, "approved", at(3, 8, 30), conversation=c5)

    # Outside the period: a settled conversation on 31 October.
    before = Customer_(session, "lv", 999, "EUR")
    before.renewal_declined("expired_card", at(29, 6, month=10))
    c0 = before.conversation(at(31, 20, month=10))
    before.attempt(before.failing, "approved", at(31, 20, 5, month=10), conversation=c0)
    before.ticket(c0, "not_understood", at(31, 20, 1, month=10), claimed_after=2, closed_after=3)

    # Demo history in the period: never counted with the real conversations.
    demo = Customer_(session, "zh", 5000, "CNY")
    demo.renewal_declined("card_declined", at(1, 1))
    c6 = demo.conversation(at(2, 9), demo=True)
    demo.attempt(demo.failing, "approved", at(2, 9, 3), conversation=c6)
    demo.ticket(c6, "customer_asked", at(2, 9, 1), claimed_after=1, closed_after=2)

    not_understood(session, "kas ar to?", "lv", "fallback", at(1, 10, 1))
    not_understood(session, "kas ar to?", "lv", "low_confidence", at(2, 11))
    not_understood(session, "KAS  AR TO?", "lv", "fallback", at(3, 12))  # the same words
    not_understood(session, "账户", "zh", "low_confidence", at(3, 7))
    not_understood(session, "hmm", "en", "fallback", at(2, 23, 59))
    not_understood(session, "gribu cilvēku", "lv", "handoff", at(2, 10))  # not a failure
    not_understood(session, "kas ar to?", "lv", "fallback", at(4, 0, 1))  # after the period
    not_understood(
        session, "blah", "en", "fallback", at(2, 9, 2), conversation="demo-history-conv-x"
    )
