"""Schema migrations (bot.migrations.runner) on real SQLite files and a fresh PostgreSQL schema.

The database of c722b72 is built by the first migration, not by old code, then
given demo-like rows in every table and the alembic_version dropped, as that
version's `bot db init` left it.
"""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from sqlalchemy import MetaData, Table, inspect, select, text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError

from bot.db import (
    Agent,
    AgentSession,
    BillingConversation,
    PaymentAttempt,
    create_schema,
    make_engine,
    session_scope,
)
from bot.errors import SchemaError
from bot.migrations import runner as migrate
from bot.migrations.runner import (
    VERSION_TABLE,
    Upgrade,
    alembic_config,
    current_revision,
    ensure_current,
    head_revision,
    migration_connection,
    model_differences,
    revision_signatures,
    signature,
    upgrade,
)
from tests.conftest import _postgres_engine

BASE = "0001"  # the schema of c722b72
HEAD = head_revision()
BOT = Path(sys.executable).parent / "bot"
T0 = dt.datetime(2026, 11, 20, 9, 30, tzinfo=dt.timezone.utc)

# Demo-like rows for every table of c722b72, parents first; ids are given by the
# database (1, 2, ... in a fresh one), so that its sequences stay right.
C722B72_ROWS: dict[str, list[dict[str, Any]]] = {
    "customers": [
        {"id": "cust-lv-owner", "display_name": "Līga Kalniņa", "language": "lv"},
        {"id": "cust-zh-nonowner", "display_name": "王伟", "language": "zh"},
    ],
    "subscriptions": [
        {"customer_id": "cust-lv-owner", "product_name": "Microsoft 365 Business Standard",
         "status": "past_due"},
        {"customer_id": "cust-zh-nonowner", "product_name": "Microsoft 365 E3",
         "status": "past_due"},
    ],
    "payment_methods": [
        {"customer_id": "cust-lv-owner", "brand": "Visa", "last4": "4242", "exp_month": 3,
         "exp_year": 2026, "is_owner": True, "gateway_token": "tok_lv_4242", "created_at": T0},
        {"customer_id": "cust-lv-owner", "brand": "Mastercard", "last4": "5454",
         "exp_month": 8, "exp_year": 2029, "is_owner": True, "gateway_token": "tok_lv_5454",
         "created_at": T0},
        {"customer_id": "cust-zh-nonowner", "brand": "Visa", "last4": "1111", "exp_month": 9,
         "exp_year": 2027, "is_owner": False, "gateway_token": "tok_zh_1111", "created_at": T0},
    ],
    "balances": [
        {"reference": "b" * 32, "subscription_id": 1, "amount_minor": 2550, "currency": "EUR",
         "due_date": dt.date(2026, 11, 1), "status": "open"},
        {"reference": "c" * 32, "subscription_id": 2, "amount_minor": 108000,
         "currency": "CNY", "due_date": dt.date(2026, 11, 5), "status": "settled"},
    ],
    "payment_attempts": [
        {"balance_id": 1, "payment_method_id": 1, "idempotency_key": "renewal-1",
         "amount_minor": 2550, "currency": "EUR", "status": "declined",
         "decline_reason": "expired_card", "created_at": T0, "completed_at": T0},
        {"balance_id": 2, "payment_method_id": 3, "idempotency_key": "settle-2",
         "amount_minor": 108000, "currency": "CNY", "status": "approved",
         "decline_reason": None, "created_at": T0, "completed_at": T0},
    ],
    "card_form_links": [
        {"token_hash": "f" * 64, "customer_id": "cust-lv-owner", "sender_id": "conv-lv-1",
         "language": "lv", "created_at": T0, "expires_at": T0 + dt.timedelta(minutes=15),
         "used_at": None, "failed_posts": 1},
    ],
    "agents": [
        {"username": "anna", "display_name": "Anna", "password_hash": "$argon2id$demo",
         "role": "agent", "created_at": T0},
        {"username": "toms", "display_name": "Toms", "password_hash": "$argon2id$demo2",
         "role": "trainer", "created_at": T0},
    ],
    "agent_sessions": [
        {"token_hash": "a" * 64, "agent_id": 1, "csrf_token": "csrf-1", "created_at": T0,
         "expires_at": T0 + dt.timedelta(hours=12)},
    ],
    "handoff_tickets": [
        {"conversation_id": "conv-zh-1", "customer_id": "cust-zh-nonowner", "language": "zh",
         "reason": "customer_asked", "status": "active", "agent_id": 1,
         "packet": {"customer": {"name": "王伟"}, "tried": ["other_card"]},
         "created_at": T0, "claimed_at": T0, "ended_at": None, "last_activity_at": T0},
    ],
    "nlu_inbox": [
        {"conversation_id": "conv-lv-1", "message_id": "m-1",
         "text": "maksajums netika pienemts", "language": "lv",
         "predicted_intent": "payment_declined", "confidence": 0.41,
         "reason": "low_confidence", "status": "open", "labelled_intent": None,
         "created_at": T0, "handled_at": None},
    ],
}  # fmt: skip


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def empty_engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """An empty database: an SQLite file, or a fresh schema of PostgreSQL's `test`."""
    if request.param == "sqlite":
        engine = make_engine(f"sqlite:///{tmp_path / 'migrate.db'}")
        yield engine
        engine.dispose()
    else:
        yield from _postgres_engine()


