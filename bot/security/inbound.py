"""Checks on what a chat client sends, before Rasa parses, logs or stores any of it.

Shared by the REST and Socket.IO channels. A refused message gets a status and a
stable code; an accepted one is cleaned: control characters (NUL included, which
PostgreSQL cannot store) and lone surrogates removed, Unicode line and paragraph
separators made plain new lines, Unicode in NFC, and only the metadata keys the
bot reads are kept: the customer token, the page's language and the browser's time
zone (an IANA name; anything else is dropped, and times are then shown in UTC).
(Card data is redacted by the channels, bot.rasa_plugins.channels.)

The two channels' conversations never meet: the Socket.IO channel's ids are 32
hex digits that the server hands out, and the REST channel refuses such a sender.
"""

from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import dataclass
from typing import Any

from bot.i18n import valid_timezone

MAX_MESSAGE_CHARS = 2000
MAX_BODY_BYTES = 64 * 1024
SENDER_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:@-]{0,127}")
# The Socket.IO channel's conversation ids (bot.rasa_plugins.channels): not a REST sender.
SOCKET_SESSION_ID = re.compile(r"[0-9a-f]{32}")
# Unicode's own line breaks, which YAML and str.splitlines() also break lines at.
LINE_SEPARATORS = {"\u2028": "\n", "\u2029": "\n"}
# Metadata the bot reads, with the longest value it accepts; anything else is dropped.
METADATA_LIMITS = {"customer_token": 4096, "language": 16}
# Intents only the system sends (the console's hand-back, close).
RESERVED_PREFIX = "/EXTERNAL_"


@dataclass
class MessageRefused(Exception):
    status: int
    code: str
    message: str


def strip_controls(text: str) -> str:
    """The text without control characters (but new lines and tabs) or lone surrogates.

    NUL cannot be stored by PostgreSQL and a lone surrogate cannot be encoded as
    UTF-8: either would fail the write and the request with it.
    """
    return "".join(
        LINE_SEPARATORS.get(ch, ch)
        for ch in text.replace("\r\n", "\n")
        if ch in "\n\t" or unicodedata.category(ch) not in ("Cc", "Cs")
    )


def clean_text(text: Any) -> str:
    """The message as the bot will see it.

    Raises:
        MessageRefused: not a string, empty once cleaned, too long, or reserved.
    """
    if not isinstance(text, str):
        raise MessageRefused(400, "bad_message", '"message" must be a string.')
    kept = unicodedata.normalize("NFC", strip_controls(text)).strip()
    if not kept:
        raise MessageRefused(400, "empty_message", "The message is empty.")
    if len(kept) > MAX_MESSAGE_CHARS:
        raise MessageRefused(
            413, "message_too_long", f"A message can be at most {MAX_MESSAGE_CHARS} characters."
        )
    if kept.startswith(RESERVED_PREFIX):
        raise MessageRefused(400, "reserved_intent", "This intent is sent only by the system.")
    return kept


def clean_metadata(metadata: Any) -> dict[str, str]:
    """The metadata keys the bot reads, each a string of bounded length, and a valid time zone.

    Raises:
        MessageRefused: metadata that is not an object, or a known key with a bad value.
    """
    if metadata is None:
        return {}
    if not isinstance(metadata, dict):
        raise MessageRefused(400, "bad_metadata", '"metadata" must be an object.')
    kept: dict[str, str] = {}
    for key, limit in METADATA_LIMITS.items():
        value = metadata.get(key)
        if value is None:
            continue
        if not isinstance(value, str) or len(value) > limit:
            raise MessageRefused(
                400,
                "bad_metadata",
                f'"metadata.{key}" must be a string of at most {limit} characters.',
            )
        kept[key] = value
    # A time zone is a nicety: one that is not a known IANA name is ignored, not refused.
    timezone = valid_timezone(metadata.get("timezone"))
    if timezone:
        kept["timezone"] = timezone
    return kept


def clean_sender(sender: Any) -> str:
    if not isinstance(sender, str) or not SENDER_ID.fullmatch(sender):
        raise MessageRefused(
            400,
            "bad_sender",
            '"sender" must be 1 to 128 letters, digits or - _ . : @, '
            "starting with a letter or digit.",
        )
    if SOCKET_SESSION_ID.fullmatch(sender):
        raise MessageRefused(
            400,
            "bad_sender",
            '"sender" looks like a chat widget session (32 hex digits): those belong to '
            "the Socket.IO channel. Use another id.",
        )
    return sender


def parse_rest_body(body: bytes) -> tuple[str, str, dict[str, str]]:
    """(sender, text, metadata) from a REST channel request body.

    Raises:
        MessageRefused: the body is too large, not UTF-8 JSON, not an object, or a
            field is missing or malformed.
    """
    if len(body) > MAX_BODY_BYTES:
        raise MessageRefused(
            413, "body_too_large", f"The body can be at most {MAX_BODY_BYTES} bytes."
        )
    try:
        data = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise MessageRefused(400, "bad_json", "The body must be UTF-8 JSON.") from None
    if not isinstance(data, dict):
        raise MessageRefused(
            400, "bad_json", 'The body must be a JSON object: {"sender": ..., "message": ...}.'
        )
    return (
        clean_sender(data.get("sender")),
        clean_text(data.get("message")),
        clean_metadata(data.get("metadata")),
    )
