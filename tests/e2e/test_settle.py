"""Settling the balance end to end: every path, over REST, against the real servers."""

from __future__ import annotations

import re
import sqlite3
import threading
import urllib.error
import urllib.parse
import urllib.request
import uuid
from pathlib import Path

import pytest

from bot.cli.chat import bot_messages
from bot.i18n import detect_language
from tests.e2e.conftest import BotServers, reseed_demo

pytestmark = pytest.mark.e2e
NBSP = "\u00a0"
TEST_CARDS = ("4242424242424242", "4000000000000002", "4000000000009995", "4000000000000069")


def _sender() -> str:
    return f"e2e-settle-{uuid.uuid4().hex[:10]}"


def _text(replies: list[dict]) -> str:
    return " ".join(r.get("text", "") for r in replies)


def _payloads(replies: list[dict]) -> list[str]:
    return [b["payload"] for r in replies for b in r.get("buttons") or []]


def _in_language(replies: list[dict], language: str) -> None:
    texts = [r["text"] for r in replies if r.get("text")]
    assert texts, replies
    for text in texts:
        assert detect_language(text) == language, text


def _db(servers: BotServers, query: str, *args) -> list[tuple]:
    path = servers.database_url.removeprefix("sqlite:///")
    with sqlite3.connect(path) as connection:
        return connection.execute(query, args).fetchall()


def _reseed(servers: BotServers) -> None:
    reseed_demo(servers.database_url)


@pytest.fixture
def fresh(servers: BotServers) -> BotServers:
    _reseed(servers)
    return servers


def _form_link(replies: list[dict]) -> str:
    custom = [r["custom"] for r in replies if r.get("custom")]
    assert custom, replies
    url = custom[0]["card_form"]["url"]
    assert url in _text(replies)
    return url


def _post_form(url: str, **fields: str) -> tuple[int, str]:
    data = urllib.parse.urlencode(fields).encode()
    try:
        with urllib.request.urlopen(urllib.request.Request(url, data=data), timeout=60) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def _get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=30) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def _bot_messages_since(servers: BotServers, sender: str, count: int) -> list[dict]:
    return bot_messages(servers.url, sender)[-count:]


# The widget sends the browser's time zone: times come back in it, named in the language.
OWNER_EXPIRY = {
    "lv": ("Mans maksājums tika noraidīts", "nezinu, kaut kad nākamgad", "mēnesi un gadu",
           "2027. gada decembris", f"25,50{NBSP}€", "Europe/Riga",
           r"\d{1,2}\. \w+ \d{2}:\d{2} \(Rīgas laiks\)",
           "Jau samaksāju, bet joprojām rāda, ka maksājums ir nokavēts"),
    "en": ("My card payment was declined", "no idea, sometime next year", "month and year",
           "December 2027", "€25.50", "America/New_York",
           r"\w+ \d{1,2}, \d{1,2}:\d{2}\u202f[AP]M \(New York time\)",
           "I already paid but it still says past due"),
    "zh": ("我的卡扣款被拒了", "不知道，明年吧", "月份和年份", "2027年12月", "€25.50",
           "Asia/Shanghai", r"\d{1,2}月\d{1,2}日 \d{2}:\d{2}（北京时间）",
           "我已经付过了，为什么还显示逾期？"),
}  # fmt: skip


@pytest.mark.parametrize("language", ["lv", "en", "zh"])
def test_owner_changes_the_expiry_and_pays(fresh: BotServers, language: str) -> None:
    problem, vague, hint, expiry, amount, zone, moment, still_shown = OWNER_EXPIRY[language]
    sender = _sender()
    meta = {**fresh.token("cust-lv-owner"), "language": language, "timezone": zone}
    _in_language(fresh.send(sender, problem, meta), language)

    asked = fresh.send(sender, "/change_expiry", meta)
    _in_language(asked, language)
    assert "12/2027" in _text(asked)

    not_a_date = fresh.send(sender, vague, meta)
    _in_language(not_a_date, language)
    assert hint in _text(not_a_date)

    confirm = fresh.send(sender, expiry, meta)
    _in_language(confirm, language)
    assert "4242" in _text(confirm) and "12/2027" in _text(confirm)
    assert _payloads(confirm) == ["/affirm", "/deny"]

    paid = fresh.send(sender, "/affirm", meta)
    _in_language(paid, language)
    text = _text(paid)
    assert amount in text and "4242" in text and "48" in text
    assert re.search(moment, text), text
    assert "UTC" not in text
    assert _db(
        fresh,
        "SELECT b.status FROM balances b JOIN subscriptions s ON s.id = "
        "b.subscription_id WHERE s.customer_id = 'cust-lv-owner'",
    ) == [("settled",)]
    assert _db(
        fresh,
        "SELECT exp_month, exp_year FROM payment_methods WHERE customer_id = "
        "'cust-lv-owner' AND last4 = '4242'",
    ) == [(12, 2027)]

    notice = fresh.send(sender, still_shown, meta)
    _in_language(notice, language)
    assert amount in _text(notice) and len(re.findall(moment, _text(notice))) == 2


