"""The NLU data keeps the promises of PRODUCT.md and the foundation issue."""

from __future__ import annotations

import re
from collections import Counter, defaultdict

import pytest
from rasa.shared.nlu.training_data.loading import load_data

from bot.config import PROJECT_ROOT
from bot.i18n import fold_diacritics
from bot.nlu.importers import HeldOutExcludingImporter, is_held_out

LANGUAGES = ("en", "lv", "zh")
MINIMUMS = {
    **dict.fromkeys(
        ["payment_declined", "card_expired", "settle_balance", "still_past_due", "request_human"],
        40,
    ),
    **dict.fromkeys(["greet", "goodbye", "affirm", "deny", "thank_you"], 15),
    "out_of_scope": 60,
}
# No held-out or public evaluation text is a training example: tests/nlu/test_overlap.py
LATVIAN_LETTERS = re.compile(r"[āčēģīķļņšūž]", re.IGNORECASE)
HAN = re.compile(r"[\u4e00-\u9fff]")
LATIN_WORD = re.compile(r"[A-Za-z]{2,}")


def normalized(text: str) -> str:
    return re.sub(r"[\W_]+", " ", fold_diacritics(text.lower())).strip()


def examples(path):
    return load_data(str(path)).intent_examples


@pytest.fixture(scope="module")
def training() -> dict[str, list]:
    return {lang: examples(PROJECT_ROOT / "data" / "nlu" / lang) for lang in LANGUAGES}


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_intent_has_enough_examples(training, language: str) -> None:
    counts = Counter(m.get("intent") for m in training[language])
    for intent, minimum in MINIMUMS.items():
        assert counts[intent] >= minimum, f"{language}/{intent}: {counts[intent]} < {minimum}"


@pytest.mark.parametrize("language", LANGUAGES)
def test_no_text_is_filed_under_two_intents(training, language: str) -> None:
    intents = defaultdict(set)
    for message in training[language]:
        intents[normalized(message.get("text"))].add(message.get("intent"))
    assert {text: i for text, i in intents.items() if len(i) > 1} == {}


def test_latvian_is_also_typed_without_diacritics(training) -> None:
    by_intent = defaultdict(list)
    for message in training["lv"]:
        by_intent[message.get("intent")].append(message.get("text"))
    for intent, texts in by_intent.items():
        plain = [t for t in texts if not LATVIAN_LETTERS.search(t)]
        assert len(plain) >= len(texts) // 5, f"{intent}: {len(plain)} of {len(texts)}"
    assert any("deriguma termin" in t.lower() for t in by_intent["card_expired"])


def test_chinese_mixes_in_latin_words(training) -> None:
    by_intent = defaultdict(list)
    for message in training["zh"]:
        by_intent[message.get("intent")].append(message.get("text"))
    for intent, texts in by_intent.items():
        mixed = [t for t in texts if LATIN_WORD.search(t)]
        assert len(mixed) >= len(texts) // 6, f"{intent}: {len(mixed)} of {len(texts)}"


def test_entities_for_cards_and_expiry_dates_are_annotated(training) -> None:
    for language in LANGUAGES:
        entities = Counter(e["entity"] for m in training[language] for e in m.get("entities") or [])
        assert entities["card_last4"] >= 8 and entities["expiry_date"] >= 8, (language, entities)


def test_rasa_train_does_not_read_the_held_out_files() -> None:
    importer = HeldOutExcludingImporter(
        str(PROJECT_ROOT / "config.yml"),
        str(PROJECT_ROOT / "domain.yml"),
        [str(PROJECT_ROOT / "data")],
    )
    texts = {m.get("text") for m in importer.get_nlu_data().intent_examples}
    held = {
        m.get("text")
        for lang in LANGUAGES
        for m in examples(PROJECT_ROOT / "data" / "test" / f"nlu_{lang}.yml")
    }
    assert texts and not any(is_held_out(f) for f in importer._nlu_files)
    assert held - texts == held - {t for t in held if t in texts}
    assert is_held_out(str(PROJECT_ROOT / "data" / "test" / "nlu_lv.yml"))
    assert not is_held_out(str(PROJECT_ROOT / "data" / "nlu" / "lv" / "billing.yml"))
