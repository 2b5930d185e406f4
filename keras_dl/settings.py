"""The training settings, once: `TrainConfig` and its table of `Setting`s.

Every setting of a training run is declared here, with its type, default, allowed values and
help text. Everything else is derived from this table: the options and help of
`keras-dl train` (`add_arguments`), the arguments of `keras_dl.training.train` and its
docstring, the checks (`TrainConfig.check`), the settings a search space may draw
(`TUNABLE`), the record in a run's `config.json` and the resume comparison
(`keras_dl.training.run_dir`), and the table in docs/training.md. Adding a setting touches
this file alone (and whatever uses its value).

This module imports neither Keras nor TensorFlow, so `keras-dl --help` stays fast.
"""

from __future__ import annotations

import argparse
import dataclasses
import math
from typing import Any, Callable

OPTIMIZERS = ("adam", "sgd", "momentum", "nesterov", "adagrad", "adadelta", "rmsprop")
LR_SCHEDULES = ("constant", "step", "exponential", "inverse_time", "cosine", "plateau",
                "annealing")
# What early stopping, the best checkpoint and the plateau schedule watch: the validation loss
# (lower is better) or, for classifiers, the validation accuracy (higher is better).
MONITORS = ("val_loss", "val_accuracy")
# Keras dtype policies a run can train under (`keras.mixed_precision`): the mixed ones compute
# in 16 bits and keep the weights in float32; mixed_float16 also scales the loss.
# Lecture 004's losses (`keras_dl.tasks.losses`); the zero-one loss is reported (1 − accuracy),
# not trained on.
LOSSES = ("cross_entropy", "l2", "l1")
# What `--probe` records per layer while training (`keras_dl.training.probes`).
PROBES = ("activations", "gradients", "weights")
PRECISIONS = ("float32", "mixed_float16", "mixed_bfloat16")
FINETUNE_MODES = ("all", "top")
PROPAGATE = ("probabilities", "samples")
AUGMENTATION_NAMES = ("flip", "translate", "rotate", "shear", "zoom", "stretch", "perspective",
                      "crop", "contrast", "noise", "pca_jitter", "erase")


# === Parsing and checking values ================================================================


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def positive_int(label):
    def check(value):
        if not _is_int(value) or value < 1:
            raise ValueError(f"{label} must be a positive integer, got {value!r}")
    return check


def non_negative_int(label):
    def check(value):
        if not _is_int(value) or value < 0:
            raise ValueError(f"{label} must be a non-negative integer, got {value!r}")
    return check


def cli_int(minimum: int, what: str):
    """An argparse type: an integer of at least `minimum` ("positive", "non-negative")."""
    def parse(text):
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"{text} is not a {what} integer")
        return value
    parse.__name__ = f"{what} integer"
    return parse


