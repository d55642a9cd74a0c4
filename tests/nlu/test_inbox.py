"""The NLU inbox: what the event broker keeps, and labelling or dismissing it."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import event as sa_event
from sqlalchemy import select
from sqlalchemy.engine import Engine

from bot.cli.main import main
from bot.db import Agent, session_scope
from bot.nlu.inbox import item_view, list_items
from bot.ops.demo import seed_demo as seed_demo_session
from bot.rasa_plugins.broker import InboxEventBroker
from bot.support import handoff
from bot.support.agents import add_agent


def _user(
    sender: str,
    text: str,
    intent: str,
    confidence: float,
    message_id: str,
    language: str | None = "lv",
) -> dict:
    entities = [{"entity": "language", "value": language}] if language else []
    return {
        "sender_id": sender,
        "event": "user",
        "text": text,
        "message_id": message_id,
        "parse_data": {"intent": {"name": intent, "confidence": confidence}, "entities": entities},
    }


def seed_demo(engine: Engine) -> None:
    with session_scope(engine) as session:
        seed_demo_session(session)


def _items(engine: Engine) -> list[dict]:
    with session_scope(engine) as session:
        return [item_view(i) for i in list_items(session, include_done=True)]


def _play(
    broker: InboxEventBroker, *turns: list[dict] | Callable[[], object], times: int = 1
) -> None:
    """Publishes each turn's events together, as Rasa does after a turn, in an event loop.

    A callable between turns is a change to the database (a ticket opened or ended)
    made before the next turn, as the action server or the console would make it.
    `times` publishes each turn's events that many times over.
    """

    async def play() -> None:
        for turn in turns:
            if callable(turn):
                await asyncio.to_thread(turn)
                continue
            for published in turn * times:
                broker.publish(published)
            await broker.close()

    asyncio.run(play())


def _open_ticket(engine: Engine, conversation: str) -> Callable[[], object]:
    """What the escalation action does before its turn's pause is published."""

    def open_it() -> object:
        with session_scope(engine) as session:
            return handoff.open_ticket(
                session,
                conversation_id=conversation,
                customer_id=None,
                language="lv",
                reason="customer_asked",
                packet={"customer": None, "transcript": []},
            ).ticket_id

    return open_it


def _end_ticket(engine: Engine, conversation: str, status: str = "handed_back") -> Callable:
    """An agent claims the conversation's ticket and ends it (the console's hand-back)."""

    def end_it() -> None:
        with session_scope(engine) as session:
            ticket = handoff.open_ticket_of(session, conversation)
            assert ticket is not None
            agent = session.scalar(select(Agent.id).where(Agent.username == "inbox-agent"))
            if agent is None:
                agent = add_agent(session, "inbox-agent", "a long password").id
            handoff.claim(session, ticket.id, agent)
            handoff.end(session, ticket.id, agent, status)

    return end_it


def _pause(sender: str) -> dict:
    return {"sender_id": sender, "event": "pause"}


def _resume(sender: str) -> dict:
    return {"sender_id": sender, "event": "resume"}


def test_the_broker_keeps_poorly_understood_messages_once(app_db: Engine) -> None:
    broker = InboxEventBroker(threshold=0.6)
    turns: list[list[dict] | Callable[[], object]] = [
        [_user("c1", "Mans maksājums neizdevās", "payment_declined", 0.97, "m1")],
        [_user("c1", "kaut kas ar to kartīti", "card_expired", 0.41, "m2")],
        [
            _user("c1", "blorf zzz", "nlu_fallback", 0.3, "m3"),
            {"sender_id": "c1", "event": "action", "name": "action_fallback"},
        ],
        [
            _user("c2", "is it the thing with the stuff", "settle_balance", 0.88, "m4", "en"),
            {"sender_id": "c2", "event": "action", "name": "action_default_fallback"},
        ],
        _open_ticket(app_db, "c3"),
        [_user("c3", "gribu cilvēku", "request_human", 0.95, "m5"), _pause("c3")],
        [_user("c3", "sveiki, vai jūs redzat manu karti 4242 4242 4242 4242?", "greet", 0.2, "m6")],
        _end_ticket(app_db, "c3"),
        [_resume("c3")],
        [_user("c4", "/affirm", "affirm", 0.1, "m7")],
    ]
    _play(broker, *turns, times=2)  # Rasa may stream an event twice: still one item
    kept = {(i["text"], i["reason"]) for i in _items(app_db)}
    assert kept == {
        ("kaut kas ar to kartīti", "low_confidence"),
        ("blorf zzz", "fallback"),
        ("is it the thing with the stuff", "fallback"),
        ("gribu cilvēku", "handoff"),
    }
    (low,) = [i for i in _items(app_db) if i["reason"] == "low_confidence"]
    assert (low["language"], low["predicted_intent"], low["confidence"]) == (
        "lv",
        "card_expired",
        0.41,
    )
    assert low["conversation_id"] == "c1"


@pytest.mark.parametrize("ending", ["handed_back", "closed"])
def test_two_servers_agree_on_who_has_the_conversation(engine: Engine, ending: str) -> None:
    """Each Rasa server has its own broker; only the handoff table is shared."""
    seed_demo(engine)
    first, second = InboxEventBroker(engine=engine), InboxEventBroker(engine=engine)
    # The handoff is handled by the first server: its turn ends with the pause.
    _play(
        first,
        _open_ticket(engine, "c1"),
        [
            _user("c1", "gribu runāt ar cilvēku", "request_human", 0.55, "m1"),
            {"sender_id": "c1", "event": "action", "name": "action_escalate"},
            _pause("c1"),
        ],
    )
    # The customer's next messages reach the second server, which saw no pause.
    _play(second, [_user("c1", "halo, vai kāds te ir?", "greet", 0.3, "m2")])
    _play(first, [_user("c1", "hmm kad", "nlu_fallback", 0.2, "m3")])
    # Handed back on the second server; the first one never sees that resume.
    _play(second, _end_ticket(engine, "c1", ending), [_resume("c1")])
    _play(first, [_user("c1", "un ko tagad ar karti", "card_expired", 0.4, "m4")])
    _play(second, [_user("c1", "blorf", "nlu_fallback", 0.2, "m5")])
    assert {(i["text"], i["reason"]) for i in _items(engine)} == {
        ("gribu runāt ar cilvēku", "low_confidence"),
        ("un ko tagad ar karti", "low_confidence"),
        ("blorf", "fallback"),
    }


