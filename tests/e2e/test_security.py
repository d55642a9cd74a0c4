"""The attacks of issue 12, against the real servers: each one worked at c722b72.

Card data typed any way, Rasa's HTTP API and the action server without
credentials, conversations named by someone else, many passwords at once, tokens
at rest, the card form's strike limit, and the NLU inbox's YAML files.
Production-only attacks (nginx paths, BOT_ENV) are in test_production.py; the
widget's own copy of the conversation in test_browser.py.
"""

from __future__ import annotations

import json
import re
import sqlite3
import threading
import time
import unicodedata
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import requests

from bot.db import PaymentAttempt, make_engine, session_scope
from bot.security.installation import ACTION_SECRET_HEADER, api_token
from bot.support.agents import add_agent
from tests.e2e.conftest import BotServers, WidgetSocket
from tests.e2e.test_handoff import Console, _wait_for

pytestmark = pytest.mark.e2e
# A Visa test number that no demo account, token or id contains.
PAN = "4000056655665556"
TYPED = {
    "ideographic-spaces": "4000\u30000566\u30005566\u30005556",
    "dots": "4000.0566.5566.5556",
    "double-spaces": "4000  0566  5566  5556",
    "no-break-spaces": "4000\u00a00566\u00a05566\u00a05556",
    "en-dashes": "4000\u20130566\u20135566\u20135556",
    "slashes": "4000/0566/5566/5556",
    "tabs": "4000\t0566\t5566\t5556",
    "zero-width": "4000\u200b0566\u200b5566\u200b5556",
    "full-width": "\uff14\uff10\uff10\uff10 \uff10\uff15\uff16\uff16 \uff15\uff15\uff16\uff16 "
    "\uff15\uff15\uff15\uff16",
    "underscores": "4000_0566_5566_5556",
    "commas": "4000,0566,5566,5556",
}
SAID = {
    "en": ("my new card is {}", "masked the card details"),
    "lv": ("mana jaunā karte ir {}", "aizklāju ierakstītos kartes datus"),
    "zh": ("我的新卡号是{}", "已隐藏您输入的银行卡信息"),
}


def is_card_data_payload(text: str) -> bool:
    """The card_number_in_chat payload (with the language entity it may carry)."""
    return text.split("{", 1)[0] == "/card_number_in_chat"


def _sender(kind: str) -> str:
    return f"sec-{kind}-{uuid.uuid4().hex[:10]}"


def _text(replies: list[dict]) -> str:
    return " ".join(r.get("text") or "" for r in replies)


def _digits(text: str) -> str:
    """Every digit in `text`, JSON escapes (\\u3000) undone, full-width digits folded."""
    unescaped = re.sub(r"\\u([0-9a-fA-F]{4})", lambda m: chr(int(m.group(1), 16)), text)
    return "".join(c for c in unicodedata.normalize("NFKC", unescaped) if c.isdigit())


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def _kept_files(servers: BotServers) -> list[Path]:
    """Where the bot keeps anything: conversations, its database (inbox, tickets), logs."""
    files = [
        servers.workdir / "tracker.db",
        Path(servers.database_url.removeprefix("sqlite:///")),
        *sorted(servers.workdir.glob("rasa-*.log")),
        servers.workdir / "actions.log",
    ]
    assert all(f.exists() for f in files), files
    return files


def _assert_kept_nowhere(servers: BotServers, digits: str) -> None:
    for path in _kept_files(servers):
        assert digits not in _digits(path.read_bytes().decode("utf-8", "replace")), path


def _db(servers: BotServers, query: str, *args: Any) -> list[tuple]:
    with sqlite3.connect(servers.database_url.removeprefix("sqlite:///")) as connection:
        return connection.execute(query, args).fetchall()


# ---------- 1. card data, typed any way ----------


def test_card_numbers_typed_any_way_are_kept_nowhere(servers: BotServers) -> None:
    sender = _sender("typed")
    languages = list(SAID)
    for index, typed in enumerate(TYPED.values()):
        language = languages[index % 3]
        template, masked_reply = SAID[language]
        metadata = {**servers.token("cust-en-owner"), "language": language}
        replies = servers.send(sender, template.format(typed), metadata)
        assert masked_reply in _text(replies), (typed, replies)
    users = [e for e in servers.tracker(sender) if e["event"] == "user"]
    assert len(users) == len(TYPED) and all(is_card_data_payload(e["text"]) for e in users)
    for event in users:
        assert "••••" in event["metadata"]["redacted_text"]
        assert PAN not in _digits(json.dumps(event))
    _assert_kept_nowhere(servers, PAN)


