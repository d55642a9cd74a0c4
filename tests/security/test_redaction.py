"""Card data typed into the chat: every separator a keyboard types, and nothing else."""

from __future__ import annotations

import logging

import pytest

from bot.security.redaction import (
    CARD_NUMBER_PAYLOAD,
    MASK,
    find_across,
    find_card_data,
    install_log_masking,
    is_card_data_payload,
    mask_card_data,
    mask_event_data,
    redact_message,
)

VISA = "4242424242424242"
# One card number, typed the ways customers type it (5 of these passed at c722b72).
TYPED = [
    pytest.param("4242424242424242", id="plain"),
    pytest.param("4242 4242 4242 4242", id="spaces"),
    pytest.param("4242\u30004242\u30004242\u30004242", id="ideographic-spaces"),
    pytest.param("4242.4242.4242.4242", id="dots"),
    pytest.param("4242  4242  4242  4242", id="double-spaces"),
    pytest.param("4242\u00a04242\u00a04242\u00a04242", id="no-break-spaces"),
    pytest.param("4242\u20134242\u20134242\u20134242", id="en-dashes"),
    pytest.param("4242 \u2014 4242 \u2014 4242 \u2014 4242", id="em-dashes-spaced"),
    pytest.param("4242/4242/4242/4242", id="slashes"),
    pytest.param("4242\t4242\t4242\t4242", id="tabs"),
    pytest.param("4242_4242_4242_4242", id="underscores"),
    pytest.param("4242,4242,4242,4242", id="commas"),
    pytest.param("4242\u200b4242\u200b4242\u200b4242", id="zero-width-spaces"),
    pytest.param("4242\u20604242\ufeff4242\u00ad4242", id="word-joiner-bom-soft-hyphen"),
    pytest.param("\uff14\uff12\uff14\uff12 \uff14\uff12\uff14\uff12 " * 2, id="full-width"),
    pytest.param("4 2 4 2 4 2 4 2 4 2 4 2 4 2 4 2", id="digit-by-digit"),
    pytest.param("4242\n4242\n4242\n4242", id="new-lines"),
    pytest.param("4242\u30fc4242\u30fc4242\u30fc4242", id="katakana-dash"),
    pytest.param("my card is 4242 4242 4242 4242, exp 12/29", id="in-a-sentence"),
    pytest.param("卡号4242424242424242谢谢", id="between-han"),
    pytest.param("3782 822463 10005", id="amex-4-6-5"),
    pytest.param("4000-0000-0000-0002", id="test-card-dashes"),
    pytest.param("6200 0000 0000 0005", id="unionpay"),
    pytest.param("my card number is 4242 4242 4242 4241", id="mistyped-after-card-word"),
    pytest.param("kartes numurs 4242 4242 4242 4241", id="mistyped-after-karte"),
]
LEFT_ALONE = [
    pytest.param("card ending 4242", id="last-four"),
    pytest.param("12/2027", id="expiry"),
    pytest.param("order 123456", id="order-number"),
    pytest.param("order 1234567890123", id="long-order-number"),
    pytest.param("ticket 8600000000000001", id="luhn-valid-but-not-a-card-prefix"),
    pytest.param("+371 2000 0000", id="phone-lv"),
    pytest.param("+86 138 0013 8000", id="phone-zh-international"),
    pytest.param("+1 (415) 555 0132 4000 1234", id="phone-with-extension"),
    pytest.param("8613800138000", id="phone-zh-without-plus"),
    pytest.param("2026-11-05", id="iso-date"),
    pytest.param("05.11.2026.", id="lv-date"),
    pytest.param("2026-11-05 10:30:15", id="date-time"),
    pytest.param("from 2026-11-05 to 2026-12-05", id="two-dates"),
    pytest.param("1,080.00", id="amount-cny"),
    pytest.param("25,50 €", id="amount-eur"),
    pytest.param("12,345,678,901,234.00", id="big-amount-commas"),
    pytest.param("1 234 567 890 123,00", id="big-amount-spaces"),
    pytest.param("4242 4242 4242 4241", id="mistyped-without-context"),
    pytest.param("", id="empty"),
    pytest.param("we have 100 problems", id="words"),
]


@pytest.mark.parametrize("text", TYPED)
def test_a_card_number_is_found_however_it_is_typed(text: str) -> None:
    assert [f.kind for f in find_card_data(text)] == ["card"]
    redacted = redact_message(text)
    assert is_card_data_payload(redacted.text)
    assert redacted.masked is not None
    assert not any(c.isdigit() for c in redacted.masked.replace("12/29", ""))
    assert MASK in redacted.masked


