"""A card number typed over several messages ("4242 4242", then "4242 4242").

No single message holds card data, so the channels let each one through; only
the conversation shows it. bot.rasa_plugins.patches wraps the step where Rasa
adds a customer message to the conversation, which runs under the
conversation's lock with the conversation loaded: the new message is read
together with the customer's previous ones (bot.security.redaction.find_across), and when
they form card data

- the new message becomes the `card_number_in_chat` payload (the customer is
  told, as for any card number);
- the earlier messages are masked in the loaded conversation, in the store
  (EnvTrackerStore.redact_messages), and in the NLU inbox;
- the widget is told to show them masked (`message_stored`).
"""

from __future__ import annotations

import asyncio
import logging

from rasa.core.channels.channel import UserMessage
from rasa.core.processor import MessageProcessor
from rasa.shared.core.events import SlotSet, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from bot.security.redaction import card_data_payload, find_across, mask_event_data

logger = logging.getLogger(__name__)

# A 19-digit number typed in groups of four is five messages.
PREVIOUS_MESSAGES = 4
REDACTED_TEXT_KEY = "redacted_text"


def _recent_customer_messages(tracker: DialogueStateTracker) -> list[UserUttered]:
    """The customer's latest typed messages, oldest first (payloads end the run)."""
    found: list[UserUttered] = []
    for event in reversed(tracker.events):
        if not isinstance(event, UserUttered):
            continue
        if not event.text or event.text.startswith("/"):
            break
        found.append(event)
        if len(found) == PREVIOUS_MESSAGES:
            break
    return list(reversed(found))


def _mask_loaded(tracker: DialogueStateTracker, replaced: dict[int, tuple[str, str]]) -> None:
    """Masks the events of the loaded conversation, so this turn never sees the digits."""
    masking: list[tuple[str, str]] = []
    for event in tracker.events:
        if isinstance(event, UserUttered) and id(event) in replaced:
            original, masked = replaced[id(event)]
            masking.append((original, masked))
            event.text = masked
            event.parse_data = mask_event_data(dict(event.parse_data), original, masked)  # type: ignore[assignment]
            event.entities = list(event.parse_data.get("entities") or [])
        elif isinstance(event, SlotSet) and isinstance(event.value, str):
            for original, masked in masking:
                event.value = event.value.replace(original, masked)
    for slot in tracker.slots.values():
        if isinstance(slot.value, str):
            for original, masked in masking:
                slot.value = slot.value.replace(original, masked)


async def check_split_card(
    processor: MessageProcessor, message: UserMessage, tracker: DialogueStateTracker
) -> None:
    """Redacts `message` and the earlier messages when together they hold card data."""
    text = message.text
    if not text or text.startswith("/") or not any(c.isdigit() for c in text):
        return
    previous = _recent_customer_messages(tracker)
    if not previous:
        return
    found = find_across([e.text or "" for e in previous], text)
    if not found:
        return
    logger.info("card data split over messages of %s: masked", message.sender_id)
    replaced = {
        id(event): (event.text or "", found[index])
        for index, event in enumerate(previous)
        if index in found
    }
    by_message_id = {
        event.message_id: replaced[id(event)]
        for event in previous
        if id(event) in replaced and event.message_id
    }
    current_masked = found.get(len(previous), text)
    message.text = card_data_payload(current_masked)
    message.metadata = {**(message.metadata or {}), REDACTED_TEXT_KEY: current_masked}
    _mask_loaded(tracker, replaced)
    await _redact_stored(processor, tracker.sender_id, by_message_id)
    send = getattr(message.output_channel, "send_message_stored", None)
    if send is not None:
        for message_id, (_, masked) in by_message_id.items():
            await send(tracker.sender_id, message_id, masked, True)
        if message.message_id:
            await send(tracker.sender_id, message.message_id, current_masked, True)


async def _redact_stored(
    processor: MessageProcessor, sender_id: str, by_message_id: dict[str, tuple[str, str]]
) -> None:
    from bot.db import app_engine, session_scope
    from bot.nlu.inbox import redact_items

    store = getattr(processor.tracker_store, "_tracker_store", processor.tracker_store)
    redact = getattr(store, "redact_messages", None)
    if redact is not None and by_message_id:
        await asyncio.to_thread(redact, sender_id, by_message_id)

    def redact_inbox() -> None:
        with session_scope(app_engine()) as session:
            redact_items(
                session, sender_id, {k: masked for k, (_, masked) in by_message_id.items()}
            )

    await asyncio.to_thread(redact_inbox)
