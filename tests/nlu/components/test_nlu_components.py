"""The custom NLU components, built the way Rasa builds them, on real messages."""

from __future__ import annotations

import pytest
from rasa.engine.storage.resource import Resource
from rasa.nlu.constants import TOKENS_NAMES
from rasa.shared.nlu.constants import ENTITIES, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.nlu.components.language_detector import DETECTED_LANGUAGE, LanguageDetector
from bot.nlu.components.mixed_script_tokenizer import MixedScriptTokenizer


@pytest.fixture
def detector(storage, context) -> LanguageDetector:
    return LanguageDetector.create({}, storage, Resource("detector"), context)


@pytest.fixture
def tokenizer(storage, context) -> MixedScriptTokenizer:
    config = {**MixedScriptTokenizer.get_default_config()}
    return MixedScriptTokenizer.create(config, storage, Resource("tokenizer"), context)


def _pipeline(detector, tokenizer, text: str) -> Message:
    message = Message(data={TEXT: text})
    detector.process([message])
    tokenizer.process([message])
    return message


def _tokens(message: Message) -> list[tuple[str, str]]:
    return [(t.text, t.lemma) for t in message.get(TOKENS_NAMES[TEXT])]


def test_chinese_with_a_latin_word_is_segmented_by_script(detector, tokenizer) -> None:
    message = _pipeline(detector, tokenizer, "我的卡被decline了，怎么办？")
    assert [text for text, _ in _tokens(message)] == [
        "我",
        "的",
        "卡",
        "被",
        "decline",
        "了",
        "怎么办",
    ]


def test_token_offsets_point_into_the_text(detector, tokenizer) -> None:
    text = "付款fail了 card ending 4242"
    message = _pipeline(detector, tokenizer, text)
    for token in message.get(TOKENS_NAMES[TEXT]):
        assert text[token.start : token.end] == token.text


def test_latvian_without_diacritics_shares_lemmas_with_the_written_form(
    detector, tokenizer
) -> None:
    written = _tokens(_pipeline(detector, tokenizer, "Kartes derīguma termiņš ir beidzies"))
    typed = _tokens(_pipeline(detector, tokenizer, "kartes deriguma termins ir beidzies"))
    assert [lemma for _, lemma in written] == [lemma for _, lemma in typed]
    assert written[1] == ("derīguma", "deriguma")


def test_punctuation_is_dropped_and_dates_stay_whole(detector, tokenizer) -> None:
    message = _pipeline(detector, tokenizer, "Change the expiry to 12/2027, please!")
    assert [text for text, _ in _tokens(message)] == [
        "Change",
        "the",
        "expiry",
        "to",
        "12/2027",
        "please",
    ]


def test_a_chinese_date_entity_aligns_with_tokens(tokenizer) -> None:
    example = Message(
        data={
            TEXT: "有效期改成2028年3月",
            "intent": "change_expiry",
            ENTITIES: [{"entity": "expiry_date", "start": 5, "end": 12, "value": "2028年3月"}],
        }
    )
    tokenizer.process_training_data(TrainingData([example]))
    tokens = example.get(TOKENS_NAMES[TEXT])
    starts, ends = {t.start for t in tokens}, {t.end for t in tokens}
    assert 5 in starts and 12 in ends


@pytest.mark.parametrize(
    "text, language",
    [
        ("My payment was declined", "en"),
        ("Mans maksājums tika noraidīts", "lv"),
        ("mans maksajums netika pienemts", "lv"),
        ("我的卡被decline了", "zh"),
        ("paldies", "lv"),
        ("Labdien!", "lv"),
        ("hello", "en"),
    ],
)
def test_the_detector_reports_the_language_entity(detector, text: str, language: str) -> None:
    message = Message(data={TEXT: text})
    detector.process([message])
    entities = [e for e in message.get(ENTITIES) if e["entity"] == "language"]
    assert [e["value"] for e in entities] == [language]
    assert entities[0]["extractor"] == "LanguageDetector"


@pytest.mark.parametrize("text", ["ok", "jā", "👍", "qwpzx vvrn tlk", "brrzt kkv mmq"])
def test_an_ambiguous_message_reports_no_language(detector, text: str) -> None:
    message = Message(data={TEXT: text})
    detector.process([message])
    assert not [e for e in message.get(ENTITIES, []) if e["entity"] == "language"]


def test_training_examples_get_no_language_entity(detector) -> None:
    example = Message(data={TEXT: "Mans maksājums tika noraidīts", "intent": "payment_declined"})
    detector.process_training_data(TrainingData([example]))
    assert example.get(DETECTED_LANGUAGE) == "lv"
    assert not example.get(ENTITIES)


def test_an_unknown_default_language_is_refused(storage, context) -> None:
    config = {**MixedScriptTokenizer.get_default_config(), "default_latin_language": "de"}
    with pytest.raises(ValueError):
        MixedScriptTokenizer.create(config, storage, Resource("t"), context)


def test_messages_of_only_unseen_words_fall_back(storage, context, detector, tokenizer) -> None:
    from rasa.shared.nlu.constants import INTENT

    from bot.nlu.components.unknown_words_fallback import UnknownWordsFallback

    resource = Resource("unknown_words")
    training = TrainingData(
        [_pipeline(detector, tokenizer, t) for t in ("my card was declined", "mana karte")]
    )
    component = UnknownWordsFallback.create(
        UnknownWordsFallback.get_default_config(), storage, resource, context
    )
    component.train(training)
    loaded = UnknownWordsFallback.load(
        UnknownWordsFallback.get_default_config(), storage, resource, context
    )

    def classify(text: str) -> str:
        message = _pipeline(detector, tokenizer, text)
        message.set(INTENT, {"name": "stop", "confidence": 0.97})
        loaded.process([message])
        return message.get(INTENT)["name"]

    assert classify("qwpzx vvrn tlk") == "nlu_fallback"
    assert classify("zvmq prtk blorfēšana") == "nlu_fallback"
    assert classify("the card is broken") == "stop"  # "card" is known
    assert classify("MANA KARTITE nestrada") == "stop"  # "mana" is known, diacritics folded
    assert classify("kartīte") == "stop"  # one word: left to DIET
