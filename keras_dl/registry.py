"""The model registry: every architecture keras_dl ships is a registered builder.

A builder is a plain function returning a built functional `keras.Model`. Registering it with
`@register_model` makes it reachable by name from Python (`create_model`), from the CLI
(`keras-dl train NAME`), from the hyperparameter tuner (its `search_space`) and from the model
contract test, which checks every registered model on a tiny input (`smoke_kwargs`).

Example:

```python
@register_model(
    family="mlp",
    search_space=lambda hp: {"hidden_units": [hp.Int("width", 32, 512, step=32)]},
    smoke_kwargs={"input_shape": (8, 8, 1), "num_classes": 3, "hidden_units": (4,)},
)
def mlp(*, input_shape=(28, 28, 1), num_classes=10, ...):
    ...

model = keras_dl.create_model("mlp", input_shape=(8, 8, 1), num_classes=10)
```
"""

from __future__ import annotations

import dataclasses
import fnmatch
import inspect
from typing import Any, Callable

# The kinds of learning a registration may name; each is a `keras_dl.tasks.Task`, which says
# how the model is fed, compiled, monitored, evaluated, exported and contract-checked:
#   "classification"             fit(x, labels); one probability (or logit) per class;
#   "classification_with_aux"    the same, trained through extra heads (`task_options`);
#   "pretrained_classification"  the same after greedy pre-training with `pretraining`;
#   "reconstruction"             fit(x, x); an input-shaped reconstruction, compiled with `loss`;
#   "unsupervised"               fit(x); the model adds its own training rule (an RBM);
#   "variational_autoencoder"    fit(x) on the negative ELBO its layers add; served as an
#                                autoencoder;
#   "gan"                        the registered model is a generator; a discriminator made by
#                                `task_options["discriminator"]` trains against it;
#   "image_translation"          fit(x, y) on image pairs, an image out, L1 loss (a U-Net);
#   "image_translation_gan"      the same model trained as pix2pix: against a conditional
#                                discriminator made by `task_options["discriminator"]`, on
#                                the adversarial loss plus λ·L1.
#   "episodic"                   the model embeds; trained and tested on N-way K-shot episodes
#                                of a few-shot dataset's classes (prototypical networks).
#   "multitask"                  a shared trunk with one head per task, fit(x, labels) with one
#                                label column per head (−1: none), jointly or one head at a time.
#   "transfer"                   a source network's trunk under a new head: the head trained
#                                on the frozen trunk, then everything fine-tuned slowly.
#   "text_classification"        raw strings in (a `tf.string` input), one probability per class;
#                                the vocabulary is learnt from the training split before fit.
#   "translation"                source strings to target strings (a seq2seq model): trained
#                                with teacher forcing, tested and served by decoding.
#   "word_embedding"             word vectors learnt from a corpus (word2vec); a word (a string)
#                                in, its vector out.
TASKS = ("classification", "classification_with_aux", "pretrained_classification",
         "reconstruction", "unsupervised", "variational_autoencoder", "gan",
         "image_translation", "image_translation_gan", "domain_adaptation", "episodic",
         "transfer", "multitask", "text_classification", "translation",
         "word_embedding")


@dataclasses.dataclass(frozen=True)
class ModelInfo:
    """What the registry knows about one model.

    Attributes:
        name: the registered name (`"lenet5"`).
        family: the architecture family (`"cnn"`, `"mlp"`, ...), for listing and grouping.
        builder: the builder function.
        search_space: `fn(hp) -> dict` returning builder keyword arguments (and optionally the
            training settings marked tunable in `keras_dl.settings`: `learning_rate`,
            `batch_size`, `optimizer`, `weight_decay`) drawn from a KerasTuner
            `HyperParameters` object.
        smoke_kwargs: keyword arguments that build a tiny instance, used by the model contract.
        train_defaults: `epochs`, `batch_size`, `learning_rate`, `optimizer` that `keras-dl
            train` uses when not given (else 10, 64, 1e-3, adam).
        description: the first line of the builder's docstring.
        task: the name of its task (`TASKS`; `keras_dl.tasks.for_model(name)` gives the
            `Task` object).
        task_options: what its task needs from the model family (for
            "classification_with_aux": `training_model` and `loss_weights`; for "gan" and
            "image_translation_gan": `discriminator`, a function of the generator returning
            its discriminator).
        loss: the reconstruction loss ("mse" or "binary_crossentropy") of a "reconstruction"
            model; None otherwise.
        smoke_output_shape: the per-example output shape of the `smoke_kwargs` instance, when
            it is not `(num_classes,)` (classification) or the input shape (reconstruction).
        pretraining: the greedy pre-training unit (`keras_dl.training.pretraining`, e.g.
            "rbm" for a DBN) that `keras-dl train` runs before fine-tuning; None for none.
        default_params: the parameter count (`count_params()`) of the model built with the
            builder's defaults, when declared, so that listing models needs no build; a test
            builds each model and checks it.
    """

    name: str
    family: str
    builder: Callable[..., Any]
    search_space: Callable[[Any], dict] | None
    smoke_kwargs: dict
    train_defaults: dict
    task: str = "classification"
    loss: str | None = None
    smoke_output_shape: tuple | None = None
    pretraining: str | None = None
    default_params: int | None = None
    task_options: dict = dataclasses.field(default_factory=dict)

    @property
    def description(self) -> str:
        """The first line of the builder's docstring (read when asked: entry points made by a
        factory get their docstring after registration)."""
        doc = inspect.getdoc(self.builder) or ""
        return doc.splitlines()[0] if doc else ""

    @property
    def parameters(self) -> tuple[str, ...]:
        """The keyword arguments the builder accepts."""
        return tuple(inspect.signature(self.builder).parameters)

    def defaults(self) -> dict:
        """The builder's default keyword arguments."""
        return {
            name: p.default
            for name, p in inspect.signature(self.builder).parameters.items()
            if p.default is not inspect.Parameter.empty
        }