def insert_rows(connection: Connection, rows: dict[str, list[dict[str, Any]]]) -> None:
    for name, table_rows in rows.items():
        connection.execute(_table(connection, name).insert(), table_rows)


def read_rows(connection: Connection) -> dict[str, list[dict[str, Any]]]:
    """Every row of the bot's tables as the database holds them, in primary-key order."""
    names = set(inspect(connection).get_table_names()) - {VERSION_TABLE}
    rows = {}
    for name in names:
        table = _table(connection, name)
        query = select(table).order_by(*table.primary_key.columns)
        rows[name] = [dict(row) for row in connection.execute(query).mappings()]
    return rows


def _table(connection: Connection, name: str) -> Table:
    return Table(name, MetaData(), autoload_with=connection)


def kept(before: dict[str, list[dict]], after: dict[str, list[dict]], name: str) -> list[dict]:
    """The rows of table `name` after, with only the columns it had before."""
    columns = list(before[name][0])
    return [{column: row[column] for column in columns} for row in after[name]]


def make_c722b72_database(engine: Engine) -> dict[str, list[dict[str, Any]]]:
    """The tables of c722b72 with rows in each, without alembic_version; returns the rows."""
    upgrade(engine, BASE)
    with engine.begin() as connection:
        insert_rows(connection, C722B72_ROWS)
        connection.execute(text(f"DROP TABLE {VERSION_TABLE}"))
    with engine.connect() as connection:
        return read_rows(connection)


def test_a_c722b72_database_is_upgraded_and_every_row_is_found(empty_engine: Engine) -> None:
    before = make_c722b72_database(empty_engine)
    assert set(before) == set(C722B72_ROWS)
    assert all(len(before[name]) == len(rows) for name, rows in C722B72_ROWS.items())

    result = upgrade(empty_engine)

    assert result == Upgrade(found=BASE, stamped=True, applied=("0002", "0003"), now=HEAD)
    with empty_engine.connect() as connection:
        after = read_rows(connection)
        assert current_revision(connection) == HEAD
        assert model_differences(connection) == []
    for name, rows in before.items():
        assert kept(before, after, name) == rows, name
    assert [row["conversation_id"] for row in after["payment_attempts"]] == [None, None]
    assert after["billing_conversations"] == []
    assert after["handoff_tickets"][0]["packet"] == {
        "customer": {"name": "王伟"},
        "tried": ["other_card"],
    }


