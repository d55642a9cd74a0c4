"""A terminal chat with the running bot over the REST channel, as a signed-in customer.

What was said since the last message (an agent's replies, the card form's
follow-up) is read from Rasa's HTTP API with the installation's API token.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable
from typing import Any
from urllib.parse import quote


def send(url: str, sender: str, text: str, metadata: dict[str, Any], timeout: float = 30) -> list:
    """Posts one message to the REST channel; returns the bot's replies."""
    body = json.dumps({"sender": sender, "message": text, "metadata": metadata}).encode()
    request = urllib.request.Request(
        f"{url.rstrip('/')}/webhooks/rest/webhook",
        data=body,
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return json.loads(response.read().decode() or "[]")


def bot_messages(
    url: str, sender: str, timeout: float = 30, token: str | None = None
) -> list[dict[str, Any]]:
    """Every bot message of the conversation so far, from the HTTP API's tracker."""
    from bot.security.installation import api_token

    address = (
        f"{url.rstrip('/')}/conversations/{quote(sender, safe='')}/tracker"
        f"?token={quote(token or api_token(), safe='')}"
    )
    with urllib.request.urlopen(address, timeout=timeout) as response:
        events = json.loads(response.read().decode()).get("events") or []
    return [
        {
            "text": e.get("text"),
            "buttons": (e.get("data") or {}).get("buttons"),
            "agent": (e.get("metadata") or {}).get("agent"),
        }
        for e in events
        if e.get("event") == "bot"
    ]


def render(reply: dict[str, Any]) -> str:
    """One bot reply as terminal text, buttons numbered; "" for a widget-only payload."""
    lines = [reply["text"]] if reply.get("text") else []
    for number, button in enumerate(reply.get("buttons") or [], start=1):
        lines.append(f"  [{number}] {button.get('title')}  ({button.get('payload')})")
    return "\n".join(lines)


def chat_loop(
    url: str, token: str | None, language: str | None, read: Callable[[str], str] = input
) -> None:
    """Reads lines from the terminal until EOF or /quit; a button's number picks it."""
    sender = f"shell-{uuid.uuid4().hex[:8]}"
    metadata: dict[str, Any] = {}
    if token:
        metadata["customer_token"] = token
    if language:
        metadata["language"] = language
    buttons: list[dict[str, Any]] = []
    seen = 0
    print(f"Chatting with {url} as {sender}. Type /quit to leave.")
    print(
        "(An empty line shows what was said since: after the card form, or a support "
        "agent's replies.)"
    )
    while True:
        try:
            text = read("you> ").strip()
        except (EOFError, KeyboardInterrupt):
            print()
            return
        if text in ("/quit", "/exit"):
            return
        if not text:
            try:
                history = bot_messages(url, sender)
            except (urllib.error.URLError, OSError) as exc:
                print(f"(the bot at {url} did not answer: {exc})")
                continue
            for reply in history[seen:]:
                if rendered := render(reply):
                    speaker = f"{reply['agent']} (support)> " if reply.get("agent") else "bot> "
                    print(speaker + rendered.replace("\n", "\n" + " " * len(speaker)))
                buttons = reply.get("buttons") or buttons
            seen = len(history)
            continue
        if text.isdigit() and 0 < int(text) <= len(buttons):
            text = buttons[int(text) - 1]["payload"]
        try:
            replies = send(url, sender, text, metadata)
        except (urllib.error.URLError, OSError) as exc:
            print(f"(the bot at {url} did not answer: {exc}; is `make run` running?)")
            continue
        buttons = []
        for reply in replies:
            if rendered := render(reply):
                print("bot> " + rendered.replace("\n", "\n     "))
            buttons = reply.get("buttons") or buttons
        try:
            seen = len(bot_messages(url, sender))
        except (urllib.error.URLError, OSError):
            pass
