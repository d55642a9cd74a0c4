"""Intent from what a message means, and from how it is spelled.

A regularized logistic regression over two blocks of features:
- the dense sentence embedding (`SentenceEmbeddingFeaturizer`): meaning, across
  languages and phrasings never seen in training;
- TF-IDF of character n-grams (1-4, within words, case and Latvian diacritics
  folded): the product's own words ("E3", "derīguma termiņš", "转人工") and typos.

Each block is L2-normalized, the n-gram block weighted by `char_weight`, so neither
drowns the other. Measured against DIET on public corpora in docs/nlu-design.md:
DIET memorizes sparse n-grams and reads "my card payment did not work" as "no"; a
linear model over the embedding generalizes, and trains in seconds.

The model is kept as plain arrays and JSON (no pickle): the classes, coefficients,
n-gram vocabulary and IDF weights.
"""

from __future__ import annotations

import json
import logging
from typing import Any

import numpy as np
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.classifiers.classifier import IntentClassifier
from rasa.shared.nlu.constants import INTENT, INTENT_RANKING_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData
from scipy.sparse import csr_matrix, hstack

from bot.i18n import fold_diacritics

logger = logging.getLogger(__name__)

MODEL_FILE = "model.npz"
META_FILE = "meta.json"


def _spelling(text: str) -> str:
    return fold_diacritics(text.casefold())