def test_the_upgraded_database_works_with_todays_models(empty_engine: Engine) -> None:
    make_c722b72_database(empty_engine)
    upgrade(empty_engine)

    with session_scope(empty_engine) as session:
        session.add(
            Agent(username="lena", display_name="Lena", password_hash="x", role="lead")
        )
        session.add(
            BillingConversation(
                conversation_id="conv-lv-2",
                customer_id="cust-lv-owner",
                balance_id=1,
                language="lv",
                started_at=T0,
                day=T0.date(),
            )
        )
        session.add(
            PaymentAttempt(
                balance_id=1,
                payment_method_id=2,
                idempotency_key="settle-1",
                amount_minor=2550,
                currency="EUR",
                status="pending",
                conversation_id="conv-lv-2",
            )
        )
    with session_scope(empty_engine) as session:
        roles = session.scalars(select(Agent.role).order_by(Agent.id)).all()
        assert roles == ["agent", "trainer", "lead"]
        # The session of the agent whose table SQLite copied is still there and his.
        (kept,) = session.scalars(select(AgentSession)).all()
        assert kept.agent.username == "anna"
    # The constraints came along: one live charge per balance, known roles only.
    with pytest.raises(IntegrityError), session_scope(empty_engine) as session:
        session.add(
            PaymentAttempt(
                balance_id=2,
                payment_method_id=3,
                idempotency_key="settle-2-again",
                amount_minor=1,
                currency="CNY",
                status="pending",
            )
        )
    with pytest.raises(IntegrityError), session_scope(empty_engine) as session:
        session.add(Agent(username="boss", display_name="Boss", password_hash="x", role="boss"))


def test_upgrading_twice_changes_nothing(empty_engine: Engine) -> None:
    make_c722b72_database(empty_engine)
    upgrade(empty_engine)
    with empty_engine.connect() as connection:
        rows, shape = read_rows(connection), signature(connection)

    again = upgrade(empty_engine)

    assert again == Upgrade(found=HEAD, stamped=False, applied=(), now=HEAD)
    assert again.summary().endswith("up to date")
    with empty_engine.connect() as connection:
        assert read_rows(connection) == rows
        assert signature(connection) == shape
        versions = connection.execute(text(f"SELECT version_num FROM {VERSION_TABLE}"))
        assert versions.scalars().all() == [HEAD]


def test_an_empty_database_is_upgraded_to_todays_schema(empty_engine: Engine) -> None:
    result = upgrade(empty_engine)

    assert result == Upgrade(found=None, stamped=False, applied=("0001", "0002", "0003"), now=HEAD)
    with empty_engine.connect() as connection:
        assert model_differences(connection) == []
        assert current_revision(connection) == HEAD


@pytest.mark.parametrize(
    ("made_as", "applied"), [("today", ()), ("0002", ("0003",)), ("0001", ("0002", "0003"))]
)
def test_a_database_without_alembic_version_is_stamped_with_the_revision_it_matches(
    empty_engine: Engine, made_as: str, applied: tuple[str, ...]
) -> None:
    if made_as == "today":
        create_schema(empty_engine)  # what `bot db init` of 047eb37 to now made
    else:
        upgrade(empty_engine, made_as)
        with empty_engine.begin() as connection:
            connection.execute(text(f"DROP TABLE {VERSION_TABLE}"))
    found = HEAD if made_as == "today" else made_as

    assert upgrade(empty_engine) == Upgrade(found=found, stamped=True, applied=applied, now=HEAD)
    with empty_engine.connect() as connection:
        assert model_differences(connection) == []


def test_every_revision_has_its_own_tables() -> None:
    shapes = [shape for _, shape in revision_signatures()]
    assert [revision for revision, _ in revision_signatures()] == ["0001", "0002", "0003"]
    assert all(a != b for i, a in enumerate(shapes) for b in shapes[i + 1 :])


def test_tables_that_match_no_revision_are_refused_and_left_alone(empty_engine: Engine) -> None:
    upgrade(empty_engine, BASE)
    with empty_engine.begin() as connection:
        connection.execute(text(f"DROP TABLE {VERSION_TABLE}"))
        # Half-way: a newer table added by create_all, the older tables not changed.
        BillingConversation.__table__.create(connection)
        shape = signature(connection)

    with pytest.raises(SchemaError) as refused:
        upgrade(empty_engine)

    message = str(refused.value)
    assert "left as it is" in message and "Closest: 0001" in message
    assert "table billing_conversations is extra" in message
    with empty_engine.connect() as connection:
        assert signature(connection) == shape
        assert current_revision(connection) is None