def test_two_wrong_expiries_lead_to_the_other_options(fresh: BotServers) -> None:
    sender, meta = _sender(), fresh.token("cust-en-owner")
    fresh.send(sender, "my card expired", meta)
    fresh.send(sender, "/change_expiry", meta)
    past = fresh.send(sender, "03/2025", meta)
    assert "already passed" in _text(past)
    gave_up = fresh.send(sender, "99/99", meta)
    assert "another way" in _text(gave_up)
    assert _payloads(gave_up) == ["/change_expiry", "/pick_other_card", "/add_new_card"]
    assert _db(fresh, "SELECT count(*) FROM payment_attempts WHERE status = 'approved'") == [(0,)]


def test_a_question_inside_the_form_is_answered_and_the_form_resumes(fresh: BotServers) -> None:
    sender, meta = _sender(), fresh.token("cust-en-owner")
    fresh.send(sender, "my card expired", meta)
    fresh.send(sender, "/change_expiry", meta)
    answer = fresh.send(sender, "wait, how much do I owe?", meta)
    assert "$6.00" in _text(answer) and "expiry date" in _text(answer)
    confirm = fresh.send(sender, "Dec 2027", meta)
    assert "12/2027" in _text(confirm) and "$6.00" in _text(confirm)


def test_stop_leaves_the_form_and_changes_nothing(fresh: BotServers) -> None:
    sender, meta = _sender(), fresh.token("cust-en-owner")
    fresh.send(sender, "my card expired", meta)
    fresh.send(sender, "/change_expiry", meta)
    stopped = fresh.send(sender, "cancel", meta)
    assert "Nothing was changed" in _text(stopped)
    assert "Hi!" in _text(fresh.send(sender, "hello", meta))
    assert _db(fresh, "SELECT exp_year FROM payment_methods WHERE last4 = '8431'") == [(2026,)]


def test_switching_language_mid_flow_switches_the_replies(fresh: BotServers) -> None:
    sender, meta = _sender(), fresh.token("cust-en-owner")
    fresh.send(sender, "my card payment was declined", meta)
    asked = fresh.send(sender, "/change_expiry", meta)
    _in_language(asked, "en")
    confirm = fresh.send(sender, "有效期改成2027年12月", meta)
    _in_language(confirm, "zh")
    assert "12/2027" in _text(confirm)


NON_OWNER = {
    "zh": ("我的卡被decline了", "持卡人", "¥1,080.00"),
    "en": ("why was my card declined?", "owner", "CN¥1,080.00"),
    "lv": ("kāpēc mana karte tika noraidīta?", "jums nepieder", f"080,00{NBSP}CN¥"),
}


@pytest.mark.parametrize("language", ["zh", "en", "lv"])
def test_non_owner_is_refused_the_expiry_change_and_pays_with_another_card(
    fresh: BotServers, language: str
) -> None:
    problem, owner_word, amount = NON_OWNER[language]
    sender, meta = _sender(), {**fresh.token("cust-zh-nonowner"), "language": language}
    fresh.send(sender, problem, meta)
    refused = fresh.send(sender, "/change_expiry", meta)
    _in_language(refused, language)
    assert "1111" in _text(refused) and owner_word in _text(refused)
    assert _payloads(refused) == ["/pick_other_card", "/add_new_card"]

    cards = fresh.send(sender, "/pick_other_card", meta)
    _in_language(cards, language)
    (choice,) = [p for p in _payloads(cards) if p.startswith("/choose_card")]
    titles = [b["title"] for r in cards for b in r.get("buttons") or []]
    brand = "银联" if language == "zh" else "UnionPay"
    assert titles == [f"{brand} •••• 0005 (11/2028)"]

    confirm = fresh.send(sender, choice, meta)
    _in_language(confirm, language)
    assert "0005" in _text(confirm) and amount in _text(confirm)
    paid = fresh.send(sender, "/affirm", meta)
    _in_language(paid, language)
    assert amount in _text(paid) and "0005" in _text(paid) and "48" in _text(paid)