class _Ngrams:
    """Character n-gram TF-IDF, rebuilt from its vocabulary and IDF when loaded."""

    def __init__(self, ngram_range: tuple[int, int], min_df: int) -> None:
        from sklearn.feature_extraction.text import TfidfVectorizer

        self.vectorizer = TfidfVectorizer(
            analyzer="char_wb",
            ngram_range=ngram_range,
            min_df=min_df,
            sublinear_tf=True,
            preprocessor=_spelling,
            dtype=np.float32,
        )

    def fit(self, texts: list[str]) -> _Ngrams:
        self.vectorizer.fit(texts)
        return self

    def transform(self, texts: list[str]) -> csr_matrix:
        return self.vectorizer.transform(texts)

    def state(self) -> tuple[dict[str, int], np.ndarray]:
        vocabulary = {k: int(v) for k, v in self.vectorizer.vocabulary_.items()}
        return vocabulary, np.asarray(self.vectorizer.idf_, dtype=np.float32)

    @classmethod
    def restore(
        cls, ngram_range: tuple[int, int], vocabulary: dict[str, int], idf: np.ndarray
    ) -> _Ngrams:
        ngrams = cls(ngram_range, 1)
        ngrams.vectorizer.set_params(vocabulary=vocabulary)
        ngrams.vectorizer.idf_ = idf
        return ngrams


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=True)
class MeaningIntentClassifier(GraphComponent, IntentClassifier):
    """Logistic regression over the sentence embedding and character n-grams."""

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {
            # Inverse regularization strength of the logistic regression.
            "C": 16.0,
            # Weight of the (L2-normalized) n-gram block next to the embedding's.
            "char_weight": 1.0,
            "ngram_range": [1, 4],
            "min_df": 2,
            "ranking_length": 10,
            "max_iter": 3000,
        }

    def __init__(
        self,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        classes: list[str] | None = None,
        coefficients: np.ndarray | None = None,
        intercepts: np.ndarray | None = None,
        ngrams: _Ngrams | None = None,
    ) -> None:
        self.config = {**self.get_default_config(), **config}
        if float(self.config["C"]) <= 0 or float(self.config["char_weight"]) < 0:
            raise ValueError("C must be positive and char_weight not negative")
        low, high = self.config["ngram_range"]
        if not 1 <= low <= high:
            raise ValueError(
                f"ngram_range must be [low, high] with 1 <= low <= high, not {[low, high]}"
            )
        self._storage = model_storage
        self._resource = resource
        self.classes = classes or []
        self.coefficients = coefficients
        self.intercepts = intercepts
        self.ngrams = ngrams

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> MeaningIntentClassifier:
        return cls(config, model_storage, resource)

    @staticmethod
    def required_packages() -> list[str]:
        return ["sklearn"]

    def _ngram_range(self) -> tuple[int, int]:
        low, high = self.config["ngram_range"]
        return int(low), int(high)

    def _features(self, messages: list[Message]) -> csr_matrix:
        rows = []
        for message in messages:
            _, sentence = message.get_dense_features(TEXT)
            if sentence is None:
                raise ValueError(
                    "MeaningIntentClassifier needs a dense sentence featurizer before it "
                    "(SentenceEmbeddingFeaturizer) in the pipeline"
                )
            rows.append(np.asarray(sentence.features, dtype=np.float32).reshape(-1))
        meaning = np.vstack(rows)
        norms = np.linalg.norm(meaning, axis=1, keepdims=True)
        meaning = meaning / np.where(norms == 0, 1, norms)
        assert self.ngrams is not None
        spelling = self.ngrams.transform([m.get(TEXT) or "" for m in messages])
        weight = float(self.config["char_weight"])
        return hstack([csr_matrix(meaning), spelling * weight]).tocsr()

    def train(self, training_data: TrainingData) -> Resource:
        from sklearn.linear_model import LogisticRegression

        examples = [m for m in training_data.intent_examples if m.get(TEXT)]
        labels = [m.get(INTENT) for m in examples]
        if len(set(labels)) < 2:
            logger.warning("MeaningIntentClassifier needs at least two intents; not trained")
            return self._resource
        self.ngrams = _Ngrams(self._ngram_range(), int(self.config["min_df"])).fit(
            [m.get(TEXT) for m in examples]
        )
        model = LogisticRegression(
            C=float(self.config["C"]), max_iter=int(self.config["max_iter"])
        ).fit(self._features(examples), labels)
        self.classes = [str(c) for c in model.classes_]
        self.coefficients = model.coef_.astype(np.float32)
        self.intercepts = model.intercept_.astype(np.float32)
        self._persist()
        return self._resource

    def _persist(self) -> None:
        assert self.ngrams is not None
        assert self.coefficients is not None and self.intercepts is not None
        vocabulary, idf = self.ngrams.state()
        with self._storage.write_to(self._resource) as directory:
            np.savez(
                directory / MODEL_FILE, coef=self.coefficients, intercept=self.intercepts, idf=idf
            )
            meta = {"classes": self.classes, "vocabulary": vocabulary}
            (directory / META_FILE).write_text(json.dumps(meta, ensure_ascii=False), "utf-8")

    @classmethod
    def load(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        **kwargs: Any,
    ) -> MeaningIntentClassifier:
        component = cls(config, model_storage, resource)
        try:
            with model_storage.read_from(resource) as directory:
                arrays = np.load(directory / MODEL_FILE, allow_pickle=False)
                meta = json.loads((directory / META_FILE).read_text("utf-8"))
        except (ValueError, FileNotFoundError):
            logger.warning("MeaningIntentClassifier has no trained model; it predicts nothing")
            return component
        component.classes = meta["classes"]
        component.coefficients = arrays["coef"]
        component.intercepts = arrays["intercept"]
        component.ngrams = _Ngrams.restore(
            component._ngram_range(), meta["vocabulary"], arrays["idf"]
        )
        return component

    def _probabilities(self, messages: list[Message]) -> np.ndarray:
        assert self.coefficients is not None and self.intercepts is not None
        scores = self._features(messages) @ self.coefficients.T + self.intercepts
        scores = np.asarray(scores)
        if len(self.classes) == 2:
            # sklearn's binary model has one row of coefficients: for the second class.
            scores = np.hstack([np.zeros_like(scores), scores])
        scores -= scores.max(axis=1, keepdims=True)
        exp = np.exp(scores)
        return exp / exp.sum(axis=1, keepdims=True)

    def process(self, messages: list[Message]) -> list[Message]:
        if self.coefficients is None or not messages:
            return messages
        probabilities = self._probabilities(messages)
        length = int(self.config["ranking_length"])
        for message, row in zip(messages, probabilities, strict=True):
            order = np.argsort(-row)
            ranking = [
                {"name": self.classes[j], "confidence": float(row[j])}
                for j in (order[:length] if length > 0 else order)
            ]
            message.set(INTENT, ranking[0], add_to_output=True)
            message.set(INTENT_RANKING_KEY, ranking, add_to_output=True)
        return messages

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        return training_data