_REGISTRY: dict[str, ModelInfo] = {}


def register_model(
    name: str | None = None,
    *,
    family: str,
    search_space: Callable[[Any], dict] | None = None,
    smoke_kwargs: dict | None = None,
    train_defaults: dict | None = None,
    task: str = "classification",
    loss: str | None = None,
    smoke_output_shape: tuple | None = None,
    pretraining: str | None = None,
    default_params: int | None = None,
    task_options: dict | None = None,
):
    """Decorator registering a model builder under `name` (default: the function's name)."""
    if task not in TASKS:
        raise ValueError(f"unknown task {task!r}; allowed: {', '.join(TASKS)}")
    if task == "reconstruction" and loss is None:
        loss = "mse"
    if (task == "pretrained_classification") != (pretraining is not None):
        raise ValueError("a pre-training unit (pretraining=...) goes with task "
                         f"'pretrained_classification', and that task needs one; got task "
                         f"{task!r} with pretraining {pretraining!r}")

    def decorator(builder):
        model_name = name or builder.__name__
        if model_name in _REGISTRY:
            raise ValueError(f"model {model_name!r} is already registered")
        _REGISTRY[model_name] = ModelInfo(
            name=model_name,
            family=family,
            builder=builder,
            search_space=search_space,
            smoke_kwargs=dict(smoke_kwargs or {}),
            train_defaults=dict(train_defaults or {}),
            task=task,
            loss=loss,
            smoke_output_shape=None if smoke_output_shape is None else tuple(smoke_output_shape),
            pretraining=pretraining,
            default_params=default_params,
            task_options=dict(task_options or {}),
        )
        return builder

    return decorator


def list_models(pattern: str = "*", family: str | None = None) -> list[str]:
    """Sorted names of the registered models matching a shell-style `pattern` (and `family`);
    `ValueError` naming the families for a family no model has (a misspelt family would
    otherwise read as "no models")."""
    families = sorted({info.family for info in _REGISTRY.values()})
    if family is not None and family not in families:
        raise ValueError(f"unknown family {family!r}; families: {', '.join(families)}")
    return sorted(
        name
        for name, info in _REGISTRY.items()
        if fnmatch.fnmatch(name, pattern) and (family is None or info.family == family)
    )


def model_info(name: str) -> ModelInfo:
    """The `ModelInfo` of a registered model; `ValueError` naming the known models otherwise."""
    try:
        return _REGISTRY[name]
    except KeyError:
        raise ValueError(
            f"unknown model {name!r}; registered models: {', '.join(list_models())}"
        ) from None


def check_builder_kwargs(name: str, kwargs: dict) -> None:
    """Raise `ValueError` if `kwargs` holds a key the builder of `name` does not take, or a
    value other than True / False for an argument whose default is a bool (`batch_norm="no"`
    would otherwise be read for its truth value, silently)."""
    info = model_info(name)
    allowed = info.parameters
    unknown = sorted(set(kwargs) - set(allowed))
    if unknown:
        raise ValueError(
            f"model {name!r} takes no argument {unknown[0]!r}; allowed: {', '.join(allowed)}"
        )
    for key, default in info.defaults().items():
        if isinstance(default, bool) and key in kwargs and not isinstance(kwargs[key], bool):
            raise ValueError(f"{key} must be True or False, got {kwargs[key]!r}")


def create_model(model_name: str, /, **kwargs):
    """Build the registered model `model_name` with the builder's keyword arguments.

    Returns a built functional `keras.Model`. Raises `ValueError` for an unknown name or an
    argument the builder does not take, naming what is allowed.
    """
    check_builder_kwargs(model_name, kwargs)
    return model_info(model_name).builder(**kwargs)
