"""Rasa's FallbackClassifier with a confidence threshold per language.

The classifier is not equally sure in every language: the training data, the
embedding model's coverage and the way people write differ. The thresholds are
chosen per language from measured precision and recall (scripts/choose_thresholds.py,
docs/nlu-design.md); a message whose language was not detected ("ok", "👍") uses
`threshold`.
"""

from __future__ import annotations

from typing import Any

from rasa.engine.graph import ExecutionContext
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.classifiers.fallback_classifier import (
    THRESHOLD_KEY,
    FallbackClassifier,
    _fallback_intent,
)
from rasa.shared.nlu.constants import INTENT, INTENT_RANKING_KEY, PREDICTED_CONFIDENCE_KEY
from rasa.shared.nlu.training_data.message import Message

from bot.nlu.components.language_detector import DETECTED_LANGUAGE

THRESHOLDS_KEY = "language_thresholds"


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=False)
class LanguageFallbackClassifier(FallbackClassifier):
    """nlu_fallback below the threshold of the message's detected language."""

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {**FallbackClassifier.get_default_config(), THRESHOLDS_KEY: {}}

    def __init__(self, config: dict[str, Any]) -> None:
        super().__init__(config)
        for language, value in (config.get(THRESHOLDS_KEY) or {}).items():
            if not 0 <= float(value) <= 1:
                raise ValueError(f"the threshold for {language!r} must be between 0 and 1")
        if not 0 <= float(config[THRESHOLD_KEY]) <= 1:
            raise ValueError("threshold must be between 0 and 1")

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> LanguageFallbackClassifier:
        return cls(config)

    def threshold_for(self, message: Message) -> float:
        thresholds = self.component_config.get(THRESHOLDS_KEY) or {}
        language = message.get(DETECTED_LANGUAGE)
        return float(thresholds.get(language, self.component_config[THRESHOLD_KEY]))

    def _nlu_confidence_below_threshold(self, message: Message) -> tuple[bool, float]:
        confidence = message.data[INTENT].get(PREDICTED_CONFIDENCE_KEY)
        return confidence < self.threshold_for(message), confidence

    def process(self, messages: list[Message]) -> list[Message]:
        for message in messages:
            if not message.data.get(INTENT) or not self._should_fallback(message):
                continue
            confidence = self.threshold_for(message)
            message.data[INTENT] = _fallback_intent(confidence)
            message.data.setdefault(INTENT_RANKING_KEY, [])
            message.data[INTENT_RANKING_KEY].insert(0, _fallback_intent(confidence))
        return messages
