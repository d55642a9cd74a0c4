"""The NLU inbox: what the event broker keeps, and labelling or dismissing it."""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy.engine import Engine

from bot.cli.main import main
from bot.db import session_scope
from bot.nlu.inbox import item_view, list_items
from bot.rasa_plugins.broker import InboxEventBroker


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


def _items(engine: Engine) -> list[dict]:
    with session_scope(engine) as session:
        return [item_view(i) for i in list_items(session, include_done=True)]


def test_the_broker_keeps_poorly_understood_messages_once(app_db: Engine) -> None:
    broker = InboxEventBroker(threshold=0.6)
    stream = [
        _user("c1", "Mans maksājums neizdevās", "payment_declined", 0.97, "m1"),
        _user("c1", "kaut kas ar to kartīti", "card_expired", 0.41, "m2"),
        _user("c1", "blorf zzz", "nlu_fallback", 0.3, "m3"),
        {"sender_id": "c1", "event": "action", "name": "action_fallback"},
        _user("c2", "is it the thing with the stuff", "settle_balance", 0.88, "m4", "en"),
        {"sender_id": "c2", "event": "action", "name": "action_default_fallback"},
        _user("c3", "gribu cilvēku", "request_human", 0.95, "m5"),
        {"sender_id": "c3", "event": "pause"},
        _user("c3", "sveiki, vai jūs redzat manu karti 4242 4242 4242 4242?", "greet", 0.2, "m6"),
        {"sender_id": "c3", "event": "resume"},
        _user("c4", "/affirm", "affirm", 0.1, "m7"),
    ]
    for event in stream:
        broker.publish(event)
    for event in stream:  # Rasa may stream an event twice: still one item
        broker.publish(event)
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