ADD_CARD = {
    "lv": ("Gribu pievienot jaunu karti", "Kartes numurs", "ir saglabāta", f"6,00{NBSP}$"),
    "zh": ("我要添加一张新卡", "卡号", "已保存", "US$6.00"),
}


@pytest.mark.parametrize("language", ["lv", "zh"])
def test_add_card_in_latvian_and_chinese(fresh: BotServers, language: str) -> None:
    ask, label, saved, amount = ADD_CARD[language]
    sender, meta = _sender(), {**fresh.token("cust-en-owner"), "language": language}
    replies = fresh.send(sender, ask, meta)
    _in_language(replies, language)
    link = _form_link(replies)
    status, page = _get(link)
    assert status == 200 and f'lang="{language}"' in page and label in page
    status, page = _post_form(
        link, number="5555 5555 5555 4444", expiry="11/30", name="Alex Morgan", cvc="321"
    )
    assert status == 200 and "4444" in page
    confirm = _bot_messages_since(fresh, sender, 2)
    assert saved in confirm[0]["text"] and "4444" in confirm[1]["text"]
    paid = fresh.send(sender, "/affirm", meta)
    _in_language(paid, language)
    assert amount in _text(paid) and "4444" in _text(paid)


def test_an_owner_without_other_cards_is_offered_to_add_one(fresh: BotServers) -> None:
    sender, meta = _sender(), fresh.token("cust-en-owner")
    replies = fresh.send(sender, "/pick_other_card", meta)
    assert "don't have another valid card" in _text(replies)
    assert _payloads(replies) == ["/add_new_card"]


def test_add_card_with_each_test_card_then_pay(fresh: BotServers) -> None:
    # One conversation per card: two declines in one conversation hand it to a person.
    meta = fresh.token("cust-en-owner")
    expected = [
        ("4000 0000 0000 0002", "without giving a reason"),
        ("4000 0000 0000 9995", "insufficient funds"),
        ("4000 0000 0000 0069", "expired"),
        ("4242 4242 4242 4242", "went through"),
    ]
    for number, outcome in expected:
        sender = _sender()
        fresh.send(sender, "my card payment failed", meta)
        link = _form_link(fresh.send(sender, "/add_new_card", meta))
        status, page = _get(link)
        assert status == 200 and 'lang="en"' in page and "Card number" in page
        status, page = _post_form(
            link, number=number, expiry="12/29", name="Alex Morgan", cvc="123"
        )
        assert status == 200 and number[-4:] in page, page
        confirm = _bot_messages_since(fresh, sender, 2)
        assert number[-4:] in confirm[-1]["text"] and "$6.00" in confirm[-1]["text"]
        result = _text(fresh.send(sender, "/affirm", meta))
        assert outcome in result, (number, result)
        assert _get(link)[0] == 410
    assert _db(fresh, "SELECT count(*) FROM payment_attempts WHERE status = 'approved'") == [(1,)]


@pytest.mark.parametrize(
    "fields, field, message",
    [
        ({"number": "4242 4242 4242 4241"}, "number", "not a valid card number"),
        ({"expiry": "01/20"}, "expiry", "has expired"),
        ({"expiry": "soon"}, "expiry", "MM/YY"),
        ({"cvc": "12"}, "cvc", "security code"),
        ({"name": " "}, "name", "name as it is printed"),
    ],
)
def test_the_card_form_explains_bad_fields_and_keeps_the_link(
    fresh: BotServers, fields, field, message
) -> None:
    sender, meta = _sender(), fresh.token("cust-en-owner")
    link = _form_link(fresh.send(sender, "/add_new_card", meta))
    good = {"number": "4242424242424242", "expiry": "12/29", "name": "Alex", "cvc": "123"}
    status, page = _post_form(link, **{**good, **fields})
    assert status == 400 and message in page and f'id="{field}-error"' in page
    assert "4242424242424242" not in page and "4242 4242 4242 4241" not in page
    assert _get(link)[0] == 200