def test_a_security_code_is_masked_in_three_languages(servers: BotServers) -> None:
    sender = _sender("cvc")
    token = servers.token("cust-lv-owner")
    for text, language in (
        ("my cvc is 739", "en"),
        ("drošības kods ir 739", "lv"),
        ("CVV码 739", "zh"),
        ("安全码是739", "zh"),
    ):
        replies = servers.send(sender, text, {**token, "language": language})
        assert SAID[language][1] in _text(replies), (text, replies)
    events = servers.tracker(sender)
    users = [e for e in events if e["event"] == "user"]
    assert len(users) == 4 and all(is_card_data_payload(e["text"]) for e in users)
    assert [e["metadata"]["redacted_text"] for e in users] == [
        "my cvc is •••",
        "drošības kods ir •••",
        "CVV码 •••",
        "安全码是•••",
    ]
    kept = [s for e in events if e["event"] in ("user", "slot") for s in _strings(e)]
    assert not any("739" in s for s in kept)


def test_a_number_split_over_two_messages_is_masked_in_both(servers: BotServers) -> None:
    sender = _sender("split")
    metadata = {**servers.token("cust-en-owner"), "language": "en"}
    servers.send(sender, "my card number:", metadata)
    servers.send(sender, "4000 0566", metadata)
    replies = servers.send(sender, "5566 5556", metadata)
    assert SAID["en"][1] in _text(replies), replies
    users = [e for e in servers.tracker(sender) if e["event"] == "user"]
    assert [e["text"] for e in users][:2] == ["my card number:", "•••• ••••"]
    assert is_card_data_payload(users[2]["text"])
    assert users[2]["metadata"]["redacted_text"] == "•••• ••••"
    assert PAN not in _digits(json.dumps(servers.tracker(sender)))
    # The first half may have reached the NLU inbox before the second arrived.
    inbox = _db(servers, "SELECT text FROM nlu_inbox WHERE conversation_id = ?", sender)
    assert all("0566" not in text for (text,) in inbox), inbox
    _assert_kept_nowhere(servers, PAN)


def test_a_card_number_typed_while_waiting_for_a_person_is_masked_and_said(
    servers: BotServers,
) -> None:
    # The bot is paused while a person is on the way, so it answers nothing; the
    # customer must still be told that what they typed was masked and not kept.
    for language, asking in (("lv", "Gribu runāt ar cilvēku"), ("zh", "我要找人工客服")):
        sender = _sender(f"waiting-{language}")
        metadata = {**servers.token("cust-lv-owner"), "language": language}
        servers.send(sender, asking, metadata)
        replies = servers.send(sender, SAID[language][0].format(TYPED["dots"]), metadata)
        assert len(replies) == 1 and SAID[language][1] in replies[0]["text"], replies
        assert _db(
            servers,
            "SELECT status FROM handoff_tickets WHERE conversation_id = ?",
            sender,
        ) == [("waiting",)]
        assert PAN not in _digits(json.dumps(servers.tracker(sender)))
    _assert_kept_nowhere(servers, PAN)


def test_agents_read_masked_text_and_never_the_card_form_link(servers: BotServers) -> None:
    sender = _sender("packet")
    metadata = {**servers.token("cust-en-owner"), "language": "en"}
    link = servers.send(sender, "/add_new_card", metadata)
    url = next(r["custom"]["card_form"]["url"] for r in link if r.get("custom"))
    servers.send(sender, "here it is 4000.0566.5566.5556 ok?", metadata)
    servers.send(sender, "I want to talk to a person", metadata)
    anna = Console(servers.url, "anna", servers.database_url)
    ticket = anna.ticket_of(sender)
    detail = anna.detail(ticket["id"])
    for part in (ticket["packet"], detail["transcript"]):
        shown = json.dumps(part, ensure_ascii=False)
        assert url.rsplit("/", 1)[1] not in shown and "/webhooks/cards/form/" not in shown
        assert "[card form link]" in shown
        assert "here it is ••••.••••.••••.•••• ok?" in shown
        assert PAN not in _digits(shown)
    anna.post(ticket["id"], "claim")
    anna.post(ticket["id"], "close")


