"""A KerasTuner HyperModel for any registered model, from its declared search space.

With a resolved training config (`keras_dl.tuning.tune` gives one), a trial runs exactly what
`keras-dl train` runs (`keras_dl.training.preparation`: split, seeding, the task's compile and
training model, input checks, greedy pre-training, augmentation, precision, early stopping,
the learning-rate schedule, batch-norm recalibration), with the drawn values in place of the
config's; only the epoch budget and the directory differ. Without one it is a plain
HyperModel: `fit(hp, model, x, y, ...)` fits the arrays it is given.
"""


from __future__ import annotations

import keras
import keras_tuner

import keras_dl.models  # noqa: F401  (registers the builders)
from keras_dl import compat, registry, settings, tasks
from keras_dl.tasks import adversarial_spec
from keras_dl.training import preparation
from keras_dl.training.callbacks import precise_batch_norm_callback
from keras_dl.training.compiling import compile_for_task
from keras_dl.training.resolve import jsonable


def build_from_hyperparameters(model_name: str, hp, **fixed):
    """Draw the builder arguments of `model_name` from `hp`; returns `(model, training)`.

    `fixed` are builder arguments that are not searched (input shape, number of classes);
    `training` holds the drawn training settings (`keras_dl.settings.TUNABLE`: learning rate,
    batch size, optimizer, weight decay), where declared.
    """
    drawn, training = draw(model_name, hp)
    model = registry.create_model(model_name, **{**drawn, **fixed})
    return model, training


def draw(model_name: str, hp) -> tuple[dict, dict]:
    """`(builder_kwargs, training_settings)` drawn from `hp` by the model's search space."""
    info = registry.model_info(model_name)
    if info.search_space is None:
        raise ValueError(f"model {model_name!r} declares no search space")
    drawn = dict(info.search_space(hp))
    training = {key: drawn.pop(key) for key in settings.TUNABLE if key in drawn}
    drawn = {key: tuple(v) if isinstance(v, list) else v for key, v in drawn.items()}
    return drawn, training


def trial_config(config: dict, hp) -> dict:
    """The resolved config of the trial `hp`: `config` with the drawn builder arguments and
    training settings in place of its own (checked as `keras-dl train` checks them)."""
    drawn, training = draw(config["model"], hp)
    for key, value in training.items():
        settings.BY_NAME[key].validate(value)
    trial = {**config, **training,
             "builder_kwargs": jsonable({**config["builder_kwargs"], **drawn})}
    if trial.get("adversarial"):  # ε and α listed as choices: each trial draws one of each
        trial["adversarial"] = adversarial_spec.draw(
            trial["adversarial"], lambda key, values: hp.Choice(f"adversarial_{key}", values))
    trial["learning_rate"] = float(trial["learning_rate"])
    if trial.get("weight_decay", 0.0) == 0.0:
        trial.pop("weight_decay", None)
    return trial


