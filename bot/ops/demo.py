"""The demo customers of PRODUCT.md; seeding twice restores exactly this state."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.billing.accounts import to_minor
from bot.db import (
    Agent,
    Balance,
    Customer,
    PaymentAttempt,
    PaymentMethod,
    Subscription,
    customer_deletes,
)


@dataclass(frozen=True)
class DemoCard:
    brand: str
    last4: str
    exp_month: int
    exp_year: int
    is_owner: bool
    token: str


@dataclass(frozen=True)
class DemoCustomer:
    id: str
    display_name: str
    language: str
    product: str
    cards: tuple[DemoCard, ...]
    # The balance, due date and decline reason of the charge that failed on cards[0].
    past_due: tuple[Decimal, str, dt.date, str] | None = None


DEMO_CUSTOMERS: tuple[DemoCustomer, ...] = (
    DemoCustomer(
        id="cust-lv-owner",
        display_name="Līga Kalniņa",
        language="lv",
        product="Microsoft 365 Business Standard",
        cards=(
            DemoCard("Visa", "4242", 3, 2026, True, "tok_sim_approve_demo_lv_4242"),
            DemoCard("Mastercard", "5454", 8, 2029, True, "tok_sim_approve_demo_lv_5454"),
        ),
        past_due=(Decimal("25.50"), "EUR", dt.date(2026, 11, 1), "expired_card"),
    ),
    DemoCustomer(
        id="cust-zh-nonowner",
        display_name="王伟",
        language="zh",
        product="Microsoft 365 E3",
        cards=(
            DemoCard("Visa", "1111", 9, 2027, False, "tok_sim_insufficient_funds_demo_zh_1111"),
            DemoCard("UnionPay", "0005", 11, 2028, True, "tok_sim_approve_demo_zh_0005"),
        ),
        past_due=(Decimal("1080.00"), "CNY", dt.date(2026, 11, 5), "insufficient_funds"),
    ),
    DemoCustomer(
        id="cust-en-owner",
        display_name="Alex Morgan",
        language="en",
        product="Microsoft 365 Business Basic",
        cards=(
            DemoCard("American Express", "8431", 1, 2026, True, "tok_sim_approve_demo_en_8431"),
        ),
        past_due=(Decimal("6.00"), "USD", dt.date(2026, 11, 10), "expired_card"),
    ),
    DemoCustomer(
        id="cust-en-current",
        display_name="Jamie Lee",
        language="en",
        product="Microsoft 365 Apps for business",
        cards=(DemoCard("Visa", "4242", 5, 2028, True, "tok_sim_approve_demo_en_current_4242"),),
    ),
)

DEMO_CUSTOMER_IDS = tuple(c.id for c in DEMO_CUSTOMERS)


def _delete_demo_rows(session: Session) -> None:
    for statement in customer_deletes(DEMO_CUSTOMER_IDS):
        session.execute(statement, execution_options={"synchronize_session": False})


def seed_demo(session: Session) -> None:
    """Replaces whatever the demo customers have with the state in PRODUCT.md."""
    _delete_demo_rows(session)
    session.flush()
    for demo in DEMO_CUSTOMERS:
        add_customer(session, demo)


def add_customer(session: Session, demo: DemoCustomer) -> None:
    """Adds one customer with cards, a subscription and, if any, its declined renewal."""
    session.add(Customer(id=demo.id, display_name=demo.display_name, language=demo.language))
    methods = [
        PaymentMethod(
            customer_id=demo.id,
            brand=card.brand,
            last4=card.last4,
            exp_month=card.exp_month,
            exp_year=card.exp_year,
            is_owner=card.is_owner,
            gateway_token=card.token,
        )
        for card in demo.cards
    ]
    session.add_all(methods)
    subscription = Subscription(
        customer_id=demo.id,
        product_name=demo.product,
        status="past_due" if demo.past_due else "active",
    )
    session.add(subscription)
    session.flush()
    if demo.past_due is None:
        return
    amount, currency, due_date, reason = demo.past_due
    balance = Balance(
        subscription_id=subscription.id,
        amount_minor=to_minor(amount, currency),
        currency=currency,
        due_date=due_date,
        status="open",
    )
    session.add(balance)
    session.flush()
    session.add(
        PaymentAttempt(
            balance_id=balance.id,
            payment_method_id=methods[0].id,
            idempotency_key=f"demo-renewal-{demo.id}",
            amount_minor=balance.amount_minor,
            currency=currency,
            status="declined",
            decline_reason=reason,
            created_at=dt.datetime.combine(due_date, dt.time(6, 0), tzinfo=dt.timezone.utc),
        )
    )


# The console's demo accounts (development only: `bot demo seed` skips them in production,
# and there their passwords never sign in):
# username, shown name, password, role.
DEMO_AGENTS = (
    ("anna", "Anna", "demo-agent-pass", "agent"),
    ("toms", "Toms", "demo-trainer-pass", "trainer"),
    ("lena", "Lena", "demo-lead-pass", "lead"),
)
DEMO_AGENT_USERNAME, _, DEMO_AGENT_PASSWORD, _ = DEMO_AGENTS[0]
DEMO_TRAINER_USERNAME, _, DEMO_TRAINER_PASSWORD, _ = DEMO_AGENTS[1]
DEMO_LEAD_USERNAME, _, DEMO_LEAD_PASSWORD, _ = DEMO_AGENTS[2]


def seed_demo_agents(session: Session) -> list[str]:
    """Creates the demo agent, trainer and lead where missing; returns who was created.

    An existing account is left as it is: seeding never changes a password (an
    operator may have made "anna" a real account).
    """
    from bot.support.agents import add_agent

    created = []
    for username, name, password, role in DEMO_AGENTS:
        if session.scalars(select(Agent).where(Agent.username == username)).first() is None:
            add_agent(session, username, password, name, role)
            created.append(username)
    return created


def accounts_with_demo_passwords(session: Session) -> list[str]:
    """Console accounts that still sign in with a published demo password."""
    from argon2 import PasswordHasher
    from argon2.exceptions import InvalidHashError, VerificationError

    hasher = PasswordHasher()
    found = []
    for username, _, password, _ in DEMO_AGENTS:
        agent = session.scalars(select(Agent).where(Agent.username == username)).first()
        if agent is None:
            continue
        try:
            hasher.verify(agent.password_hash, password)
        except (VerificationError, InvalidHashError):
            continue
        found.append(username)
    return found