def test_an_agents_reply_with_a_card_number_is_masked(servers: BotServers) -> None:
    widget = WidgetSocket(servers.url)
    try:
        widget.say(
            "Es gribu runāt ar operatoru", {**servers.token("cust-lv-owner"), "language": "lv"}
        )
        _wait_for(lambda: any("custom" in m for m in widget.received))
        anna = Console(servers.url, "anna", servers.database_url)
        ticket_id = anna.ticket_of(widget.session_id)["id"]
        anna.post(ticket_id, "claim")
        sent = anna.post(
            ticket_id, "reply", {"text": "Jūsu karte 4000\u30000566\u30005566\u30005556?"}
        )
        assert sent.status_code == 200 and PAN not in _digits(sent.text)
        _wait_for(lambda: any(m.get("metadata", {}).get("agent") for m in widget.received))
        reply = next(m for m in widget.received if m.get("metadata", {}).get("agent"))
        assert reply["text"] == "Jūsu karte ••••\u3000••••\u3000••••\u3000••••?"
        assert PAN not in _digits(json.dumps(servers.tracker(widget.session_id)))
        anna.post(ticket_id, "close")
    finally:
        widget.close()


# ---------- 2. Rasa's HTTP API and the action server ----------

ANONYMOUS = [
    ("GET", "/", None),
    ("GET", "/version", None),
    ("GET", "/status", None),
    ("GET", "/domain", None),
    ("GET", "/conversations/{sender}/tracker", None),
    ("GET", "/conversations/{sender}/story", None),
    ("POST", "/conversations/{sender}/trigger_intent", {"name": "greet"}),
    ("POST", "/conversations/{sender}/messages", {"text": "hi", "sender": "user"}),
    ("POST", "/conversations/{sender}/tracker/events", {"event": "slot", "name": "x"}),
    ("POST", "/conversations/{sender}/predict", None),
    ("POST", "/model/parse", {"text": "hello"}),
]


def _call(url: str, method: str, body: Any = None, **headers: str) -> tuple[int, bytes]:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method, headers=headers)
    if data is not None and "Content-Type" not in headers:
        request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def test_anonymous_callers_get_401_on_every_api_route(servers: BotServers) -> None:
    sender = _sender("api")
    servers.send(sender, "hello", servers.token("cust-lv-owner"))
    for method, path, body in ANONYMOUS:
        status, answer = _call(servers.url + path.format(sender=sender), method, body)
        assert status == 401, (method, path, status, answer[:200])
        assert b"customer_token" not in answer and b"eyJ" not in answer
    # A web page can send text/plain to any address without asking first.
    status, _ = _call(f"{servers.url}/model/train", "POST", "x", **{"Content-Type": "text/plain"})
    assert status == 401


def test_the_api_token_opens_the_api_for_json_bodies_only(servers: BotServers) -> None:
    token = urllib.parse.quote(api_token())
    status, answer = _call(f"{servers.url}/model/parse?token={token}", "POST", {"text": "hi"})
    assert status == 200 and json.loads(answer)["intent"]["name"]
    for content_type in ("text/plain", "application/x-www-form-urlencoded", "multipart/form-data"):
        status, answer = _call(
            f"{servers.url}/model/train?token={token}",
            "POST",
            "x",
            **{"Content-Type": content_type},
        )
        assert status == 415 and b"json_only" in answer, content_type
    status, _ = _call(f"{servers.url}/model/parse?token=not-the-token", "POST", {"text": "hi"})
    assert status == 401


