"""Card numbers typed into the chat: found and removed before anything keeps them."""

from __future__ import annotations

import regex

# 13 to 19 digits, optionally grouped by spaces or dashes: every card length.
# Not only Luhn-valid runs: a mistyped card number is just as private.
CARD_NUMBER = regex.compile(r"(?<!\d)(?:\d[ -]?){12,18}\d(?!\d)")
CARD_NUMBER_PAYLOAD = "/card_number_in_chat"


def contains_card_number(text: str | None) -> bool:
    return bool(text) and CARD_NUMBER.search(text) is not None


def redact_message(text: str | None) -> str | None:
    """The message to keep: the whole text is replaced when it holds a card number.

    The rest of such a message is dropped on purpose: its only safe use would be
    to understand it, and the customer is asked to use the card form instead.
    """
    return CARD_NUMBER_PAYLOAD if contains_card_number(text) else text


def mask_card_numbers(text: str) -> str:
    """For logs and transcripts: each card number becomes "[card number removed]"."""
    return CARD_NUMBER.sub("[card number removed]", text)
