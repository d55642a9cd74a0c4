"""Detects each message's language and reports it as the `language` entity.

The `language` slot is mapped from that entity, so the replies follow the
customer. A message too short to tell yields no entity and the slot keeps its
value. Training messages only get the `detected_language` attribute that the
tokenizer reads: the classifiers are not taught a `language` entity.
"""

from __future__ import annotations

from typing import Any

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.constants import (
    ENTITIES,
    ENTITY_ATTRIBUTE_CONFIDENCE,
    ENTITY_ATTRIBUTE_END,
    ENTITY_ATTRIBUTE_START,
    ENTITY_ATTRIBUTE_TYPE,
    ENTITY_ATTRIBUTE_VALUE,
    EXTRACTOR,
    TEXT,
)
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.i18n import detect_language, language_confidence

LANGUAGE_ENTITY = "language"
DETECTED_LANGUAGE = "detected_language"
# Below this, a message does not switch the conversation's language: lingua calls
# keyboard mashing ("qwpzx vvrn tlk") Latvian at 0.76, real short Latvian ("Labdien!",
# "paldies") scores 0.85 and more.
SWITCH_CONFIDENCE = 0.8


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.ENTITY_EXTRACTOR, is_trainable=False)
class LanguageDetector(GraphComponent):
    """Han script -> zh; English vs Latvian by lingua; unclear -> nothing."""

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> LanguageDetector:
        return cls()

    @staticmethod
    def required_packages() -> list[str]:
        return ["lingua"]

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        for example in training_data.training_examples:
            text = example.get(TEXT)
            if text:
                example.set(DETECTED_LANGUAGE, detect_language(text))
        return training_data

    def process(self, messages: list[Message]) -> list[Message]:
        for message in messages:
            text = message.get(TEXT) or ""
            language = detect_language(text)
            message.set(DETECTED_LANGUAGE, language)
            if language is None:
                continue
            confidence = language_confidence(text)
            if confidence < SWITCH_CONFIDENCE:
                continue
            entity = {
                ENTITY_ATTRIBUTE_TYPE: LANGUAGE_ENTITY,
                ENTITY_ATTRIBUTE_VALUE: language,
                ENTITY_ATTRIBUTE_START: 0,
                ENTITY_ATTRIBUTE_END: len(text),
                ENTITY_ATTRIBUTE_CONFIDENCE: round(confidence, 3),
                EXTRACTOR: self.__class__.__name__,
            }
            message.set(ENTITIES, [*message.get(ENTITIES, []), entity], add_to_output=True)
        return messages
