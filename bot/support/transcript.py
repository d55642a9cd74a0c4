"""A conversation's transcript, read from Rasa tracker events (as dicts).

Used for the handoff packet (action server) and the console's live view (Rasa
server): both see the same events. Card numbers never reach the tracker (the
channels redact them), and are masked here once more. A message that held card
data is shown as the customer's masked text. The one-time card-form link the bot
sent is not shown: it is the customer's, and whoever opens it first can add a
card to their account.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from bot.security.redaction import CARD_NUMBER_PAYLOAD, is_card_data_payload, mask_card_numbers

CARD_FORM_LINK = re.compile(r"\S*/webhooks/cards/form/[A-Za-z0-9_\-]+")
CARD_FORM_LINK_LABEL = "[card form link]"

# Button payloads the customer clicked, as an agent would read them.
PAYLOAD_LABELS = {
    "/change_expiry": "[button] Change the expiry date",
    "/pick_other_card": "[button] Use a different card",
    "/add_new_card": "[button] Add a new card",
    "/affirm": "[button] Yes",
    "/deny": "[button] No",
    "/request_human": "[button] Talk to a person",
    "/card_number_in_chat": "[card details masked before they were stored]",
}
EVENT_LABELS = {
    "pause": "Handed to a person",
    "resume": "Back with the bot",
}


def _when(event: dict[str, Any]) -> str:
    stamp = event.get("timestamp")
    moment = (
        dt.datetime.fromtimestamp(float(stamp), dt.timezone.utc)
        if isinstance(stamp, (int, float))
        else dt.datetime.now(dt.timezone.utc)
    )
    return moment.isoformat()


def _user_text(event: dict[str, Any]) -> str | None:
    text = event.get("text")
    intent = ((event.get("parse_data") or {}).get("intent") or {}).get("name") or ""
    if intent.startswith("EXTERNAL_"):
        return None  # triggered by the system, not typed by anyone
    if not text:
        return None
    if is_card_data_payload(text):
        masked = (event.get("metadata") or {}).get("redacted_text")
        label = PAYLOAD_LABELS[CARD_NUMBER_PAYLOAD]
        return f"{masked} {label}" if isinstance(masked, str) and masked else label
    if text.startswith("/"):
        payload = text.split("{", 1)[0]
        if payload == "/choose_card":
            return "[button] Picked a saved card"
        if payload == "/card_added":
            return "[card form] Added a new card"
        return PAYLOAD_LABELS.get(payload, f"[button] {payload}")
    return text


def _bot_text(event: dict[str, Any]) -> str | None:
    text = event.get("text") or ""
    data = event.get("data") or {}
    buttons = data.get("buttons") or []
    if buttons:
        titles = " | ".join(str(b.get("title", "")) for b in buttons)
        text = f"{text}\n[buttons: {titles}]" if text else f"[buttons: {titles}]"
    custom = data.get("custom") or {}
    if isinstance(custom, dict) and "card_form" in custom:
        text = f"{text}\n[card form link sent]" if text else "[card form link sent]"
    return text or None


def transcript(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Customer, bot, agent and handoff lines, oldest first."""
    lines: list[dict[str, Any]] = []
    for event in events:
        kind = event.get("event")
        role, name, text = None, None, None
        if kind == "user":
            role, text = "customer", _user_text(event)
        elif kind == "bot":
            agent = (event.get("metadata") or {}).get("agent")
            role, name, text = (
                ("agent", agent, event.get("text")) if agent else ("bot", None, _bot_text(event))
            )
        elif kind in EVENT_LABELS:
            role, text = "event", EVENT_LABELS[kind]
        if role and text:
            shown = CARD_FORM_LINK.sub(CARD_FORM_LINK_LABEL, mask_card_numbers(text))
            lines.append({"role": role, "text": shown, "at": _when(event), "name": name})
    return lines
