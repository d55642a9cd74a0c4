"""`bot demo seed --history N`: generated past activity, marked, separate and removable."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from bot.billing.settlement import resubmit
from bot.cli.main import main
from bot.db import (
    Agent,
    BillingConversation,
    Customer,
    HandoffTicket,
    NluInboxItem,
    PaymentAttempt,
    session_scope,
)
from bot.insights.history import TABLES, remove_history, seed_history
from bot.insights.metrics import Period, compute
from bot.nlu.inbox import list_items
from bot.ops.demo import DEMO_LEAD_PASSWORD
from bot.support.agents import authenticate

TODAY = dt.date(2026, 11, 30)
YEAR = Period(TODAY - dt.timedelta(days=365), TODAY)


def _counts(engine: Engine) -> dict[str, int]:
    with engine.connect() as connection:
        return {
            model.__tablename__: connection.scalar(select(func.count()).select_from(model))
            for model in TABLES
        }


def test_a_history_is_realistic_marked_and_kept_apart(seeded_engine: Engine) -> None:
    before = _counts(seeded_engine)
    seed_history(seeded_engine, 600, today=TODAY)
    demo = compute(seeded_engine, Period(YEAR.since, YEAR.until, demo=True))
    totals = demo["totals"]
    assert totals["conversations"] == 600
    assert set(demo["by_language"]) == {"en", "lv", "zh"}
    assert all(v["conversations"] > 60 for v in demo["by_language"].values())
    # Every outcome, path, handoff reason and several currencies occur.
    assert min(totals[o] for o in ("contained", "after_handoff", "not_settled")) > 30
    assert min(totals["settling_paths"].values()) > 20
    assert min(demo["handoffs"]["by_reason"].values()) > 5
    assert {r["currency"] for r in totals["recovered"]} == {"CNY", "EUR", "GBP", "USD"}
    assert 1 < totals["median_minutes_to_payment"] < 60
    assert demo["not_understood"]["total"] > 100
    days = {d["day"] for d in demo["by_day"] if d["conversations"]}
    assert len(days) > 150  # spread over the year
    # Real activity never includes it; the queue and the trainers' inbox stay real.
    real = compute(seeded_engine, YEAR)
    assert real["totals"]["conversations"] == 0 and real["handoffs"]["total"] == 0
    with session_scope(seeded_engine) as session:
        assert list_items(session) == []
        open_tickets = select(func.count()).where(HandoffTicket.status.in_(("waiting", "active")))
        assert session.scalar(open_tickets) == 0
        assert session.scalar(select(func.count()).where(BillingConversation.demo.is_(False))) == 0
    # Seeding again replaces it; 0 removes it, and nothing else.
    seed_history(seeded_engine, 200, today=TODAY)
    with session_scope(seeded_engine) as session:
        assert session.scalar(select(func.count()).select_from(BillingConversation)) == 200
    with seeded_engine.begin() as connection:
        assert remove_history(connection) == 200
    assert _counts(seeded_engine) == before


def test_the_database_keeps_working_after_bulk_inserts(seeded_engine: Engine) -> None:
    """PostgreSQL's id sequences must have moved past the generated rows."""
    from bot.billing.accounts import find_past_due
    from bot.billing.payments import SimulatedGateway

    seed_history(seeded_engine, 50, today=TODAY)
    with session_scope(seeded_engine) as session:
        due = find_past_due(session, "cust-lv-owner")[0]
        card = due.other_cards[0].id
    result = resubmit(seeded_engine, SimulatedGateway(), "cust-lv-owner", due.balance_id, card)
    assert result.approved
    with session_scope(seeded_engine) as session:
        attempts = session.scalar(select(func.count()).select_from(PaymentAttempt))
        assert attempts > 50


def test_the_command_seeds_and_removes_it(app_db: Engine, capsys: pytest.CaptureFixture) -> None:
    assert main(["demo", "seed", "--history", "120", "--days", "30"]) == 0
    out = capsys.readouterr().out
    assert "seeded a demo history of 120 conversations over 30 days" in out
    assert "lena (lead)" in out
    with session_scope(app_db) as session:
        lena = session.scalars(select(Agent).where(Agent.username == "lena")).one()
        assert lena.role == "lead"
        assert authenticate(session, "lena", DEMO_LEAD_PASSWORD).username == "lena"
    with session_scope(app_db) as session:
        assert session.scalar(select(func.count()).select_from(BillingConversation)) == 120
        first = session.scalar(select(func.min(BillingConversation.day)))
        assert first >= dt.datetime.now(dt.timezone.utc).date() - dt.timedelta(days=31)
        customers = session.scalar(select(func.count()).select_from(Customer))
        assert customers == 124  # the four demo customers and one per conversation
        texts = session.scalars(select(NluInboxItem.text)).all()
        assert texts and all(
            item.status == "dismissed" for item in session.scalars(select(NluInboxItem))
        )
    assert main(["demo", "seed", "--history", "0"]) == 0
    assert "removed the demo history (120 conversations)" in capsys.readouterr().out
    with session_scope(app_db) as session:
        assert session.scalar(select(func.count()).select_from(Customer)) == 4