def test_the_card_form_speaks_the_conversation_language(fresh: BotServers) -> None:
    sender, meta = _sender(), {**fresh.token("cust-zh-nonowner"), "language": "zh"}
    link = _form_link(fresh.send(sender, "我要添加新卡", meta))
    status, page = _get(link)
    assert status == 200 and 'lang="zh"' in page and "卡号" in page
    status, page = _post_form(link, number="123", expiry="12/29", name="王伟", cvc="123")
    assert status == 400 and "卡号无效" in page


def test_a_made_up_link_opens_nothing(fresh: BotServers) -> None:
    status, page = _get(f"{fresh.url}/webhooks/cards/form/not-a-real-link")
    assert status == 410 and "This link can&#x27;t be used" in page


@pytest.mark.parametrize(
    "accept, language, title",
    [
        ("lv-LV,lv;q=0.9,en;q=0.8", "lv", "Šo saiti nevar izmantot"),
        ("zh-CN,zh;q=0.9", "zh", "此链接无法使用"),
        ("de-DE,de;q=0.9,en;q=0.5", "en", "This link can&#x27;t be used"),
        ("fr-FR", "en", "This link can&#x27;t be used"),
    ],
)
def test_a_made_up_link_answers_in_the_browser_s_language(
    fresh: BotServers, accept: str, language: str, title: str
) -> None:
    request = urllib.request.Request(
        f"{fresh.url}/webhooks/cards/form/not-a-real-link-{language}",
        headers={"Accept-Language": accept},
    )
    with pytest.raises(urllib.error.HTTPError) as gone:
        urllib.request.urlopen(request, timeout=30)
    page = gone.value.read().decode()
    assert gone.value.code == 410 and f'lang="{language}"' in page and title in page


def test_a_used_link_keeps_the_conversation_s_language(fresh: BotServers) -> None:
    sender, meta = _sender(), {**fresh.token("cust-zh-nonowner"), "language": "zh"}
    link = _form_link(fresh.send(sender, "我要添加新卡", meta))
    _post_form(link, number="4242424242424242", expiry="12/29", name="王伟", cvc="123")
    request = urllib.request.Request(link, headers={"Accept-Language": "lv"})
    with pytest.raises(urllib.error.HTTPError) as gone:
        urllib.request.urlopen(request, timeout=30)
    assert gone.value.code == 410 and "此链接无法使用" in gone.value.read().decode()


def test_two_concurrent_saves_charge_once(fresh: BotServers) -> None:
    meta = fresh.token("cust-lv-owner")
    senders = [_sender(), _sender()]
    for sender in senders:
        cards = fresh.send(sender, "/pick_other_card", meta)
        choice = [p for p in _payloads(cards) if p.startswith("/choose_card")][0]
        fresh.send(sender, choice, meta)
    results: list[str] = []
    threads = [
        threading.Thread(target=lambda s=s: results.append(_text(fresh.send(s, "/affirm", meta))))
        for s in senders
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # One save charges; the other finds the balance settled (or the same payment).
    assert len(results) == 2 and sum("went through" in r for r in results) >= 1
    assert all("went through" in r or "nothing is past due" in r for r in results)
    assert _db(
        fresh,
        "SELECT count(*) FROM payment_attempts a JOIN balances b ON b.id = "
        "a.balance_id WHERE a.status = 'approved'",
    ) == [(1,)]


def test_a_card_number_typed_into_chat_is_redacted_everywhere(fresh: BotServers) -> None:
    sender, meta = _sender(), fresh.token("cust-en-owner")
    fresh.send(sender, "my card payment failed", meta)
    warned = fresh.send(sender, "my new card is 4242 4242 4242 4242 exp 12/29", meta)
    assert "never type a card number" in _text(warned)
    fresh.send(sender, "here: 4000-0000-0000-0002", meta)
    link = _form_link(fresh.send(sender, "/add_new_card", meta))
    for number in TEST_CARDS[1:]:
        _post_form(link, number=number, expiry="12/29", name="Alex", cvc="1")
    _post_form(link, number=TEST_CARDS[0], expiry="12/29", name="Alex", cvc="123")

    stores = [
        fresh.workdir / "tracker.db",
        Path(fresh.database_url.removeprefix("sqlite:///")),
        *sorted(fresh.workdir.glob("rasa-*.log")),
        fresh.workdir / "actions.log",
    ]
    assert len(stores) == 4, stores
    for store in stores:
        content = store.read_bytes()
        for number in TEST_CARDS:
            assert number.encode() not in content, (store, number)
            spaced = " ".join(number[i : i + 4] for i in range(0, 16, 4))
            assert spaced.encode() not in content, (store, spaced)
