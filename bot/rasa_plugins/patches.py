"""Every change this project makes to Rasa 3.6 itself, installed by one function.

Rasa 3.6 has no hook for any of these, so each replaces one method or function of
Rasa's. They were written against Rasa 3.6.21 and are checked against nothing
else: `install` refuses to start on another version, so that an upgrade makes
someone read each of them again instead of losing one silently.

- API guard (guards.install_api_guard). Rasa: the HTTP API is open unless
  `--auth-token` is given. Here: the token, a Host allow-list, JSON bodies only,
  CORS for the pages allowed to use the chat.
- Remote actions (resilience.install_remote_action_changes). Rasa: a failing
  action server gives silence. Here: the apology (`utter_technical_problem`), the
  action secret on every call, the answer's schema compiled once.
- Strict tracker store (resilience.install_strict_tracker_store). Rasa: a failing
  store hands out an empty conversation. Here: the error reaches the channel
  (503 and the apology).
- Split card numbers (split_cards.check_split_card). Rasa: each message stands
  alone. Here: a number typed over several messages is masked.
- Fast model loading (bot.nlu.fast_loading.install_fast_model_loading). Rasa: TED is
  loaded by tracing a training step (25 s). Here: the weights restored eagerly.
- Story search (bot.nlu.story_search.install_story_search). Rasa: `rasa test`
  reads test stories from .venv too. Here: hidden folders and virtual
  environments are left out (also installed by bot.nlu.components).
- Log masking (bot.security.redaction.install_log_masking). Rasa: logs print
  what customers type. Here: card data masked in every log record.

`install` runs when anything in this package is imported (its `__init__`): the
Rasa server imports the channels of credentials.yml and the stores and event
broker of endpoints.yml from here, so any one of them brings all the changes
(tests/rasa_plugins/test_patches.py). The action server's one change, the action
secret check, is rasa-sdk's and lives with the actions (actions/guard.py).
"""

from __future__ import annotations

from typing import Any

RASA_VERSION = "3.6.21"


def require_version(package: str, found: str, written_for: str) -> None:
    """Refuses to run on a version these changes were not written for."""
    if found != written_for:
        raise RuntimeError(
            f"this project changes {package} {written_for} in place (bot/rasa_plugins/patches.py) "
            f"and was not checked against {package} {found}: install {package}=={written_for}, "
            "or check each change against the new version and update the pin"
        )


def _install_split_card_check() -> None:
    """Reads each new message together with the customer's previous ones."""
    from rasa.core.processor import MessageProcessor

    from bot.rasa_plugins.split_cards import check_split_card

    original = MessageProcessor._handle_message_with_tracker
    if getattr(original, "_bot_split_cards", False):
        return

    async def handle(self: Any, message: Any, tracker: Any) -> None:
        await check_split_card(self, message, tracker)
        await original(self, message, tracker)

    handle._bot_split_cards = True  # type: ignore[attr-defined]
    MessageProcessor._handle_message_with_tracker = handle  # type: ignore[method-assign]


def install() -> None:
    """Installs every change to Rasa; idempotent.

    Raises:
        RuntimeError: the installed Rasa is not the version they were written for.
    """
    import rasa

    require_version("rasa", rasa.__version__, RASA_VERSION)
    from bot.nlu.fast_loading import install_fast_model_loading
    from bot.nlu.story_search import install_story_search
    from bot.rasa_plugins.guards import install_api_guard
    from bot.rasa_plugins.resilience import (
        install_remote_action_changes,
        install_strict_tracker_store,
    )
    from bot.security.redaction import install_log_masking

    install_log_masking()
    install_api_guard()
    install_remote_action_changes()
    install_strict_tracker_store()
    _install_split_card_check()
    install_fast_model_loading()
    install_story_search()


def installed() -> dict[str, bool]:
    """Which changes are in place, read off Rasa itself (not off a flag of ours)."""
    import logging

    import rasa.core.run
    import rasa.shared.data
    from rasa.core.actions.action import RemoteAction
    from rasa.core.processor import MessageProcessor
    from rasa.core.tracker_store import FailSafeTrackerStore
    from rasa.utils.tensorflow.models import RasaModel

    from bot.nlu import fast_loading, story_search
    from bot.rasa_plugins import resilience

    return {
        "api_guard": bool(getattr(rasa.core.run.configure_app, "_bot_guarded", False)),
        "remote_actions": RemoteAction.run is resilience._run_or_apologize
        and RemoteAction._validate_action_result is resilience._validate_action_result,
        "strict_tracker_store": FailSafeTrackerStore.on_tracker_store_error
        is resilience._raise_store_error
        and FailSafeTrackerStore.on_tracker_store_retrieve_error is resilience._raise_store_error,
        "split_cards": bool(
            getattr(MessageProcessor._handle_message_with_tracker, "_bot_split_cards", False)
        ),
        "fast_loading": getattr(RasaModel.load, "__func__", None) is fast_loading._load,
        "story_search": rasa.shared.data._find_data_files_in_directory
        is story_search._find_data_files_in_directory,
        "log_masking": bool(getattr(logging.getLogRecordFactory(), "masks_card_data", False)),
    }
