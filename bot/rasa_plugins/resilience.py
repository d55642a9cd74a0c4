"""What the customer gets when a part of the system behind the bot fails.

Two kinds of failure, two answers, both in the customer's language:

- The action server is down or answers with an error. Rasa 3.6 logs it, drops the
  action's events and carries on predicting, so the customer gets silence or a
  reply that does not fit. `install_remote_action_changes` makes every custom
  action call (including form validation) that fails answer with
  `utter_technical_problem` and wait for the customer's next message. The
  conversation keeps its state; the customer sends the message again once the
  action server is back. (`install_remote_action_changes` also compiles Rasa's
  check of an action's answer once instead of on every call.)
- The conversation store or the lock store (PostgreSQL, Redis) cannot be reached.
  Rasa cannot load or save the conversation, so nothing of that message is stored;
  the channels answer 503 with the same apology (see bot.rasa_plugins.channels), and the
  conversation carries on from its last stored turn when the store is back.
"""

from __future__ import annotations

import logging
from functools import lru_cache
from typing import Any

from rasa.core.actions.action import ActionExecutionRejection, RemoteAction
from rasa.core.tracker_store import FailSafeTrackerStore
from rasa.shared.constants import DOCS_URL_ACTIONS
from rasa.shared.core.constants import ACTION_LISTEN_NAME
from rasa.shared.core.events import BotUttered, Event, FollowupAction
from rasa.shared.exceptions import RasaException

from bot.config import PROJECT_ROOT
from bot.i18n import detect_language, resolve_language
from bot.rasa_plugins.guards import add_action_secret

logger = logging.getLogger(__name__)

TECHNICAL_PROBLEM = "utter_technical_problem"


@lru_cache(maxsize=1)
def _domain_responses() -> dict[str, list[dict[str, Any]]]:
    import yaml

    domain = yaml.safe_load((PROJECT_ROOT / "domain.yml").read_text(encoding="utf-8"))
    return domain.get("responses") or {}


def response_text(
    name: str, language: str, responses: dict[str, list[dict[str, Any]]] | None = None
) -> str:
    """The text of a domain response for one language (its `language` slot condition)."""
    variants = (responses if responses is not None else _domain_responses())[name]
    fallback = variants[0]["text"]
    for variant in variants:
        for condition in variant.get("condition") or []:
            if condition.get("name") == "language" and condition.get("value") == language:
                return variant["text"]
    return fallback


def message_language(text: str | None, metadata: dict[str, Any] | None, slot: Any = None) -> str:
    """The language to apologize in: the conversation's, the page's, or the message's own."""
    return resolve_language(slot, (metadata or {}).get("language"), detect_language(text))


def technical_problem_text(
    text: str | None, metadata: dict[str, Any] | None, slot: Any = None
) -> str:
    return response_text(TECHNICAL_PROBLEM, message_language(text, metadata, slot))


_original_run = RemoteAction.run


async def _run_or_apologize(
    self: RemoteAction, output_channel: Any, nlg: Any, tracker: Any, domain: Any
) -> list[Event]:
    add_action_secret(self.action_endpoint)
    try:
        return await _original_run(self, output_channel, nlg, tracker, domain)
    except ActionExecutionRejection:
        raise
    except RasaException as error:
        logger.error(
            "custom action %s failed (%s); the customer gets an apology", self.name(), error
        )
        latest = tracker.latest_message
        apology = technical_problem_text(
            latest.text if latest else None,
            latest.metadata if latest else None,
            tracker.get_slot("language"),
        )
        return [BotUttered(apology), FollowupAction(ACTION_LISTEN_NAME)]


@lru_cache(maxsize=1)
def _action_result_validator() -> Any:
    from jsonschema.validators import validator_for

    schema = RemoteAction.action_response_format_spec()
    validator_class = validator_for(schema)
    validator_class.check_schema(schema)
    return validator_class(schema)


def _validate_action_result(self: RemoteAction, result: dict[str, Any]) -> bool:
    """Rasa's check of the action server's answer, with the schema compiled once.

    Rasa calls `jsonschema.validate`, which checks the (large) events schema itself
    before every use: a third of the Rasa server's time per message, measured
    with py-spy under load (docs/benchmarks.md). Same schema, same errors.
    """
    from jsonschema import ValidationError

    try:
        _action_result_validator().validate(result)
    except ValidationError as error:
        error.message += (
            f". Failed to validate Action server response from API, "
            f"make sure your response from the Action endpoint is valid. "
            f"For more information about the format visit "
            f"{DOCS_URL_ACTIONS}"
        )
        raise error
    return True


def _raise_store_error(self: FailSafeTrackerStore, error: Exception) -> None:
    logger.error("the conversation store failed: %s", error)
    raise error


def install_strict_tracker_store() -> None:
    """A conversation store that fails makes the message fail, never start over.

    Rasa wraps every tracker store in a FailSafeTrackerStore: when the database is
    down it logs, hands out an empty conversation and keeps the new one in memory.
    The customer then gets the greeting of a new conversation, and that process
    holds a copy that no other process sees. Here the error goes up to the channel,
    which answers 503 with an apology; nothing of the message is kept.
    """
    FailSafeTrackerStore.on_tracker_store_error = _raise_store_error  # type: ignore[method-assign]
    FailSafeTrackerStore.on_tracker_store_retrieve_error = _raise_store_error  # type: ignore[method-assign]


def install_remote_action_changes() -> None:
    """Makes failed custom actions apologize, sign their calls, and check answers cheaper.

    Every call carries the action secret (bot.rasa_plugins.guards). Idempotent;
    bot.rasa_plugins.patches installs it.
    """
    if RemoteAction.run is not _run_or_apologize:
        RemoteAction.run = _run_or_apologize  # type: ignore[method-assign]
        RemoteAction._validate_action_result = _validate_action_result  # type: ignore[method-assign]