def test_a_page_on_another_host_name_gets_nothing(servers: BotServers) -> None:
    """DNS rebinding: evil.example resolves to 127.0.0.1, the browser sends its name."""
    port = urllib.parse.urlsplit(servers.url).port
    for path in ("/chat/", "/chat/api/demo-customers", "/socket.io/?EIO=4&transport=polling"):
        refused = requests.get(
            servers.url + path, headers={"Host": f"evil.example:{port}"}, timeout=30
        )
        assert refused.status_code == 403, (path, refused.status_code)
        assert requests.get(servers.url + path, timeout=30).status_code == 200
    posted = requests.post(
        f"{servers.url}/chat/api/demo-token",
        json={"customer_id": "cust-lv-owner"},
        headers={"Host": f"evil.example:{port}"},
        timeout=30,
    )
    assert posted.status_code == 403 and "token" not in posted.json()


def test_the_action_server_answers_only_its_rasa_server(servers: BotServers) -> None:
    call = {
        "next_action": "action_explain_past_due",
        "sender_id": "sec-actions",
        "tracker": {
            "sender_id": "sec-actions",
            "slots": {"language": "en"},
            "latest_message": {"text": "hi", "intent": {}, "entities": [], "metadata": {}},
            "events": [],
            "paused": False,
            "followup_action": None,
            "active_loop": {},
            "latest_action_name": "action_listen",
        },
        "domain": {},
        "version": "3.6.2",
    }
    for headers in ({}, {ACTION_SECRET_HEADER: "guess"}):
        status, answer = _call(f"{servers.action_url}/webhook", "POST", call, **headers)
        assert status == 403, (headers, status, answer[:200])
    status, _ = _call(f"{servers.action_url}/actions", "GET")
    assert status == 403
    # The conversations of the other tests prove that Rasa's own calls get through.


# ---------- 3. a conversation belongs to whoever started it ----------


def test_a_second_socket_naming_a_session_does_not_get_its_replies(servers: BotServers) -> None:
    customer = WidgetSocket(servers.url)
    intruders = [
        WidgetSocket(servers.url, customer.session_id),
        WidgetSocket(servers.url, customer.session_id, "0" * 64),
    ]
    try:
        assert re.fullmatch(r"[0-9a-f]{32}", customer.session_id)
        assert all(i.session_id != customer.session_id for i in intruders)
        customer.say(
            "Mans maksājums neizdevās", {**servers.token("cust-lv-owner"), "language": "lv"}
        )
        _wait_for(lambda: any("25,50" in (m.get("text") or "") for m in customer.received))
        time.sleep(1)
        assert all(i.received == [] and i.stored == [] for i in intruders)
        # The browser that holds the secret comes back to its conversation.
        back = WidgetSocket(servers.url, customer.session_id, customer.session_secret)
        assert back.session_id == customer.session_id
        back.close()
    finally:
        for socket in (customer, *intruders):
            socket.close()


def test_a_socket_asking_for_a_new_session_leaves_the_old_one(servers: BotServers) -> None:
    switching = WidgetSocket(servers.url)
    old, old_secret = switching.session_id, switching.session_secret
    switching.request_session(None)
    assert switching.session_id != old
    owner = WidgetSocket(servers.url, old, old_secret)
    try:
        owner.say("Labdien!", {"language": "lv"})
        _wait_for(lambda: bool(owner.received))
        time.sleep(1)
        assert switching.received == []
    finally:
        owner.close()
        switching.close()


def test_rest_cannot_post_into_a_widget_conversation(servers: BotServers) -> None:
    widget = WidgetSocket(servers.url)
    try:
        status, answer = _call(
            f"{servers.url}/webhooks/rest/webhook",
            "POST",
            {"sender": widget.session_id, "message": "/affirm"},
        )
        assert status == 400 and json.loads(answer)["error"]["code"] == "bad_sender"
        time.sleep(1)
        assert widget.received == []
        assert [e for e in servers.tracker(widget.session_id) if e["event"] == "user"] == []
    finally:
        widget.close()


def test_the_console_never_shows_conversation_ids(servers: BotServers) -> None:
    from tests.e2e.test_trainers import _record

    sender = _sender("ids")
    servers.send(sender, "I want to talk to a person", servers.token("cust-en-owner"))
    _record(servers, "hmm which thing", "en", "nlu_fallback")
    anna = Console(servers.url, "anna", servers.database_url)
    toms = Console(servers.url, "toms")
    ticket_id = anna.ticket_of(sender)["id"]
    shown = [
        anna.http.get(f"{servers.url}/console/api/tickets", timeout=30).text,
        anna.http.get(f"{servers.url}/console/api/tickets/{ticket_id}", timeout=30).text,
        toms.http.get(f"{servers.url}/console/api/inbox", timeout=30).text,
    ]
    for body in shown:
        assert "conversation_id" not in body and sender not in body and "console-inbox" not in body


