"""A tokenizer for messages that mix Chinese with Latin-script words.

Han-script runs are segmented with jieba; everything else with spaCy's blank
tokenizer for English or Latvian (by the detected language). Each token's lemma
is its lower-case, diacritic-free form, so "derīguma" and "deriguma" share the
same features in the count-vector featurizers.
"""

from __future__ import annotations

import logging
from typing import Any

import regex
from rasa.engine.graph import ExecutionContext
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.tokenizers.tokenizer import Token, Tokenizer
from rasa.shared.nlu.training_data.message import Message

from bot.i18n import fold_diacritics
from bot.nlu.components.language_detector import DETECTED_LANGUAGE

HAN_RUN = regex.compile(r"\p{Han}+")
# Tokens made only of punctuation or symbols carry no meaning for the classifier.
NOISE = regex.compile(r"^[\p{P}\p{S}\s]+$")
LATIN_LANGUAGES = ("en", "lv")


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.MESSAGE_TOKENIZER, is_trainable=False)
class MixedScriptTokenizer(Tokenizer):
    """jieba for Han script, spaCy's blank en/lv tokenizers for the rest."""

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {
            "intent_tokenization_flag": False,
            "intent_split_symbol": "_",
            "token_pattern": None,
            "prefix_separator_symbol": None,
            # Used when no language was detected for a Latin-script message.
            "default_latin_language": "en",
        }

    def __init__(self, config: dict[str, Any]) -> None:
        super().__init__(config)
        default = config["default_latin_language"]
        if default not in LATIN_LANGUAGES:
            raise ValueError(
                f"default_latin_language must be one of {LATIN_LANGUAGES}, not {default!r}"
            )
        import jieba
        import spacy

        jieba.setLogLevel(logging.WARNING)
        jieba.initialize()
        self._jieba = jieba
        self._spacy = {lang: spacy.blank(lang).tokenizer for lang in LATIN_LANGUAGES}
        self._default_latin = default

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> MixedScriptTokenizer:
        return cls(config)

    @staticmethod
    def required_packages() -> list[str]:
        return ["jieba", "spacy"]

    def tokenize(self, message: Message, attribute: str) -> list[Token]:
        text = message.get(attribute) or ""
        language = message.get(DETECTED_LANGUAGE)
        latin = language if language in LATIN_LANGUAGES else self._default_latin
        tokens: list[Token] = []
        position = 0
        for han in HAN_RUN.finditer(text):
            tokens.extend(self._latin_tokens(text[position : han.start()], position, latin))
            tokens.extend(self._han_tokens(han.group(), han.start()))
            position = han.end()
        tokens.extend(self._latin_tokens(text[position:], position, latin))
        return self._apply_token_pattern(tokens)

    def _han_tokens(self, run: str, offset: int) -> list[Token]:
        return [
            Token(word, offset + start, offset + end)
            for word, start, end in self._jieba.tokenize(run)
            if not NOISE.match(word)
        ]

    def _latin_tokens(self, run: str, offset: int, language: str) -> list[Token]:
        if not run.strip():
            return []
        return [
            Token(
                token.text,
                offset + token.idx,
                offset + token.idx + len(token.text),
                lemma=fold_diacritics(token.text.lower()),
            )
            for token in self._spacy[language](run)
            if not NOISE.match(token.text)
        ]
