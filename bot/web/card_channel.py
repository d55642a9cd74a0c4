"""The card form: a page and an endpoint on the Rasa server, outside the chat.

GET  /webhooks/cards/form/<link>   the form, in the conversation's language
POST /webhooks/cards/form/<link>   number, expiry, name, CVC: validated, tokenized
                                   by the gateway, stored as brand + last four +
                                   expiry + token; then the conversation moves on
                                   with the `card_added` intent.
The number and CVC are never stored, logged or sent back in a page.

`?return_to=<page>`: the widget names the page the customer chats on; the saved
and unusable pages link back to it when it is on an allowed origin (bot.security.origins),
so a customer on the company's site gets back to its chat, and the link cannot
send anyone to another site.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
from collections.abc import Awaitable, Callable
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml
from rasa.core.channels.channel import CollectingOutputChannel, InputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.billing.accounts import Card, add_card
from bot.billing.card_links import (
    LinkUnusable,
    language_of,
    open_link,
    record_rejected_post,
    use_link,
)
from bot.billing.expiry import ExpiryError, parse_expiry
from bot.billing.payments import CardRejected, card_brand, digits_only, get_gateway, luhn_valid
from bot.config import get_settings
from bot.db import app_engine, session_scope
from bot.i18n import brand_in_sentence, language_from_accept, resolve_language
from bot.security.auth import REFERENCE_METADATA_KEY, customer_reference
from bot.security.inbound import strip_controls
from bot.security.origins import safe_return_url
from bot.templating import render

logger = logging.getLogger(__name__)

MESSAGES_FILE = Path(__file__).with_name("card_form.yml")
MAX_NAME_LENGTH = 100
# Longer input is cut before it is checked (and refused); no field needs more.
MAX_FIELD_CHARS = 200
SECURITY_HEADERS = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'",
}


@lru_cache(maxsize=1)
def messages() -> dict[str, dict[str, Any]]:
    return yaml.safe_load(MESSAGES_FILE.read_text(encoding="utf-8"))


def validate_card_fields(fields: dict[str, str], today: dt.date) -> dict[str, str]:
    """Field name -> error key, for every field that is not acceptable."""
    errors: dict[str, str] = {}
    number = digits_only(fields.get("number", ""))
    brand = card_brand(number) if luhn_valid(number) else None
    if not luhn_valid(number):
        errors["number"] = "number_invalid"
    elif brand is None:
        errors["number"] = "number_unsupported_brand"
    try:
        parse_expiry(fields.get("expiry", ""), today)
    except ExpiryError as error:
        errors["expiry"] = f"expiry_{error.reason}"
    name = fields.get("name", "").strip()
    if not name or len(name) > MAX_NAME_LENGTH:
        errors["name"] = "name_missing"
    cvc = fields.get("cvc", "").strip()
    cvc_length = 4 if brand == "American Express" else 3
    if not (cvc.isdigit() and len(cvc) == cvc_length):
        errors["cvc"] = "cvc_invalid"
    return errors


# Only these are shown again after a refused post: never the number or the CVC.
SHOWN_AGAIN = ("expiry", "name")


def _page(
    template: str, language: str, status: int = 200, back_to: str | None = None, **context: Any
) -> HTTPResponse:
    text = messages()[language]
    document = render(template, lang=language, text=text, back_to=back_to, **context)
    return response.html(document, status=status, headers=SECURITY_HEADERS)


def render_form(
    language: str, errors: dict[str, str] | None = None, kept: dict[str, str] | None = None
) -> HTTPResponse:
    errors, kept = errors or {}, kept or {}
    shown_again = {field: kept[field] for field in SHOWN_AGAIN if field in kept}
    return _page(
        "cards/form.html",
        language,
        status=400 if errors else 200,
        errors=errors,
        shown_again=shown_again,
    )


def return_url(request: Request) -> str | None:
    """The chat page to go back to, if the request names one on an allowed origin."""
    return safe_return_url(request.args.get("return_to"), get_settings().allowed_origins)


def render_unusable(language: str, back_to: str | None = None) -> HTTPResponse:
    text = messages()[language]
    return _page(
        "cards/message.html",
        language,
        status=410,
        title=text["unusable_title"],
        message=text["unusable_text"],
        back_to=back_to,
    )


def render_saved(language: str, card: Card, back_to: str | None = None) -> HTTPResponse:
    text = messages()[language]
    saved = text["saved_text"].format(
        brand=brand_in_sentence(card.brand, language), last4=card.last4
    )
    return _page(
        "cards/message.html",
        language,
        title=text["saved_title"],
        message=saved,
        back_to=back_to,
    )


class CardFormInput(InputChannel):
    """Serves the card form and hands the saved card back to the conversation."""

    @classmethod
    def name(cls) -> str:
        return "cards"

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        card_form = Blueprint("card_form", __name__)

        @card_form.route("/form/<link>", methods=["GET"])
        async def show(request: Request, link: str) -> HTTPResponse:
            try:
                form = await asyncio.to_thread(_open, link)
            except LinkUnusable:
                return render_unusable(await _unusable_language(request, link), return_url(request))
            return render_form(form.language)

        @card_form.route("/form/<link>", methods=["POST"])
        async def submit(request: Request, link: str) -> HTTPResponse:
            fields = {
                k: strip_controls(request.form.get(k) or "")[:MAX_FIELD_CHARS]
                for k in ("number", "expiry", "name", "cvc")
            }
            try:
                form = await asyncio.to_thread(_open, link)
                errors = validate_card_fields(fields, dt.date.today())
                if errors:
                    await asyncio.to_thread(_reject, link)
                    logger.info("card form rejected for %s: %s", form.sender_id, sorted(errors))
                    return render_form(form.language, errors, fields)
                card, form = await asyncio.to_thread(_store, link, fields)
            except LinkUnusable:
                return render_unusable(await _unusable_language(request, link), return_url(request))
            except CardRejected as rejected:
                # The gateway's refusals count toward the link's strikes like ours do.
                try:
                    await asyncio.to_thread(_reject, link)
                except LinkUnusable:
                    return render_unusable(form.language, return_url(request))
                errors = {rejected.field: f"{rejected.field}_{rejected.reason}"}
                return render_form(form.language, errors, fields)
            await self._continue_conversation(request, on_new_message, form, card)
            return render_saved(form.language, card, return_url(request))

        return card_form

    @staticmethod
    async def _continue_conversation(
        request: Request,
        on_new_message: Callable[[UserMessage], Awaitable[Any]],
        form: Any,
        card: Card,
    ) -> None:
        """Tells the bot about the card, on the channel the customer chats on."""
        agent = request.app.ctx.agent
        tracker = await agent.tracker_store.retrieve(form.sender_id)
        channel_name = tracker.get_latest_input_channel() if tracker else None
        output = None
        for channel in getattr(request.app.ctx, "input_channels", []):
            if channel.name() == channel_name:
                output = channel.get_output_channel()
        reference = customer_reference(form.customer_id, form.sender_id, get_settings().auth_secret)
        message = UserMessage(
            "/card_added" + json.dumps({"card_id": str(card.id)}),
            output or CollectingOutputChannel(),
            form.sender_id,
            input_channel=channel_name or "cards",
            metadata={REFERENCE_METADATA_KEY: reference, "language": form.language},
        )
        await on_new_message(message)


def _open(link: str) -> Any:
    with session_scope(app_engine()) as session:
        return open_link(session, link)


def _language_of(link: str) -> str | None:
    with session_scope(app_engine()) as session:
        return language_of(session, link)


async def _unusable_language(request: Request, link: str) -> str:
    """The link's conversation language; for a link never issued, the browser's."""
    known = await asyncio.to_thread(_language_of, link)
    return resolve_language(known, language_from_accept(request.headers.get("accept-language")))


def _reject(link: str) -> None:
    with session_scope(app_engine()) as session:
        record_rejected_post(session, link)


def _store(link: str, fields: dict[str, str]) -> tuple[Card, Any]:
    expiry = parse_expiry(fields["expiry"], dt.date.today())
    tokenized = get_gateway().tokenize(fields["number"], expiry.month, expiry.year, fields["cvc"])
    with session_scope(app_engine()) as session:
        form = use_link(session, link)
        card = add_card(session, form.customer_id, tokenized, expiry)
    return card, form