def cli_positive_float(text):
    """An argparse type: a finite number above 0."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not value > 0 or value == math.inf:
        raise argparse.ArgumentTypeError(f"{text} is not a positive number")
    return value


def cli_number(text):
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None


# === The table ==================================================================================


@dataclasses.dataclass(frozen=True)
class Setting:
    """One training setting: how it is checked, offered on the command line and recorded.

    Attributes:
        name: the keyword of `train()` and the field of `TrainConfig`.
        default: its default (None: the model's registered training default, or none).
        help: one line for `--help` and the docs.
        choices: the allowed values, where they are a closed list.
        check: raises `ValueError` naming the bad value and what is allowed.
        flag: the command-line option (default `--name-with-dashes`).
        cli_type: argparse's `type`, which turns the option's text into the value.
        metavar: argparse's `metavar`.
        record: how `config.json` holds it: "always"; "when_set" (only when it differs from
            the default, so that runs written before the setting existed resume unchanged);
            or "pretraining" (inside the resolved pre-training block).
        tunable: a search space may draw it (`keras_dl.tuning`).
    """

    name: str
    default: Any
    help: str
    choices: tuple | None = None
    check: Callable[[Any], None] | None = None
    flag: str | None = None
    cli_type: Callable[[str], Any] | None = None
    metavar: str | None = None
    record: str = "always"
    tunable: bool = False

    @property
    def option(self) -> str:
        return self.flag or "--" + self.name.replace("_", "-")

    def validate(self, value) -> None:
        """`ValueError` naming `value` and what is allowed, unless it is a valid value."""
        if self.choices is not None and value not in self.choices and not (
                value is None and self.default is None):
            label = _CHOICE_LABELS.get(self.name, self.name.replace("_", " "))
            raise ValueError(f"unknown {label} {value!r}; allowed: "
                             f"{', '.join(str(c) for c in self.choices)}")
        if self.check is not None and value is not None:
            self.check(value)


def _learning_rate(value):
    if not _is_number(value) or not 0 < value < math.inf:
        raise ValueError(f"learning rate must be a positive number, got {value!r}")


def _weight_decay(value):
    if not _is_number(value) or not 0 <= value < 1:
        raise ValueError(f"weight decay must be a number in [0, 1), got {value!r}")


def _validation_fraction(value):
    if not _is_number(value) or not 0 < value < 1:
        raise ValueError(f"validation fraction must be in (0, 1), got {value!r}")


def _limit(value):
    if not _is_int(value) or value < 2:
        raise ValueError(f"limit must be an integer of at least 2, got {value!r}")


def _seed(value):
    if not _is_int(value):
        raise ValueError(f"seed must be an integer, got {value!r}")


def _probe(value):
    names = [name.strip() for name in str(value).split(",")] if isinstance(value, str) else []
    allowed = (*PROBES, "all")
    bad = [name for name in names if name not in allowed] if names else [value]
    if bad:
        raise ValueError(f"unknown probe {bad[0]!r}; allowed: {', '.join(allowed)} "
                         "(a comma-separated list)")


def _probe_layers(value):
    names = [name.strip() for name in value.split(",")] if isinstance(value, str) else []
    if not names or not all(names):
        raise ValueError(f"bad probe layers {value!r}; allowed: the model's layer names, "
                         "comma-separated")


def _adversarial(value):
    if not isinstance(value, (str, dict)) or not value:
        raise ValueError(f"bad adversarial spec {value!r}; allowed: ATTACK:eps=E,..., e.g. "
                         "fgsm:eps=0.1 or pgd:eps=0.1,steps=7")


def _builder_kwargs(value):
    if not isinstance(value, dict):
        raise ValueError(f"builder arguments must be a dict, got {value!r}")


SETTINGS: tuple[Setting, ...] = (
    Setting("dataset", "fashion_mnist", "dataset name (default fashion_mnist; keras-dl datasets "
            "lists them)", metavar="NAME"),
    Setting("epochs", None, "maximum epochs (default: the model's)",
            check=positive_int("epochs"), cli_type=cli_int(1, "positive"), metavar="N"),
    Setting("batch_size", None, "batch size (default: the model's; per replica when "
            "distributed)", check=positive_int("batch_size"), cli_type=cli_int(1, "positive"),
            metavar="N",
            tunable=True),
    Setting("learning_rate", None, "initial learning rate (default: the model's)",
            check=_learning_rate, flag="--lr", cli_type=cli_positive_float, metavar="LR",
            tunable=True),
    Setting("optimizer", None, "adam, sgd, momentum or nesterov (SGD with momentum 0.9), "
            "adagrad, adadelta or rmsprop (default: the model's; adam for most)",
            choices=OPTIMIZERS, tunable=True),
    Setting("weight_decay", 0.0, "decoupled weight decay: each step every weight shrinks by "
            "learning rate x WD (default 0: none; with adam that is AdamW)",
            check=_weight_decay, cli_type=cli_number, metavar="WD", record="when_set",
            tunable=True),
    Setting("loss", None, "what is minimised: cross_entropy, l2 (squared error between "
            "probabilities and the one-hot label) or l1 (default: the model's: cross_entropy for "
            "classifiers, the registered reconstruction loss for autoencoders)", choices=LOSSES,
            metavar="LOSS", record="when_set"),
    Setting("lr_schedule", "cosine", "learning-rate annealing (default cosine)",
            choices=LR_SCHEDULES),
    Setting("patience", 5, "early-stopping patience in epochs, on --monitor (default 5)",
            check=positive_int("patience"), cli_type=cli_int(1, "positive"), metavar="N"),
    Setting("monitor", "val_loss", "what early stopping (and the weights it restores), "
            "checkpoints/best.keras and --lr-schedule plateau watch (default val_loss; "
            "val_accuracy for classifiers)", choices=MONITORS, record="when_set"),
    Setting("validation_fraction", 0.1, "share of the training split held out for validation "
            "(default 0.1)", check=_validation_fraction, cli_type=cli_positive_float,
            metavar="F"),
    Setting("seed", 0, "random seed: weights, data order, augmentation (default 0)",
            check=_seed, cli_type=int, metavar="N"),
    Setting("limit", None, "use only the first N training and test examples (smoke runs)",
            check=_limit, cli_type=cli_int(1, "positive"), metavar="N"),
    Setting("augment", None, "augment the training batches, e.g. flip,crop=4,erase=0.5; names: "
            + ", ".join(AUGMENTATION_NAMES) + " (docs/training.md)", metavar="SPEC"),
    Setting("precision", "float32", "float32 (default), or mixed precision for classifiers: "
            "mixed_float16 (GPUs) or mixed_bfloat16 (GPUs; CPUs with bfloat16 units, e.g. AMX)",
            choices=PRECISIONS, record="when_set"),
    Setting("steps_per_execution", None, "training batches per compiled call of fit "
            "(default: the task's: 32 for classifiers, 1 for most others): fewer returns to "
            "Python, faster small steps; "
            "callbacks that act per batch then see every N-th batch",
            check=positive_int("steps_per_execution"), cli_type=cli_int(1, "positive"),
            metavar="N", record="when_set"),
    Setting("init_from", None, "start from the weights of a trained model of the same "
            "architecture (a run dir or .keras file); the optimizer and --lr-schedule start "
            "afresh: fine-tuning, or a warm restart", metavar="RUN_DIR_OR_MODEL_FILE",
            record="when_set"),
    Setting("probe", None, "record per-layer diagnostics every epoch into RUN_DIR/probes "
            "(CSV, TensorBoard): activations, gradients, weights or all, comma-separated; "
            "keras-dl plot RUN_DIR draws them", check=_probe, metavar="PROBES",
            record="when_set"),
    Setting("probe_layers", None, "the layers --probe records, comma-separated (default: "
            "layers with weights and activation layers for activations, layers with a kernel for "
            "gradients and weights)",
            check=_probe_layers, metavar="LAYERS", record="when_set"),
    Setting("adversarial", None, "adversarial training for classifiers: fresh adversarial "
            "examples every batch, e.g. fgsm:eps=0.1 (Goodfellow et al.: alpha=0.5 clean + 0.5 "
            "adversarial loss) or pgd:eps=0.1,steps=7 (Madry et al.: alpha=0); keys eps, alpha, "
            "steps, step_size, range (docs/adversarial.md); tune takes choices, eps=0.05|0.1",
            check=_adversarial, metavar="ATTACK:eps=E,...", record="when_set"),
    Setting("builder_kwargs", None, "a builder argument, e.g. --set modern=true "
            "--set hidden_units=[512,256]", check=_builder_kwargs, flag="--set",
            metavar="KEY=VALUE"),
    Setting("pretrain_epochs", None, "greedy layer-wise pre-training epochs per hidden layer "
            "before training (default: 5 for models with a pre-training unit, e.g. dbn; 0 "
            "otherwise)", check=non_negative_int("pretrain epochs"),
            cli_type=cli_int(0, "non-negative"), metavar="N", record="pretraining"),
    Setting("pretraining", None, "what each hidden layer is pre-trained as: rbm, supervised, "
            "autoencoder kinds (default: the model's own)", flag="--pretrain-unit", metavar="UNIT",
            record="pretraining"),
    Setting("finetune", "all", "after pre-training, retrain the whole stack (all, default) or "
            "only the classifier on the frozen stack (top)", choices=FINETUNE_MODES,
            record="pretraining"),
    Setting("propagate", "probabilities", "what a pre-trained layer passes up to the next "
            "(default probabilities)", choices=PROPAGATE, record="pretraining"),
)

BY_NAME = {setting.name: setting for setting in SETTINGS}
# Settings of a single run that a search's trials do not take (`keras-dl tune` has no option).
TRAIN_ONLY = ("probe", "probe_layers")
# The settings a model's search space may return beside its builder's arguments.
TUNABLE = tuple(setting.name for setting in SETTINGS if setting.tunable)
# `config.json` keys held only when they differ from these defaults; a run is compared on
# them either way (absent means the default).
OPTIONAL_RECORDS = {**{s.name: s.default for s in SETTINGS if s.record == "when_set"},
                    "pretraining": None}
# The messages earlier versions gave for a bad choice named the setting this way.
_CHOICE_LABELS = {"lr_schedule": "learning-rate schedule"}


@dataclasses.dataclass(frozen=True)
class TrainConfig:
    """The settings of one training run, as given (None: the model's default).

    `TrainConfig(model="lenet5", dataset="digits", epochs=3)`; `check()` raises `ValueError`
    naming the first bad value and what is allowed. `keras_dl.training.resolve_config` fills
    in the model's defaults and checks what depends on the model's task.
    """

    model: str
    dataset: str = BY_NAME["dataset"].default
    epochs: int | None = None
    batch_size: int | None = None
    learning_rate: float | None = None
    optimizer: str = BY_NAME["optimizer"].default
    weight_decay: float = BY_NAME["weight_decay"].default
    loss: str | None = None
    lr_schedule: str = BY_NAME["lr_schedule"].default
    patience: int = BY_NAME["patience"].default
    monitor: str = BY_NAME["monitor"].default
    validation_fraction: float = BY_NAME["validation_fraction"].default
    seed: int = BY_NAME["seed"].default
    limit: int | None = None
    augment: str | None = None
    precision: str = BY_NAME["precision"].default
    steps_per_execution: int | None = None
    init_from: str | None = None
    probe: str | None = None
    probe_layers: str | None = None
    adversarial: str | None = None
    builder_kwargs: dict | None = None
    pretrain_epochs: int | None = None
    pretraining: str | None = None
    finetune: str = BY_NAME["finetune"].default
    propagate: str = BY_NAME["propagate"].default

    def check(self) -> "TrainConfig":
        """Check each setting on its own (what needs the model is checked on resolving)."""
        for setting in SETTINGS:
            setting.validate(getattr(self, setting.name))
        return self

    def settings(self) -> dict:
        """`{name: value}` of every setting (the model's name excluded)."""
        return {setting.name: getattr(self, setting.name) for setting in SETTINGS}


def _fields_match_table():
    fields = [field.name for field in dataclasses.fields(TrainConfig)]
    if fields != ["model", *BY_NAME]:
        raise RuntimeError(f"TrainConfig's fields {fields} differ from SETTINGS")


_fields_match_table()


# === Derived: the command line and the docs =====================================================


def add_arguments(parser: argparse.ArgumentParser, names=None, exclude=()) -> None:
    """Add an option for each setting (or those in `names`, less those in `exclude`) to
    `parser`."""
    for setting in SETTINGS:
        if (names is not None and setting.name not in names) or setting.name in exclude:
            continue
        kwargs = {"dest": setting.name, "help": setting.help}
        if setting.name == "builder_kwargs":
            kwargs.update(action="append", metavar=setting.metavar)
        else:
            kwargs["default"] = setting.default
            if setting.choices is not None:
                kwargs["choices"] = setting.choices
            if setting.cli_type is not None:
                kwargs["type"] = setting.cli_type
            if setting.metavar:
                kwargs["metavar"] = setting.metavar
        parser.add_argument(setting.option, **kwargs)


def from_arguments(args: argparse.Namespace, model: str, builder_kwargs: dict) -> TrainConfig:
    """The `TrainConfig` an `add_arguments` parser's result describes."""
    # a command may offer a subset of the settings (tune records no probes)
    values = {setting.name: getattr(args, setting.name, setting.default) for setting in SETTINGS}
    values["builder_kwargs"] = builder_kwargs
    return TrainConfig(model=model, **values)


def markdown_table() -> str:
    """The settings as a Markdown table (docs/training.md holds it; a test keeps it current)."""
    rows = ["| setting | option | default | allowed | what it does |",
            "|---|---|---|---|---|"]
    for s in SETTINGS:
        default = "the model's" if s.default is None and s.name in (
            "epochs", "batch_size", "learning_rate") else repr(s.default)
        allowed = ", ".join(str(c) for c in s.choices) if s.choices else ""
        rows.append(f"| `{s.name}` | `{s.option}` | {default} | {allowed} | {s.help} |")
    return "\n".join(rows) + "\n"


def docstring() -> str:
    """The settings' part of `train()`'s docstring."""
    lines = ["Settings (`keras_dl.settings.SETTINGS`; the same as `keras-dl train`'s options):"]
    for s in SETTINGS:
        lines.append(f"    {s.name} ({s.option}, default {s.default!r}): {s.help}.")
    return "\n".join(lines)
