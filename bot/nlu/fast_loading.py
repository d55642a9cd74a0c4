"""Loading a trained TensorFlow model in seconds instead of a minute.

Rasa 3.6 builds a TED or DIET model's weights before loading them by running one
training step through `keras.Model.fit`, which makes TensorFlow trace the whole
training graph (autograph), 25 s per model on these machines: 56 of the 62 s a
Rasa server took to start. Only the variables are needed, so here the loss of one
example is computed eagerly (no tracing, no optimizer step), then the saved weights
are restored and prediction is traced once as Rasa does. The weights and every
prediction are the same (tests/nlu/test_fast_loading.py). A load that fails must raise:
TEDPolicy.load turns a ValueError into an untrained policy without a word.
"""

from __future__ import annotations

from typing import Any

_rasa_load: Any = None


def _load(
    cls: Any,
    model_file_name: str,
    model_data_example: Any,
    predict_data_example: Any = None,
    finetune_mode: bool = False,
    *args: Any,
    **kwargs: Any,
) -> Any:
    if finetune_mode:
        return _rasa_load.__func__(  # type: ignore[attr-defined]
            cls, model_file_name, model_data_example, predict_data_example, True, *args, **kwargs
        )
    import tensorflow as tf
    from rasa.utils.tensorflow.constants import LEARNING_RATE, RUN_EAGERLY
    from rasa.utils.tensorflow.data_generator import RasaBatchDataGenerator

    model = cls(*args, **kwargs)
    config = kwargs.get("config", {})
    model.compile(
        optimizer=tf.keras.optimizers.Adam(config.get(LEARNING_RATE, 0.001)),
        run_eagerly=config.get(RUN_EAGERLY),
    )
    # The loss of one example, eagerly: every layer a training step uses creates its
    # variables, and nothing is traced or optimized.
    batch, _ = RasaBatchDataGenerator(model_data_example, batch_size=1)[0]
    model._training = True
    model.batch_loss(tuple(tf.convert_to_tensor(part) for part in batch))
    model._training = None
    # The checkpoint also holds the optimizer's state, which prediction never uses
    # and which has no variables here: only the model's weights are restored.
    model.load_weights(model_file_name).expect_partial()
    if predict_data_example:
        model.run_inference(predict_data_example)
    return model


def install_fast_model_loading() -> None:
    """Replaces RasaModel.load (bot.rasa_plugins.patches checks Rasa's version). Idempotent."""
    from rasa.utils.tensorflow.models import RasaModel

    global _rasa_load
    if getattr(RasaModel.load, "__func__", None) is not _load:
        _rasa_load = RasaModel.__dict__["load"]
        RasaModel.load = classmethod(_load)  # type: ignore[method-assign,assignment]
