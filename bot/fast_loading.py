"""Loading a trained TensorFlow model in seconds instead of a minute.

Rasa 3.6 builds a TED or DIET model's weights before loading them by running one
training step through `keras.Model.fit`, which makes TensorFlow trace the whole
training graph (autograph), 25 s per model on these machines: 56 of the 62 s a
Rasa server took to start. The step only has to create the variables, so here it
runs eagerly (no tracing), then the saved weights are loaded, then the model is
compiled again as configured, and prediction is traced once as Rasa does. The
weights and every prediction are the same (tests/test_fast_loading.py).
"""

from __future__ import annotations

from typing import Any

import rasa

RASA_VERSION = "3.6.21"


def _load(
    cls: Any,
    model_file_name: str,
    model_data_example: Any,
    predict_data_example: Any = None,
    finetune_mode: bool = False,
    *args: Any,
    **kwargs: Any,
) -> Any:
    import tensorflow as tf
    from rasa.utils.tensorflow.constants import LEARNING_RATE, RUN_EAGERLY
    from rasa.utils.tensorflow.data_generator import RasaBatchDataGenerator

    model = cls(*args, **kwargs)
    config = kwargs.get("config", {})
    run_eagerly = config.get(RUN_EAGERLY)
    model.compile(
        optimizer=tf.keras.optimizers.Adam(config.get(LEARNING_RATE, 0.001)), run_eagerly=True
    )
    model.fit(RasaBatchDataGenerator(model_data_example, batch_size=1), verbose=False)
    model.load_weights(model_file_name)
    model.compile(optimizer=model.optimizer, run_eagerly=run_eagerly)
    if not finetune_mode and predict_data_example:
        model.run_inference(predict_data_example)
    return model


def install_fast_model_loading() -> None:
    """Replaces RasaModel.load; refuses a Rasa it was not written for. Idempotent."""
    if rasa.__version__ != RASA_VERSION:
        raise RuntimeError(
            f"bot.fast_loading was written for Rasa {RASA_VERSION}, not {rasa.__version__}"
        )
    from rasa.utils.tensorflow.models import RasaModel

    if getattr(RasaModel.load, "__func__", None) is not _load:
        RasaModel.load = classmethod(_load)  # type: ignore[method-assign,assignment]