def test_a_revision_of_a_newer_version_is_refused(empty_engine: Engine) -> None:
    upgrade(empty_engine)
    with empty_engine.begin() as connection:
        connection.execute(text(f"UPDATE {VERSION_TABLE} SET version_num = '0099'"))

    with pytest.raises(SchemaError, match="0099, which this version of the bot does not know"):
        upgrade(empty_engine)


def test_tables_that_are_not_the_bots_are_left_alone(empty_engine: Engine) -> None:
    # Rasa's tracker store may share the database (production mode's default).
    with empty_engine.begin() as connection:
        connection.execute(text("CREATE TABLE events (id INTEGER PRIMARY KEY, data TEXT)"))
        connection.execute(text("INSERT INTO events (id, data) VALUES (1, '{}')"))

    assert upgrade(empty_engine).found is None
    with empty_engine.connect() as connection:
        assert connection.execute(text("SELECT data FROM events")).scalar() == "{}"
        assert model_differences(connection) == []


def test_commands_give_an_empty_database_the_schema_and_refuse_an_older_one(
    empty_engine: Engine,
) -> None:
    make_c722b72_database(empty_engine)
    with pytest.raises(SchemaError, match="run `bot db upgrade`"):
        ensure_current(empty_engine)
    with empty_engine.connect() as connection:
        assert current_revision(connection) is None  # not even stamped

    with empty_engine.begin() as connection:
        for name in reversed(list(C722B72_ROWS)):
            connection.execute(text(f"DROP TABLE {name}"))
    ensure_current(empty_engine)
    with empty_engine.connect() as connection:
        assert current_revision(connection) == HEAD


def test_two_upgrades_at_once_upgrade_once(empty_engine: Engine) -> None:
    other = make_engine(str(empty_engine.url)) if empty_engine.dialect.name == "sqlite" else None
    engines = [empty_engine, other or empty_engine]
    try:
        with ThreadPoolExecutor(2) as pool:
            results = list(pool.map(upgrade, engines))
    finally:
        if other is not None:
            other.dispose()
    assert sorted(len(result.applied) for result in results) == [0, 3]
    with empty_engine.connect() as connection:
        assert model_differences(connection) == []


def test_the_chain_goes_back_to_c722b72_and_up_again(empty_engine: Engine) -> None:
    upgrade(empty_engine)
    with migration_connection(empty_engine) as connection:
        command.downgrade(alembic_config(connection), BASE)
    with empty_engine.connect() as connection:
        assert signature(connection) == revision_signatures()[0][1]
    assert upgrade(empty_engine).applied == ("0002", "0003")


def _bot(*args: str) -> subprocess.CompletedProcess[str]:
    """The `bot` command as installed, on the test's DATABASE_URL."""
    return subprocess.run(
        [str(BOT), *args], env=dict(os.environ), capture_output=True, text=True, timeout=300
    )


def test_bot_db_init_upgrades_the_old_demo_database_and_make_db_then_seeds_it() -> None:
    from bot.db import app_engine

    before = make_c722b72_database(app_engine())

    # What `make db` of older versions ran: the flag is accepted and deletes nothing.
    done = _bot("db", "init", "--recreate-outdated-demo")
    assert done.returncode == 0, done.stderr
    assert "no alembic_version, the tables of 0001 (the schema of c722b72" in done.stdout
    assert "stamped" in done.stdout
    assert "applied 0002, 0003; now at 0003" in done.stdout
    with app_engine().connect() as connection:
        after = read_rows(connection)
    assert all(kept(before, after, name) == rows for name, rows in before.items())
    again = _bot("db", "upgrade")
    assert again.returncode == 0 and again.stdout.rstrip().endswith("up to date")
    assert _bot("demo", "seed").returncode == 0
    assert migrate.main(["check"]) == 0  # Alembic's own check, through env.py