def test_customer_tokens_are_not_kept_in_the_tracker_store(servers: BotServers) -> None:
    widget = WidgetSocket(servers.url)
    rest = _sender("tokens")
    try:
        for sender_text in ("Mans maksājums neizdevās", "/change_expiry"):
            servers.send(rest, sender_text, {**servers.token("cust-lv-owner"), "language": "lv"})
        widget.say("Gribu runāt ar cilvēku", {**servers.token("cust-lv-owner"), "language": "lv"})
        _wait_for(lambda: any("custom" in m for m in widget.received))
        anna = Console(servers.url, "anna", servers.database_url)
        ticket_id = anna.ticket_of(widget.session_id)["id"]
        anna.post(ticket_id, "claim")
        anna.post(ticket_id, "handback")  # the console speaks for the customer's account
        _wait_for(lambda: any("nodevis" in (m.get("text") or "") for m in widget.received))
    finally:
        widget.close()
    stored = (servers.workdir / "tracker.db").read_bytes()
    assert b"customer_token" not in stored and b"eyJhbGciOi" not in stored
    for sender in (rest, widget.session_id):
        users = [e for e in servers.tracker(sender) if e["event"] == "user"]
        assert users and all("customer_token" not in e["metadata"] for e in users)
        assert users[0]["metadata"]["customer_ref"].startswith("cust-lv-owner:")


# ---------- 4. the sign-in throttle ----------


def test_two_hundred_concurrent_wrong_passwords_check_at_most_five(servers: BotServers) -> None:
    username, password = f"target{uuid.uuid4().hex[:6]}", "the-right-password"
    engine = make_engine(servers.database_url)
    with session_scope(engine) as db:
        add_agent(db, username, password, "Target")
    engine.dispose()
    session = requests.Session()
    session.get(f"{servers.url}/console/login", timeout=30)
    form_token = session.cookies["console_login"]

    def guess(number: int) -> int:
        answer = requests.post(
            f"{servers.url}/console/login",
            data={"username": username, "password": f"guess-{number}", "csrf_token": form_token},
            cookies={"console_login": form_token},
            allow_redirects=False,
            timeout=120,
        )
        return answer.status_code

    with ThreadPoolExecutor(max_workers=50) as pool:
        statuses = list(pool.map(guess, range(200)))
    assert statuses.count(401) <= 5 and statuses.count(401) + statuses.count(429) == 200
    # The right password waits for the window too: the limit is per username.
    right = requests.post(
        f"{servers.url}/console/login",
        data={"username": username, "password": password, "csrf_token": form_token},
        cookies={"console_login": form_token},
        allow_redirects=False,
        timeout=60,
    )
    assert right.status_code == 429


# ---------- 6. nothing blocks the action server ----------


def test_a_waiting_payment_does_not_stall_other_conversations(servers: BotServers) -> None:
    from tests.e2e.test_settle import _payloads, _reseed

    _reseed(servers)
    waiting, other = _sender("wait"), _sender("other")
    token = servers.token("cust-lv-owner")
    cards = servers.send(waiting, "/pick_other_card", token)
    choice = next(p for p in _payloads(cards) if p.startswith("/choose_card"))
    servers.send(waiting, choice, token)
    # Another save's charge is in flight: this save waits for its answer (up to 30 s).
    (balance_id, method_id, amount, currency) = _db(
        servers,
        "SELECT b.id, m.id, b.amount_minor, b.currency FROM balances b JOIN subscriptions s "
        "ON s.id = b.subscription_id JOIN payment_methods m ON m.customer_id = s.customer_id "
        "WHERE s.customer_id = 'cust-lv-owner' AND b.status = 'open' AND m.last4 = '5454'",
    )[0]
    engine = make_engine(servers.database_url)
    with session_scope(engine) as session:
        session.add(
            PaymentAttempt(
                balance_id=balance_id,
                payment_method_id=method_id,
                idempotency_key=f"in-flight-{uuid.uuid4().hex}",
                amount_minor=amount,
                currency=currency,
                status="pending",
            )
        )
    engine.dispose()
    saved: list[str] = []
    saving = threading.Thread(
        target=lambda: saved.append(_text(servers.send(waiting, "/affirm", token)))
    )
    saving.start()
    try:
        time.sleep(2)  # the save is now waiting inside the action server
        started = time.monotonic()
        answer = servers.send(other, "qwpzx vvrn tlk", {"language": "en"})
        took = time.monotonic() - started
        print(f"another conversation answered in {took:.2f} s while a save waited")
        assert answer and took < 5, (took, answer)
    finally:
        _db_write(
            servers,
            "UPDATE payment_attempts SET status = 'approved', completed_at = datetime('now') "
            "WHERE status = 'pending'",
        )
        saving.join(60)
    assert saved, "the waiting save never answered"
    _reseed(servers)


