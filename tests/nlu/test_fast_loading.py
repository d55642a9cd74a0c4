"""Loading a TensorFlow model without tracing its training graph gives the same model."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from rasa.engine.graph import ExecutionContext, GraphSchema
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.nlu.classifiers.diet_classifier import DIETClassifier
from rasa.nlu.featurizers.sparse_featurizer.count_vectors_featurizer import (
    CountVectorsFeaturizer,
)
from rasa.nlu.tokenizers.whitespace_tokenizer import WhitespaceTokenizer
from rasa.shared.nlu.constants import INTENT, INTENT_RANKING_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData
from rasa.utils.tensorflow.models import RasaModel

from bot.nlu import fast_loading

EXAMPLES = {
    "greet": ["hi there", "good morning", "hello friend", "hey you"],
    "payment_declined": [
        "my card was declined",
        "payment failed",
        "charge bounced",
        "card refused",
    ],
    "goodbye": ["bye now", "see you", "talk later", "farewell friend"],
}


def _pipeline(tmp_path: Path):
    storage = LocalModelStorage(tmp_path)
    context = ExecutionContext(GraphSchema({}), "fast-loading")
    tokenizer = WhitespaceTokenizer(WhitespaceTokenizer.get_default_config())
    vectors = CountVectorsFeaturizer.create(
        CountVectorsFeaturizer.get_default_config(), storage, Resource("cv"), context
    )
    return storage, context, tokenizer, vectors


def _featurized(tokenizer, vectors, texts: list[str]) -> list[Message]:
    messages = [Message(data={TEXT: text}) for text in texts]
    tokenizer.process(messages)
    vectors.process(messages)
    return messages


@pytest.fixture
def trained(tmp_path: Path):
    storage, context, tokenizer, vectors = _pipeline(tmp_path)
    data = TrainingData(
        [Message(data={TEXT: t, INTENT: i}) for i, texts in EXAMPLES.items() for t in texts]
    )
    tokenizer.process_training_data(data)
    vectors.train(data)
    vectors.process_training_data(data)
    config = {
        **DIETClassifier.get_default_config(),
        "epochs": 2,
        "number_of_transformer_layers": 1,
        "transformer_size": 32,
        "entity_recognition": False,
        "random_seed": 1,
    }
    resource = Resource("diet")
    DIETClassifier.create(config, storage, resource, context).train(data)
    return storage, context, tokenizer, vectors, config, resource


def _load_and_predict(trained) -> tuple[list, list]:
    storage, context, tokenizer, vectors, config, resource = trained
    diet = DIETClassifier.load(config, storage, resource, context)
    messages = _featurized(tokenizer, vectors, ["hello there", "card declined again", "bye"])
    diet.process(messages)
    weights = [w.numpy() for w in diet.model.weights]
    return [m.get(INTENT_RANKING_KEY) for m in messages], weights


def _rasas_own_load() -> Any:
    """Rasa's RasaModel.load, also when an earlier import installed the fast one."""
    current = RasaModel.__dict__["load"]
    if getattr(current, "__func__", None) is fast_loading._load:
        return fast_loading._rasa_load
    return current


def test_the_fast_load_gives_the_same_weights_and_predictions(trained, monkeypatch) -> None:
    before = RasaModel.__dict__["load"]
    original = _rasas_own_load()
    try:
        RasaModel.load = original  # type: ignore[method-assign]
        rankings, weights = _load_and_predict(trained)
        fast_loading.install_fast_model_loading()
        assert RasaModel.__dict__["load"] is not original
        fast_rankings, fast_weights = _load_and_predict(trained)
    finally:
        RasaModel.load = before  # type: ignore[method-assign]
    assert len(fast_weights) == len(weights)
    for fast, slow in zip(fast_weights, weights, strict=True):
        assert np.array_equal(fast, slow)
    for fast, slow in zip(fast_rankings, rankings, strict=True):
        assert [r["name"] for r in fast] == [r["name"] for r in slow]
        assert np.allclose([r["confidence"] for r in fast], [r["confidence"] for r in slow])


def test_installing_twice_is_harmless() -> None:
    original = RasaModel.__dict__["load"]
    try:
        fast_loading.install_fast_model_loading()
        installed = RasaModel.__dict__["load"]
        fast_loading.install_fast_model_loading()
        assert RasaModel.__dict__["load"] is installed
    finally:
        RasaModel.load = original  # type: ignore[method-assign]


def _ted_weights(model: Path) -> dict[str, np.ndarray]:
    """The dialogue policy's weights after loading the model as the Rasa server does."""
    from rasa.core.agent import Agent

    agent = Agent.load(str(model))
    nodes = agent.processor.graph_runner._instantiated_nodes  # type: ignore[union-attr]
    (ted,) = [node._component for name, node in nodes.items() if "TEDPolicy" in name]
    # TEDPolicy.load turns a failed load into an untrained policy without a word.
    assert ted.model is not None, "the TED policy was not loaded"
    return {variable.name: variable.numpy() for variable in ted.model.weights}


@pytest.mark.e2e
def test_the_bots_own_dialogue_policy_loads_the_same_weights() -> None:
    from bot.ops.launch import DEFAULT_MODEL
    from tests.e2e.conftest import _train

    _train()
    original = RasaModel.__dict__["load"]
    slow = _ted_weights(DEFAULT_MODEL)
    fast_loading.install_fast_model_loading()
    try:
        fast = _ted_weights(DEFAULT_MODEL)
    finally:
        RasaModel.load = original  # type: ignore[method-assign]
    assert fast.keys() == slow.keys() and len(fast) > 10
    assert all(np.array_equal(fast[name], slow[name]) for name in slow)