@pytest.mark.parametrize("text", LEFT_ALONE)
def test_other_numbers_pass_through_untouched(text: str) -> None:
    assert find_card_data(text) == []
    assert redact_message(text).text == text and redact_message(text).masked is None
    assert mask_card_data(text) == text


def test_masking_keeps_the_customers_words_and_separators() -> None:
    assert mask_card_data("my card 4242\u30004242\u30004242\u30004242 exp 12/29") == (
        "my card ••••\u3000••••\u3000••••\u3000•••• exp 12/29"
    )
    assert mask_card_data("4242\u200b4242 4242 4242") == "•••••••• •••• ••••"


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("my cvc is 123", "my cvc is •••"),
        ("CVV: 1234", "CVV: ••••"),
        ("security code 123 please", "security code ••• please"),
        ("the card verification code is 987", "the card verification code is •••"),
        ("drošības kods ir 123", "drošības kods ir •••"),
        ("drosibas kods 456", "drosibas kods •••"),
        ("CVC kods: 789", "CVC kods: •••"),
        ("CVV码 123", "CVV码 •••"),
        ("安全码是123", "安全码是•••"),
        ("卡验证码：4567", "卡验证码：••••"),
        ("cvc2 1 2 3", "cvc2 • • •"),
    ],
)
def test_a_security_code_after_its_name_is_masked(text: str, masked: str) -> None:
    assert [f.kind for f in find_card_data(text)] == ["cvc"]
    assert is_card_data_payload(redact_message(text).text)
    assert mask_card_data(text) == masked


@pytest.mark.parametrize("text", ["I called 123 times", "room 101", "cvc? what is that", "code 12"])
def test_three_digits_without_a_security_code_word_stay(text: str) -> None:
    assert find_card_data(text) == []


@pytest.mark.parametrize(
    ("previous", "current", "masked"),
    [
        (["4242 4242"], "4242 4242", {0: "•••• ••••", 1: "•••• ••••"}),
        (["4242 4242", "4242"], "4242", {0: "•••• ••••", 1: "••••", 2: "••••"}),
        (["hi", "my card: 4242 4242"], "4242 4242", {1: "my card: •••• ••••", 2: "•••• ••••"}),
        (
            ["4242\u30004242\u3000"],
            "4242\u30004242",
            {0: "••••\u3000••••\u3000", 1: "••••\u3000••••"},
        ),
        (["my cvc is"], "123", {1: "•••"}),
        (["card ending 4242"], "thanks", {}),
        (["12/27"], "123", {}),
        (["4242 4242", "ok"], "4242 4242", {}),
        ([], VISA, {}),  # found in the message itself, by the channel
    ],
)
def test_a_number_split_over_messages_is_found_together(previous, current, masked) -> None:
    assert find_across(previous, current) == masked


def test_stored_events_are_masked_with_the_entities_cut_from_them() -> None:
    event = {
        "event": "user",
        "text": "4242 4242",
        "parse_data": {
            "text": "4242 4242",
            "entities": [{"entity": "card_last4", "value": "4242"}],
        },
    }
    masked = mask_event_data(event, "4242 4242", "•••• ••••")
    assert masked["text"] == masked["parse_data"]["text"] == "•••• ••••"
    assert masked["parse_data"]["entities"][0]["value"] == "••••"
    assert (
        mask_event_data({"event": "slot", "value": "4242 4242"}, "4242 4242", "x")["value"] == "x"
    )


def test_log_messages_never_carry_a_card_number(caplog: pytest.LogCaptureFixture) -> None:
    install_log_masking()
    install_log_masking()  # idempotent
    with caplog.at_level(logging.INFO):
        logging.getLogger("tests.redaction.rasa").info("Received '%s'", "4242\u30004242 4242.4242")
        logging.getLogger("tests.redaction.sanic").info("order 1234567890123 is fine")
    assert [r.getMessage() for r in caplog.records] == [
        "Received '••••\u3000•••• ••••.••••'",
        "order 1234567890123 is fine",
    ]


@pytest.mark.parametrize(
    ("text", "payload"),
    [
        ("mana jaunā karte ir 4242 4242 4242 4242", CARD_NUMBER_PAYLOAD + '{"language": "lv"}'),
        ("我的卡号是4242424242424242", CARD_NUMBER_PAYLOAD + '{"language": "zh"}'),
        ("4242 4242 4242 4242", CARD_NUMBER_PAYLOAD),  # too short to tell: the conversation's
    ],
)
def test_the_payload_keeps_the_language_the_customer_wrote_in(text: str, payload: str) -> None:
    assert redact_message(text).text == payload