class RegisteredHyperModel(keras_tuner.HyperModel):
    """A `keras_tuner.HyperModel` for any registered model, from its declared search space.

    `RegisteredHyperModel(name, config=..., data=...)` (what `tune` makes): `build(hp)` builds
    and compiles the trial's model through `keras_dl.training.preparation`; `fit(hp, model,
    **kwargs)` pre-trains where the config says, then fits the prepared batches, with the
    tuner's callbacks and epochs.

    `RegisteredHyperModel(name, **fixed)`: `build(hp)` returns the model compiled for its task
    with the drawn optimizer and learning rate; `fit(hp, model, x, y, ...)` uses the drawn
    batch size.
    """

    def __init__(self, model_name: str, *, config: dict | None = None,
                 data: preparation.RunData | None = None, strategy=None, **fixed):
        super().__init__(name=model_name)
        registry.model_info(model_name)  # unknown names fail here
        self.model_name = model_name
        self.fixed = fixed
        self.config = config
        self.data = data
        self.strategy = strategy
        self._fit_models = {}

    def build(self, hp):
        if self.config is None:
            model, training = build_from_hyperparameters(self.model_name, hp, **self.fixed)
            info = registry.model_info(self.model_name)
            return compile_for_task(
                model, info.task, training.get("optimizer", "adam"),
                training.get("learning_rate", 1e-3), info.loss,
                training.get("weight_decay", 0.0),
            )
        config = trial_config(self.config, hp)
        model, fit_model = preparation.build_model(config, self.strategy)
        self._fit_models = {id(model): (fit_model, config)}  # the trial in hand only
        return model

    def fit(self, hp, model, *args, **kwargs):
        """Fit one trial; its traced graphs are released afterwards (see
        `keras_dl.compat.released_custom_gradients`), so memory stays flat over trials."""
        with compat.released_custom_gradients():
            if self.config is None:
                return self._fit_arrays(hp, model, *args, **kwargs)
            return self._fit_prepared(model, **kwargs)

    def _fit_prepared(self, model, *, epochs=None, callbacks=(), verbose=0, **kwargs):
        fit_model, config = self._fit_models.get(id(model)) or (model, trial_config(
            self.config, keras_tuner.HyperParameters()))
        strategy = self.strategy
        preparation.before_fit(model, fit_model, config, self.data, verbose=verbose,
                               strategy=strategy)
        train_data, val_data, steps = preparation.fit_datasets(config, fit_model, self.data,
                                                               strategy)
        tuner_callbacks = list(callbacks)
        if fit_model is not model:  # the tuner's checkpoints hold the inference network
            tuner_callbacks = [_OnModel(callback, model) for callback in tuner_callbacks]
        # first: the objective under its plain name, for a model that logs it under another
        # (a training model with auxiliary heads: its main output's; a multitask model, with
        # or without a training model: its first head's)
        task = tasks.for_config(config)
        tuner_callbacks.insert(0, _PlainNames({key: task.monitor_key(key, fit_model)
                                               for key in task.objectives}))
        return fit_model.fit(
            train_data, validation_data=val_data, epochs=epochs or config["epochs"],
            callbacks=[*preparation.fit_callbacks(config, fit_model, self.data),
                       *tuner_callbacks],
            shuffle=False, verbose=verbose, initial_epoch=kwargs.get("initial_epoch", 0),
            **steps)

    def _fit_arrays(self, hp, model, *args, **kwargs):
        batch_size = hp.values.get("batch_size")
        x = args[0] if args else kwargs.get("x")
        if not _is_dataset(x) and x is not None:  # batch norm behind dropout / drop-path
            precise_bn = precise_batch_norm_callback(model, x)
            if precise_bn is not None:
                kwargs["callbacks"] = [*kwargs.get("callbacks", []), precise_bn]
        if batch_size is not None and not _is_dataset(x):
            kwargs["batch_size"] = batch_size
        return model.fit(*args, **kwargs)


class _PlainNames(keras.callbacks.Callback):
    """Logs a training model's main-output figures under the plain names the objective uses
    (`val_accuracy` for `val_predictions_accuracy`), before the tuner reads them."""

    def __init__(self, keys: dict):
        super().__init__()
        self.keys = {plain: key for plain, key in keys.items() if plain != key}

    def on_epoch_end(self, epoch, logs=None):
        for plain, key in self.keys.items():
            if logs is not None and key in logs:
                logs[plain] = logs[key]


class _OnModel(keras.callbacks.Callback):
    """`callback` seeing `model` as the model being trained (while `fit` trains a training
    model that shares its weights, such as one with auxiliary heads)."""

    def __init__(self, callback, model):
        super().__init__()
        self.callback = callback
        self.callback.set_model(model)

    def set_model(self, model):
        pass

    def __getattribute__(self, name):
        if name.startswith("on_"):
            return getattr(object.__getattribute__(self, "callback"), name)
        return object.__getattribute__(self, name)


def _is_dataset(x) -> bool:
    return type(x).__name__.endswith("Dataset")

