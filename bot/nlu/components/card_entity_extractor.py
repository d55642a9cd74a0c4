"""Finds a card's last four digits and an expiry date in a message, by rule.

`card_last4`: four digits standing alone ("ending 4242", "kas beidzas ar 5454",
"尾号1111", "用0005那张") next to a word that names a card or its ending, and not
part of a date. `expiry_date`: the month and year as `bot.billing.expiry` reads them
("12/27", "Dec 2027", "decembris 2027", "2027年12月").

Deterministic rules instead of a trained tagger: these two entities have a closed
form, the rules are checked against every annotated example (tests), and they cost
no training time and no TensorFlow.
"""

from __future__ import annotations

from typing import Any

import regex
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.extractors.extractor import EntityExtractorMixin
from rasa.shared.nlu.constants import (
    ENTITIES,
    ENTITY_ATTRIBUTE_END,
    ENTITY_ATTRIBUTE_START,
    ENTITY_ATTRIBUTE_TYPE,
    ENTITY_ATTRIBUTE_VALUE,
    EXTRACTOR,
    TEXT,
)
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.i18n import fold_diacritics

CARD_LAST4 = "card_last4"
EXPIRY_DATE = "expiry_date"

_MONTH = r"(?:jan|feb|mar|apr|may|mai|jun|jul|aug|sep|oct|okt|nov|dec)[a-z]*\.?"  # en and lv stems
EXPIRY_PATTERNS = [
    # 2027年12月, 27年12月底
    regex.compile(r"(?<!\d)(?:\d{4}|\d{2})\s*年\s*\d{1,2}\s*月(?:底|初|份)?"),
    # 2027. gada decembris / decembrī / decembrim
    regex.compile(r"(?<!\d)\d{4}\.?\s*gad[a-z]*\s+" + _MONTH),
    # 12/27, 12/2027, 12-2027, 12.2027 (not 12.50: that is an amount)
    regex.compile(
        r"(?<![\d/.-])(?:0?[1-9]|1[0-2])\s*(?:[/-]\s*(?:\d{4}|\d{2})|\.\s*\d{4})(?![\d/.-])"
    ),
    # 2027-12, 2027/12
    regex.compile(r"(?<![\d/.-])\d{4}\s*[/.-]\s*(?:0?[1-9]|1[0-2])(?![\d/.-])"),
    # Dec 2027, December '27, decembris 2027
    regex.compile(r"\b" + _MONTH + r",?\s*'?(?:\d{4}|\d{2})(?![\d/-])"),
]
# Four digits, not touching other digits or a date's separators.
FOUR_DIGITS = regex.compile(r"(?<![\d/:-]|\d[.,])\d{4}(?![\d/年月-]|[.,:]\d)")
# Words near the digits that name a card or its ending, after folding diacritics.
CARD_BEFORE = regex.compile(
    r"(ending|ends|end in|last (four|4)|digits|card|visa|master ?card|amex|american express|"
    r"union ?pay|discover|maestro|beidz|beigam|beigu|pedej|cipar|kart|"
    r"尾号|尾號|尾数|尾數|末四位|后四位|後四位|末尾|卡号|卡號|卡|用|选|選|换成|換成)",
    regex.IGNORECASE,
)
# Chinese and Latvian may put the card after the digits: "0005那张", "5454 karti".
CARD_AFTER = regex.compile(
    r"^\s*(结尾|結尾|那张|那張|这张|這張|的卡|的那张|的那張|卡|card|kart)", regex.IGNORECASE
)
CONTEXT = 20


def _fold(text: str) -> str:
    """Diacritics and full-width forms folded, one character for one character."""
    return "".join((fold_diacritics(c) or c)[0] for c in text).casefold()


def expiry_spans(text: str) -> list[tuple[int, int]]:
    folded = _fold(text)
    spans: list[tuple[int, int]] = []
    for pattern in EXPIRY_PATTERNS:
        for match in pattern.finditer(folded):
            start, end = match.span()
            if not any(s < end and start < e for s, e in spans):
                spans.append((start, end))
    return sorted(spans)


def last4_spans(text: str, taken: list[tuple[int, int]]) -> list[tuple[int, int]]:
    folded = _fold(text)
    spans = []
    for match in FOUR_DIGITS.finditer(folded):
        start, end = match.span()
        if any(s < end and start < e for s, e in taken):
            continue
        before = folded[max(0, start - CONTEXT) : start]
        after = folded[end : end + CONTEXT]
        if CARD_BEFORE.search(before) or CARD_AFTER.search(after):
            spans.append((start, end))
    return spans


def find_entities(text: str) -> list[dict[str, Any]]:
    expiry = expiry_spans(text)
    found = [(s, e, EXPIRY_DATE) for s, e in expiry]
    found += [(s, e, CARD_LAST4) for s, e in last4_spans(text, expiry)]
    return [
        {
            ENTITY_ATTRIBUTE_TYPE: kind,
            ENTITY_ATTRIBUTE_VALUE: text[start:end],
            ENTITY_ATTRIBUTE_START: start,
            ENTITY_ATTRIBUTE_END: end,
        }
        for start, end, kind in sorted(found)
    ]


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.ENTITY_EXTRACTOR, is_trainable=False)
class CardEntityExtractor(GraphComponent, EntityExtractorMixin):
    """card_last4 and expiry_date by rule."""

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> CardEntityExtractor:
        return cls()

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        return training_data

    def process(self, messages: list[Message]) -> list[Message]:
        for message in messages:
            found = [
                {**entity, EXTRACTOR: self.__class__.__name__}
                for entity in find_entities(message.get(TEXT) or "")
            ]
            if found:
                message.set(ENTITIES, [*message.get(ENTITIES, []), *found], add_to_output=True)
        return messages