def test_a_ticket_opened_elsewhere_is_seen_without_any_pause(engine: Engine) -> None:
    """A ticket in the table (opened by another server, or by hand) is enough."""
    seed_demo(engine)
    broker = InboxEventBroker(engine=engine)
    _play(broker, _open_ticket(engine, "c2"), [_user("c2", "ēēē", "nlu_fallback", 0.1, "m1")])
    _play(broker, [_user("c3", "ēēē", "nlu_fallback", 0.1, "m2")])
    assert [(i["conversation_id"], i["reason"]) for i in _items(engine)] == [("c3", "fallback")]


def test_a_new_session_paused_again_keeps_nothing(engine: Engine) -> None:
    """The session start re-pauses a conversation a person has: not a handoff message."""
    seed_demo(engine)
    broker = InboxEventBroker(engine=engine)
    _play(
        broker,
        _open_ticket(engine, "c1"),
        [_user("c1", "gribu cilvēku", "request_human", 0.95, "m1"), _pause("c1")],
        [_user("c1", "paldies, gaidu", "thank_you", 0.97, "m2")],
        [
            {"sender_id": "c1", "event": "action", "name": "action_session_start"},
            {"sender_id": "c1", "event": "session_started"},
            _pause("c1"),
            {"sender_id": "c1", "event": "action", "name": "action_listen"},
            _user("c1", "nu?", "greet", 0.3, "m3"),
        ],
    )
    assert [(i["text"], i["reason"]) for i in _items(engine)] == [("gribu cilvēku", "handoff")]


def test_only_messages_to_keep_cost_a_query(engine: Engine) -> None:
    """One indexed lookup of the handoff table per message that would be kept; none else."""
    seed_demo(engine)
    broker = InboxEventBroker(engine=engine)
    statements: list[tuple[str, object]] = []

    def count(conn, cursor, statement, parameters, context, executemany) -> None:  # noqa: ANN001
        statements.append((statement, parameters))

    sa_event.listen(engine, "before_cursor_execute", count)
    try:
        understood = "Mans maksājums neizdevās"
        _play(
            broker, [_user(f"s{n}", understood, "payment_declined", 0.97, "m") for n in range(50)]
        )
        assert statements == []
        _play(broker, [_user("s1", "kas?", "greet", 0.2, "m9")])
    finally:
        sa_event.remove(engine, "before_cursor_execute", count)
    lookups = [(s, p) for s, p in statements if "FROM handoff_tickets" in s]
    assert len(lookups) == 1 and any("INSERT INTO nlu_inbox" in s for s, _ in statements)
    if engine.dialect.name == "sqlite":
        with engine.connect() as connection:
            plan = connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {lookups[0][0]}", lookups[0][1])
        assert any("USING INDEX" in str(row) for row in plan.all()), plan


def test_card_numbers_never_reach_the_inbox(app_db: Engine) -> None:
    broker = InboxEventBroker()
    broker.publish(_user("c9", "my card 4000 0000 0000 0002 hmm", "greet", 0.2, "x", "en"))
    (item,) = _items(app_db)
    assert item["text"] == "my card •••• •••• •••• •••• hmm"


def test_label_and_dismiss_from_the_command_line(
    app_db: Engine, project_copy: Path, capsys
) -> None:
    project = project_copy
    broker = InboxEventBroker()
    broker.publish(_user("c1", "kartīte atkal nestrādā, ko darīt", "card_expired", 0.4, "m1"))
    broker.publish(_user("c2", "qwerty asdf", "nlu_fallback", 0.2, "m2", None))
    broker.publish(_user("c3", "mans kartes maksājums tika noraidīts", "greet", 0.3, "m3"))
    assert main(["inbox", "list", "--lang", "lv", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [i["text"] for i in listed] == [
        "mans kartes maksājums tika noraidīts",
        "kartīte atkal nestrādā, ko darīt",
    ]
    first, conflict = listed[1]["id"], listed[0]["id"]
    other = next(i for i in _items(app_db) if i["text"] == "qwerty asdf")["id"]

    assert main(["inbox", "label", str(first), "payment_declined", "--project", str(project)]) == 0
    assert "kartīte atkal nestrādā, ko darīt" in (
        project / "data" / "nlu" / "lv" / "billing.yml"
    ).read_text("utf-8")
    assert main(["inbox", "label", str(conflict), "greet", "--project", str(project)]) == 4
    assert "another intent: payment_declined" in capsys.readouterr().err
    assert main(["inbox", "dismiss", str(other)]) == 0
    assert main(["inbox", "dismiss", "999"]) == 1
    status = {i["text"]: (i["status"], i["labelled_intent"]) for i in _items(app_db)}
    assert status == {
        "kartīte atkal nestrādā, ko darīt": ("labelled", "payment_declined"),
        "mans kartes maksājums tika noraidīts": ("open", None),
        "qwerty asdf": ("dismissed", None),
    }
    assert main(["inbox", "list", "--json"]) == 0
    capsys.readouterr()
