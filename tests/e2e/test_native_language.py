"""Issue 13's conversation behaviours end to end, over REST and the widget's Socket.IO.

Paid elsewhere but nothing on record; times in the customer's own time zone; a
customer with no failing card asking to change the expiry date.
"""

from __future__ import annotations

import re
import time
import uuid

import pytest

from tests.e2e.conftest import BotServers, WidgetSocket
from tests.e2e.test_settle import _db, _in_language, _payloads, _reseed, _text

pytestmark = pytest.mark.e2e
NBSP = "\u00a0"


@pytest.fixture
def fresh(servers: BotServers) -> BotServers:
    _reseed(servers)
    return servers


def _sender() -> str:
    return f"e2e-native-{uuid.uuid4().hex[:10]}"


NO_PAYMENT = {
    "lv": ("Jau samaksāju, bet joprojām rāda, ka maksājums ir nokavēts",
           ["Pagaidām neredzu", f"25,50{NBSP}€", "48 stundām", "Microsoft 365 Business Standard"],
           "Apmaksas termiņš"),
    "en": ("I already paid but it still says past due",
           ["I don't see a payment", "€25.50", "48 hours", "Microsoft 365 Business Standard"],
           "due on"),
    "zh": ("我已经付过了，为什么还显示逾期？",
           ["还没有查到", "€25.50", "48 小时", "Microsoft 365 Business Standard"],
           "付款截止日期"),
}  # fmt: skip


@pytest.mark.parametrize("language", ["lv", "en", "zh"])
def test_paid_but_no_payment_on_record_says_so_and_offers_to_pay_or_a_person(
    fresh: BotServers, language: str
) -> None:
    said, words, summary = NO_PAYMENT[language]
    sender, meta = _sender(), {**fresh.token("cust-lv-owner"), "language": language}
    replies = fresh.send(sender, said, meta)
    _in_language(replies, language)
    assert all(word in _text(replies) for word in words), _text(replies)
    assert _payloads(replies) == ["/settle_balance", "/request_human"]

    pay_now = fresh.send(sender, "/settle_balance", meta)
    _in_language(pay_now, language)
    assert summary in _text(pay_now)
    assert _payloads(pay_now) == ["/change_expiry", "/pick_other_card", "/add_new_card"]


NO_FAILING_CARD = {
    "lv": ("neviens kartes maksājums nav noraidīts", f"6,00{NBSP}$", "pieder"),
    "zh": ("没有扣款被拒的记录", "US$6.00", "持卡人"),
    "en": ("No card payment has been declined", "$6.00", "owner"),
}


@pytest.mark.parametrize("language", ["lv", "zh", "en"])
def test_no_failing_card_asking_to_change_the_expiry_is_told_what_is_true(
    fresh: BotServers, language: str
) -> None:
    _db(fresh, "DELETE FROM payment_attempts WHERE idempotency_key = 'demo-renewal-cust-en-owner'")
    truth, amount, not_said = NO_FAILING_CARD[language]
    sender, meta = _sender(), {**fresh.token("cust-en-owner"), "language": language}
    replies = fresh.send(sender, "/change_expiry", meta)
    _in_language(replies, language)
    assert truth in _text(replies) and amount in _text(replies)
    assert not_said not in _text(replies)
    assert _payloads(replies) == ["/pick_other_card", "/add_new_card"]


def _pay_with_the_other_card(servers: BotServers, sender: str, meta: dict) -> str:
    cards = servers.send(sender, "/pick_other_card", meta)
    (choice,) = [p for p in _payloads(cards) if p.startswith("/choose_card")]
    servers.send(sender, choice, meta)
    return _text(servers.send(sender, "/affirm", meta))


def test_a_time_zone_that_is_not_one_is_ignored_and_times_are_utc(fresh: BotServers) -> None:
    meta = {**fresh.token("cust-lv-owner"), "language": "lv", "timezone": "Mars/Olympus_Mons"}
    paid = _pay_with_the_other_card(fresh, _sender(), meta)
    assert "Izdevās" in paid and re.search(r"\d{1,2}\. \w+ \d{2}:\d{2} \(UTC\)", paid), paid
    # A long or odd value is not an error either: the message is answered as usual.
    meta["timezone"] = "x" * 5000
    assert "Sveiki" in _text(fresh.send(_sender(), "Labdien!", meta))


def test_the_widget_s_time_zone_comes_over_socket_io(fresh: BotServers) -> None:
    widget = WidgetSocket(fresh.url, uuid.uuid4().hex)
    meta = {**fresh.token("cust-zh-nonowner"), "language": "zh", "timezone": "Asia/Shanghai"}
    try:
        widget.say("/pick_other_card", meta)
        choice = _wait_for_button(widget, "/choose_card")
        widget.say(choice, meta)
        _wait_for_button(widget, "/affirm")
        widget.say("/affirm", meta)
        paid = _wait_for_text(widget, "北京时间")
    finally:
        widget.close()
    assert re.search(r"\d{1,2}月\d{1,2}日 \d{2}:\d{2}（北京时间）。", paid), paid
    assert "银联" in " ".join(m.get("text") or "" for m in widget.received)


def _wait_for_button(widget: WidgetSocket, prefix: str, seconds: float = 30) -> str:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        for message in widget.received:
            for button in message.get("quick_replies") or []:
                if button["payload"].startswith(prefix):
                    return button["payload"]
        time.sleep(0.2)
    raise AssertionError(f"no {prefix} button in {widget.received}")


def _wait_for_text(widget: WidgetSocket, words: str, seconds: float = 30) -> str:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        for message in widget.received:
            if words in (message.get("text") or ""):
                return message["text"]
        time.sleep(0.2)
    raise AssertionError(f"no {words!r} in {widget.received}")