def _db_write(servers: BotServers, statement: str) -> None:
    with sqlite3.connect(servers.database_url.removeprefix("sqlite:///")) as connection:
        connection.execute(statement)


# ---------- 8. smaller holes ----------


def test_gateway_rejections_count_toward_the_card_forms_strikes(servers: BotServers) -> None:
    from tests.e2e.test_settle import _form_link, _get, _post_form

    sender = _sender("strikes")
    link = _form_link(servers.send(sender, "/add_new_card", servers.token("cust-en-owner")))
    for _ in range(5):
        status, page = _post_form(
            link, number="4000 0000 0000 0127", expiry="12/29", name="Alex", cvc="123"
        )
        assert status == 400 and "did not accept this security code" in page
    assert _get(link)[0] == 410  # burned after five refusals, the gateway's count too
    status, _ = _post_form(link, number="4242 4242 4242 4242", expiry="12/29", name="A", cvc="123")
    assert status == 410


def _label(console: Console, servers: BotServers, item: int, intent: str) -> requests.Response:
    return console.http.post(
        f"{servers.url}/console/api/inbox/{item}/label",
        json={"intent": intent},
        headers={"X-CSRF-Token": console.csrf},
        timeout=300,
    )


def _examples(servers: BotServers, intent: str, language: str) -> list[str]:
    from rasa.shared.nlu.training_data.loading import load_data

    data = load_data(str(servers.project / "data" / "nlu" / language))
    return [m.get("text") for m in data.intent_examples if m.get("intent") == intent]


def test_a_line_separator_in_an_inbox_item_adds_one_example(servers: BotServers) -> None:
    from tests.e2e.test_trainers import _record

    tag = uuid.uuid4().hex[:6]
    item = _record(
        servers, f"why was it refused {tag}\u2028- transfer me {tag}", "en", "payment_declined"
    )
    toms = Console(servers.url, "toms")
    answer = _label(toms, servers, item, "payment_declined")
    assert answer.status_code == 200, answer.text
    examples = _examples(servers, "payment_declined", "en")
    assert f"why was it refused {tag} - transfer me {tag}" in examples
    assert f"transfer me {tag}" not in examples


def _label_together(servers: BotServers, pairs: list[tuple[Console, int]]) -> list[int]:
    """Labels each (trainer, item) at the same moment, one thread each."""
    barrier = threading.Barrier(len(pairs))
    statuses: list[int] = []

    def label(console: Console, item: int) -> None:
        barrier.wait()
        statuses.append(_label(console, servers, item, "payment_declined").status_code)

    threads = [threading.Thread(target=label, args=pair) for pair in pairs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(300)
    return statuses


def test_two_trainers_labelling_at_once_lose_no_example(servers: BotServers) -> None:
    from tests.e2e.test_trainers import _record

    toms, tess = Console(servers.url, "toms"), Console(servers.url, "tess")
    for round_number in range(2):
        tag = uuid.uuid4().hex[:6]
        texts = [f"my payment bounced again {tag}", f"the bank said no to my card {tag}"]
        items = [_record(servers, text, "en", "payment_declined") for text in texts]
        statuses = _label_together(servers, list(zip((toms, tess), items, strict=True)))
        assert statuses == [200, 200], (round_number, statuses)
        examples = _examples(servers, "payment_declined", "en")
        assert all(text in examples for text in texts), (round_number, texts)
