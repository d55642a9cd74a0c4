"""Scripted conversations over the REST channel against the real servers."""

from __future__ import annotations

import uuid

import pytest

from bot.i18n import detect_language
from tests.e2e.conftest import BotServers

pytestmark = pytest.mark.e2e
NBSP = "\u00a0"


def _sender() -> str:
    return f"e2e-{uuid.uuid4().hex[:10]}"


def _texts(replies: list[dict]) -> str:
    return " ".join(r.get("text", "") for r in replies)


def _assert_language(replies: list[dict], language: str) -> None:
    assert replies, "the bot said nothing"
    for reply in replies:
        if "text" in reply:  # custom payloads (the widget's status line) carry no text
            assert detect_language(reply["text"]) == language, reply["text"]


@pytest.mark.parametrize(
    "customer, language, greeting, problem, facts, payloads, thanks",
    [
        (
            "cust-lv-owner",
            "lv",
            "Labdien!",
            "Mans kartes maksājums tika noraidīts, kāpēc?",
            ["Microsoft 365 Business Standard", f"25,50{NBSP}€", "4242", "derīguma termiņš"],
            ["/change_expiry", "/pick_other_card", "/add_new_card"],
            "Paldies par palīdzību",
        ),
        (
            "cust-lv-owner",
            "lv",
            "sveiki",
            "kartei beidzies deriguma termins, ko darit?",
            ["Microsoft 365 Business Standard", f"25,50{NBSP}€", "4242"],
            ["/change_expiry", "/pick_other_card", "/add_new_card"],
            "paldies",
        ),
        (
            "cust-zh-nonowner",
            "zh",
            "你好",
            "我的卡被decline了，怎么回事？",
            ["Microsoft 365 E3", "¥1,080.00", "1111", "余额不足"],
            ["/pick_other_card", "/add_new_card"],
            "谢谢你",
        ),
        (
            "cust-en-owner",
            "en",
            "Hello there",
            "Why was my card payment declined?",
            ["Microsoft 365 Business Basic", "$6.00", "8431", "expired"],
            ["/change_expiry", "/pick_other_card", "/add_new_card"],
            "Thanks a lot",
        ),
    ],
)
def test_a_customer_learns_what_is_past_due_and_what_to_do(
    servers: BotServers, customer, language, greeting, problem, facts, payloads, thanks
) -> None:
    sender, metadata = _sender(), servers.token(customer)

    hello = servers.send(sender, greeting, metadata)
    _assert_language(hello, language)

    replies = servers.send(sender, problem, metadata)
    _assert_language(replies, language)
    text = _texts(replies)
    for fact in facts:
        assert fact in text
    assert [b["payload"] for b in replies[-1]["buttons"]] == payloads

    _assert_language(servers.send(sender, thanks, metadata), language)


def test_a_customer_with_nothing_past_due_is_told_so(servers: BotServers) -> None:
    replies = servers.send(
        _sender(), "I want to pay my outstanding balance", servers.token("cust-en-current")
    )
    assert "nothing is past due" in _texts(replies)


@pytest.mark.parametrize(
    "language, message, marker",
    [
        ("en", "I already paid yesterday but it still says past due", "48 hours"),
        ("lv", "Jau samaksāju, bet joprojām rāda, ka maksājums ir nokavēts", "48 stundas"),
        ("zh", "我已经付过钱了，为什么还显示逾期？", "48 小时"),
    ],
)
def test_the_48_hour_note(servers: BotServers, language, message, marker) -> None:
    # cust-en-current has nothing open and no payment the bot made: the general note.
    replies = servers.send(_sender(), message, servers.token("cust-en-current"))
    _assert_language(replies, language)
    assert marker in _texts(replies)


@pytest.mark.parametrize(
    "language, message, queued",
    [
        ("en", "Can I talk to a real person please", "Your place in the queue"),
        ("lv", "gribu runat ar cilveku", "Jūsu vieta rindā"),
        ("zh", "转人工客服", "您目前排在第"),
    ],
)
def test_asking_for_a_person_queues_the_conversation(
    servers: BotServers, language, message, queued
) -> None:
    sender = _sender()
    replies = servers.send(sender, message)
    _assert_language(replies, language)
    assert queued in _texts(replies)
    assert servers.send(sender, "hello?") == []  # paused until an agent answers


@pytest.mark.parametrize(
    "language, message",
    [
        ("en", "What's the weather like in Riga tomorrow?"),
        ("lv", "Kāds rīt būs laiks Rīgā?"),
        ("zh", "明天北京天气怎么样？"),
    ],
)
def test_out_of_scope_gets_a_polite_redirect(servers: BotServers, language, message) -> None:
    replies = servers.send(_sender(), message)
    _assert_language(replies, language)
    assert len(replies) == 1


@pytest.mark.parametrize(
    "metadata",
    [
        pytest.param({}, id="no-token"),
        pytest.param({"customer_token": "forged.token.x"}, id="forged"),
    ],
)
def test_without_a_valid_token_the_bot_cannot_see_the_account(
    servers: BotServers, metadata
) -> None:
    replies = servers.send(_sender(), "My card payment was declined", metadata)
    text = _texts(replies)
    assert "can't see your account" in text
    assert "Settle balance" in text
    assert "$6.00" not in text and "4242" not in text


def test_an_expired_token_sees_no_account(servers: BotServers) -> None:
    replies = servers.send(
        _sender(), "Mans maksājums tika noraidīts", servers.token("cust-lv-owner", ttl=-5)
    )
    text = _texts(replies)
    assert "neredzu jūsu kontu" in text and "25,50" not in text


def test_the_token_decides_whose_account_not_the_sender(servers: BotServers) -> None:
    sender = _sender()
    first = _texts(servers.send(sender, "my payment was declined", servers.token("cust-en-owner")))
    assert "$6.00" in first
    second = _texts(
        servers.send(sender, "my payment was declined again", servers.token("cust-zh-nonowner"))
    )
    assert "1,080.00" in second and "$6.00" not in second and "8431" not in second


def test_widget_language_is_kept_for_a_short_ambiguous_message(servers: BotServers) -> None:
    sender = _sender()
    metadata = {**servers.token("cust-lv-owner"), "language": "lv"}
    _assert_language(servers.send(sender, "ok", metadata), "lv")
    _assert_language(servers.send(sender, "Hello, my card payment failed", metadata), "en")
    _assert_language(servers.send(sender, "ok", metadata), "en")
    _assert_language(servers.send(sender, "我的卡过期了", metadata), "zh")


def test_the_http_api_parses_intents_and_entities(servers: BotServers) -> None:
    result = servers.parse("my card ending in 5454 was declined")
    assert result["intent"]["name"] == "payment_declined"
    entities = {(e["entity"], e["value"]) for e in result["entities"]}
    assert ("card_last4", "5454") in entities
    assert ("language", "en") in entities


def test_the_terminal_chat_shows_replies_and_picks_buttons_by_number(
    servers: BotServers, capsys: pytest.CaptureFixture
) -> None:
    from bot.cli.chat import chat_loop

    lines = iter(["Mans maksājums tika noraidīts", "2", "/quit"])
    token = servers.token("cust-lv-owner")["customer_token"]
    chat_loop(servers.url, token, "lv", read=lambda _prompt: next(lines))
    out = capsys.readouterr().out
    assert f"25,50{NBSP}€" in out
    assert "[2] Izvēlēties citu karti  (/pick_other_card)" in out
    assert "Ar kuru karti vēlaties samaksāt" in out and "Mastercard •••• 5454 (08/2029)" in out
