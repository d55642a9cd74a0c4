"""Trainers against the running servers: the inbox fills from real traffic, and
`bot train` loads a model into the server without dropping conversations."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from bot.config import PROJECT_ROOT
from bot.db import make_engine, session_scope
from bot.nlu.inbox import item_view, list_items
from tests.e2e.conftest import BotServers

pytestmark = pytest.mark.e2e
BOT = Path(sys.executable).parent / "bot"


def _inbox(servers: BotServers) -> list[dict]:
    engine = make_engine(servers.database_url)
    try:
        with session_scope(engine) as session:
            return [item_view(i) for i in list_items(session, include_done=True)]
    finally:
        engine.dispose()


def _parses(servers: BotServers, sender: str) -> dict[str, dict]:
    events = servers.tracker(sender)
    return {e["text"]: e["parse_data"]["intent"] for e in events if e["event"] == "user"}


def test_poorly_understood_messages_reach_the_inbox(servers: BotServers) -> None:
    sender = f"inbox-{uuid.uuid4().hex[:8]}"
    vague = ["hmm the card thing", "kas ar to?", "konts", "账户", "Labdien!"]
    for text in vague:
        servers.send(sender, text, servers.token("cust-lv-owner"))
    # What the model made of each message decides what the inbox must hold.
    intents = _parses(servers, sender)
    expected = {
        text
        for text, intent in intents.items()
        if intent["name"] == "nlu_fallback" or intent["confidence"] < 0.6
    }
    assert expected, f"no vague message was vague to this model: {intents}"
    assert "Labdien!" not in expected
    deadline = time.monotonic() + 30
    while {i["text"] for i in _inbox(servers) if i["conversation_id"] == sender} != expected:
        assert time.monotonic() < deadline, (_inbox(servers), intents)
        time.sleep(0.5)
    for item in _inbox(servers):
        if item["conversation_id"] == sender:
            assert item["predicted_intent"] == intents[item["text"]]["name"]
            assert item["reason"] in ("fallback", "low_confidence")
    env = {**os.environ, "DATABASE_URL": servers.database_url}
    listed = subprocess.run(
        [str(BOT), "inbox", "list"], env=env, capture_output=True, text=True, check=True
    )
    assert all(text in listed.stdout for text in expected)


def test_bot_train_loads_the_model_and_conversations_carry_on(servers: BotServers) -> None:
    sender, token = f"reload-{uuid.uuid4().hex[:8]}", servers.token("cust-lv-owner")
    offered = servers.send(sender, "Mans maksājums neizdevās", token)
    assert any("derīguma" in (r.get("text") or "") for r in offered)
    result = subprocess.run(
        [str(BOT), "train", "--url", servers.url, "--reload"],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=900,
        env={**os.environ, "RASA_TELEMETRY_ENABLED": "false"},
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "unchanged, kept" in result.stdout  # the servers' fixture trained it already
    assert f"loaded into {servers.url}" in result.stdout
    # The same conversation, after the swap: the bot remembers where it was.
    asked = servers.send(sender, "/change_expiry", token)
    assert "derīguma termiņš" in " ".join(r.get("text") or "" for r in asked), asked
    done = servers.send(sender, "12/2030", token)
    assert "12/2030" in " ".join(r.get("text") or "" for r in done), done


def test_bot_train_says_when_no_server_listens() -> None:
    result = subprocess.run(
        [str(BOT), "train", "--url", "http://127.0.0.1:9", "--reload"],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=900,
        env={**os.environ, "RASA_TELEMETRY_ENABLED": "false"},
    )
    assert result.returncode == 7 and "could not load the model" in result.stderr


def _record(servers: BotServers, text: str, language: str, intent: str) -> int:
    from bot.db import NluInboxItem
    from bot.nlu.inbox import record

    engine = make_engine(servers.database_url)
    try:
        with session_scope(engine) as session:
            record(
                session,
                conversation_id="console-inbox",
                message_id=uuid.uuid4().hex,
                text=text,
                language=language,
                intent=intent,
                confidence=0.31,
                reason="low_confidence",
            )
        with session_scope(engine) as session:
            return max(i.id for i in session.query(NluInboxItem).all())
    finally:
        engine.dispose()


def test_the_console_inbox_is_for_trainers(servers: BotServers) -> None:
    from tests.e2e.test_handoff import Console

    item = _record(servers, "kartīte man atkal nestrādā, ko lai daru", "lv", "card_expired")
    conflict = _record(servers, "mans kartes maksājums tika noraidīts", "lv", "greet")
    noise = _record(servers, "asdfgh", "en", "nlu_fallback")
    anna, toms = Console(servers.url, "anna"), Console(servers.url, "toms")

    refused = anna.http.get(f"{servers.url}/console/api/inbox", timeout=30)
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "not_a_trainer"
    assert anna.http.get(f"{servers.url}/console/inbox", timeout=30).status_code == 403
    page = toms.http.get(f"{servers.url}/console/inbox", timeout=30)
    assert page.status_code == 200 and toms.csrf in page.text

    listed = toms.http.get(f"{servers.url}/console/api/inbox?lang=lv", timeout=30).json()
    assert {i["id"] for i in listed["items"]} >= {item, conflict}
    assert noise not in {i["id"] for i in listed["items"]}
    assert "payment_declined" in listed["intents"] and "choose_card" not in listed["intents"]
    bad = toms.http.get(f"{servers.url}/console/api/inbox?lang=xx", timeout=30)
    assert bad.status_code == 400

    url = f"{servers.url}/console/api/inbox"
    no_csrf = toms.http.post(f"{url}/{item}/label", json={"intent": "card_expired"}, timeout=30)
    assert no_csrf.status_code == 403
    labelled = toms.http.post(
        f"{url}/{item}/label",
        json={"intent": "card_expired"},
        headers={"X-CSRF-Token": toms.csrf},
        timeout=120,
    )
    assert labelled.status_code == 200, labelled.text
    body = labelled.json()
    assert body["item"]["status"] == "labelled"
    assert body["added"][0]["file"] == "data/nlu/lv/billing.yml"
    nlu = (servers.project / "data" / "nlu" / "lv" / "billing.yml").read_text("utf-8")
    assert "- kartīte man atkal nestrādā, ko lai daru" in nlu
    assert "kartīte man atkal nestrādā" not in (
        PROJECT_ROOT / "data" / "nlu" / "lv" / "billing.yml"
    ).read_text("utf-8")  # the repo's own data is untouched

    clash = toms.http.post(
        f"{url}/{conflict}/label",
        json={"intent": "greet"},
        headers={"X-CSRF-Token": toms.csrf},
        timeout=120,
    )
    assert clash.status_code == 409 and clash.json()["error"]["code"] == "conflict"
    dismissed = toms.http.post(
        f"{url}/{noise}/dismiss", json={}, headers={"X-CSRF-Token": toms.csrf}, timeout=30
    )
    assert dismissed.status_code == 200 and dismissed.json()["item"]["status"] == "dismissed"
