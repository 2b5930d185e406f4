"""A KerasTuner HyperModel for any registered model, from its declared search space."""


from __future__ import annotations

import keras_tuner

import keras_dl.models  # noqa: F401  (registers the builders)
from keras_dl import compat, distribute, registry
from keras_dl.training.callbacks import precise_batch_norm_callback
from keras_dl.training.trainer import compile_for_task


def build_from_hyperparameters(model_name: str, hp, **fixed):
    """Draw the builder arguments of `model_name` from `hp`; returns `(model, training)`.

    `fixed` are builder arguments that are not searched (input shape, number of classes);
    `training` holds the drawn `learning_rate`, `batch_size` and `optimizer`, where declared.
    """
    info = registry.model_info(model_name)
    if info.search_space is None:
        raise ValueError(f"model {model_name!r} declares no search space")
    drawn = dict(info.search_space(hp))
    training = {key: drawn.pop(key) for key in registry.TRAINING_KEYS if key in drawn}
    drawn = {key: tuple(v) if isinstance(v, list) else v for key, v in drawn.items()}
    model = registry.create_model(model_name, **{**drawn, **fixed})
    return model, training


class RegisteredHyperModel(keras_tuner.HyperModel):
    """A `keras_tuner.HyperModel` for any registered model, from its declared search space.

    `build(hp)` returns the model compiled for its task (`compile_for_task`) with the drawn
    optimizer and learning rate; `fit(hp, model, ...)` uses the drawn batch size.
    """

    def __init__(self, model_name: str, **fixed):
        super().__init__(name=model_name)
        registry.model_info(model_name)  # unknown names fail here
        self.model_name = model_name
        self.fixed = fixed

    def build(self, hp):
        model, training = build_from_hyperparameters(self.model_name, hp, **self.fixed)
        info = registry.model_info(self.model_name)
        return compile_for_task(
            model, info.task, training.get("optimizer", "adam"),
            training.get("learning_rate", 1e-3), info.loss,
        )

    def fit(self, hp, model, *args, **kwargs):
        """Fit with the drawn batch size; the trial's traced graphs are released afterwards
        (see `keras_dl.compat.released_custom_gradients`), so memory stays flat over trials."""
        batch_size = hp.values.get("batch_size")
        x = args[0] if args else kwargs.get("x")
        if not _is_dataset(x) and x is not None:  # batch norm behind dropout / drop-path
            precise_bn = precise_batch_norm_callback(model, x)
            if precise_bn is not None:
                kwargs["callbacks"] = [*kwargs.get("callbacks", []), precise_bn]
        if not _is_dataset(x) and distribute.is_distributed(model.distribute_strategy):
            args, kwargs = _distributed_fit_arguments(model.distribute_strategy, args, kwargs,
                                                      batch_size or 32)
        elif batch_size is not None and not _is_dataset(x):
            kwargs["batch_size"] = batch_size
        with compat.released_custom_gradients():
            return model.fit(*args, **kwargs)


def _distributed_fit_arguments(strategy, args, kwargs, global_batch):
    """numpy `fit` arguments as explicitly sharded distributed datasets with step counts.

    The drawn batch size is global (KerasTuner's convention): each replica takes its share.
    """
    args = list(args)
    x = args.pop(0) if args else kwargs.pop("x")
    y = args.pop(0) if args else kwargs.pop("y")
    kwargs.pop("batch_size", None)
    per_replica = max(1, global_batch // strategy.num_replicas_in_sync)
    kwargs["x"], kwargs["steps_per_epoch"] = distribute.distributed_dataset(
        strategy, x, y, per_replica, shuffle=True)
    if kwargs.get("validation_data") is not None:
        x_val, y_val = kwargs["validation_data"][:2]
        kwargs["validation_data"], kwargs["validation_steps"] = distribute.distributed_dataset(
            strategy, x_val, y_val, per_replica)
    return tuple(args), kwargs


def _is_dataset(x) -> bool:
    return type(x).__name__.endswith("Dataset")
