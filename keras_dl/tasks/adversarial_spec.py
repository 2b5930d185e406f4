"""The `--adversarial` setting: which attack adversarial training draws its examples from.

A spec names the attack and its values, `ATTACK:KEY=VALUE,...`:

    fgsm:eps=0.1                      Goodfellow et al. 2015: α·L(x) + (1−α)·L(x + ε·sign ∇ₓL)
    fgsm:eps=0.25,alpha=0.5
    pgd:eps=0.1,steps=7               Madry et al. 2018: PGD from a random start in the ε-ball
    iterative_fgsm:eps=0.1,steps=5    Kurakin et al. 2017: the same without the random start

| key         | meaning                                          | default                      |
|-------------|--------------------------------------------------|------------------------------|
| `eps`       | the perturbation's L∞ size, in [0, high − low]   | required                     |
| `alpha`     | the weight of the clean loss, in [0, 1]          | 0.5 (fgsm, iterative_fgsm: Goodfellow et al. 2015 §6 used 0.5); 0 (pgd: Madry et al. train on the adversarial loss alone) |
| `steps`     | gradient steps (iterative_fgsm, pgd)             | 7 (Madry et al.'s CIFAR-10 training attack) |
| `step_size` | each step's size (iterative_fgsm, pgd)           | 2.5·ε / steps                |
| `range`     | the inputs' valid range `low:high`               | `0:1` (keras_dl's images)    |

For a hyperparameter search (`keras-dl tune`), `eps` and `alpha` may list choices separated by
`|` (`fgsm:eps=0.05|0.1|0.2,alpha=0.3|0.5`); each trial draws one of each (`draw`). A single
training run takes single values.

This module imports neither Keras nor TensorFlow.
"""

from __future__ import annotations

import math

ATTACKS = ("fgsm", "iterative_fgsm", "pgd")
KEYS = {"fgsm": ("eps", "alpha", "range"),
        "iterative_fgsm": ("eps", "alpha", "steps", "step_size", "range"),
        "pgd": ("eps", "alpha", "steps", "step_size", "range")}
SEARCHABLE = ("eps", "alpha")  # the keys a search may list choices for
DEFAULT_ALPHA = {"fgsm": 0.5, "iterative_fgsm": 0.5, "pgd": 0.0}
DEFAULT_STEPS = 7
STEP_SIZE_FACTOR = 2.5  # as `keras_dl.evaluation.attacks`: the far side of the ball is reachable
DEFAULT_RANGE = (0.0, 1.0)
EXAMPLE = "fgsm:eps=0.1 or pgd:eps=0.1,steps=7"


def _number(key, text, spec):
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"bad adversarial {key} {text!r} in {spec!r}; allowed: a number") from None
    if not math.isfinite(value):
        raise ValueError(f"bad adversarial {key} {text!r} in {spec!r}; allowed: a finite number")
    return value


def _range(text, spec):
    parts = text.split(":")
    if len(parts) != 2:
        raise ValueError(f"bad adversarial range {text!r} in {spec!r}; allowed: low:high, "
                         "e.g. range=0:1")
    low, high = (_number("range", part, spec) for part in parts)
    if not low < high:
        raise ValueError(f"bad adversarial range {text!r} in {spec!r}; allowed: low:high with "
                         "low < high")
    return [low, high]


def parse(spec) -> dict:
    """The resolved record of the spec `spec` (a string, or such a record again):
    `{"attack", "eps", "alpha", "range"}`, plus `"steps"` and `"step_size"` for the iterative
    attacks. `eps` and `alpha` are lists where the spec lists choices. `ValueError` naming the
    bad part and what is allowed."""
    if isinstance(spec, dict):
        return parse(format_spec(spec))
    if not isinstance(spec, str) or not spec.strip():
        raise ValueError(f"bad adversarial spec {spec!r}; allowed: ATTACK:eps=E,..., e.g. "
                         f"{EXAMPLE}")
    attack, _, rest = spec.strip().partition(":")
    if attack not in ATTACKS:
        raise ValueError(f"unknown attack {attack!r} in adversarial spec {spec!r}; allowed: "
                         f"{', '.join(ATTACKS)}")
    given = {}
    for item in filter(None, (part.strip() for part in rest.split(","))):
        key, equals, value = item.partition("=")
        if key not in KEYS[attack]:
            raise ValueError(f"unknown key {key!r} in adversarial spec {spec!r}; allowed for "
                             f"{attack}: {', '.join(KEYS[attack])}")
        if not equals or not value:
            raise ValueError(f"adversarial {key} in {spec!r} has no value; write {key}=VALUE")
        if key in given:
            raise ValueError(f"adversarial {key} is given twice in {spec!r}")
        given[key] = value
    if "eps" not in given:
        raise ValueError(f"adversarial spec {spec!r} gives no eps; write e.g. {EXAMPLE}")
    low, high = _range(given["range"], spec) if "range" in given else list(DEFAULT_RANGE)
    record = {"attack": attack}
    for key, check in (("eps", _check_eps(low, high)), ("alpha", _check_alpha)):
        if key not in given:
            record[key] = DEFAULT_ALPHA[attack]
            continue
        choices = [_number(key, text, spec) for text in given[key].split("|")]
        for value in choices:
            check(value, spec)
        record[key] = choices if len(choices) > 1 else choices[0]
    if attack != "fgsm":
        steps = given.get("steps", str(DEFAULT_STEPS))
        if not steps.isdigit() or int(steps) < 1:
            raise ValueError(f"bad adversarial steps {steps!r} in {spec!r}; allowed: a positive "
                             "integer")
        record["steps"] = int(steps)
        if "step_size" in given:
            step_size = _number("step_size", given["step_size"], spec)
            if step_size <= 0:
                raise ValueError(f"bad adversarial step_size {given['step_size']!r} in "
                                 f"{spec!r}; allowed: a positive number")
            record["step_size"] = step_size
    record["range"] = [low, high]
    return record


def _check_eps(low, high):
    def check(value, spec):
        if not 0 <= value <= high - low:
            raise ValueError(f"bad adversarial eps {value:g} in {spec!r}; allowed: a number in "
                             f"[0, {high - low:g}] (the input range is [{low:g}, {high:g}])")
    return check


def _check_alpha(value, spec):
    if not 0 <= value <= 1:
        raise ValueError(f"bad adversarial alpha {value:g} in {spec!r}; allowed: a number in "
                         "[0, 1] (the clean loss's weight)")


def format_spec(record: dict) -> str:
    """The spec string of a record (`parse(format_spec(r)) == r`)."""
    def text(value):
        if isinstance(value, list):
            return "|".join(f"{v:g}" for v in value)
        return f"{value:g}"

    parts = [f"{key}={text(record[key])}" for key in ("eps", "alpha", "steps", "step_size")
             if key in record]
    if list(record.get("range", DEFAULT_RANGE)) != list(DEFAULT_RANGE):
        parts.append("range={:g}:{:g}".format(*record["range"]))
    return f"{record['attack']}:{','.join(parts)}"


def choices(record: dict) -> dict:
    """`{key: [choices]}` of the keys a search draws (empty for a single run's record)."""
    return {key: record[key] for key in SEARCHABLE if isinstance(record.get(key), list)}


def draw(record: dict, choose) -> dict:
    """The record with each listed choice replaced by `choose(key, choices)`'s pick (a
    KerasTuner trial: `lambda key, values: hp.Choice("adversarial_" + key, values)`)."""
    drawn = dict(record)
    for key, values in choices(record).items():
        drawn[key] = float(choose(key, values))
    return drawn


def check_single(record: dict) -> dict:
    """`record`, or ValueError when it still lists choices (only a search draws from them)."""
    listed = choices(record)
    if listed:
        key, values = next(iter(listed.items()))
        raise ValueError(f"adversarial {key}={'|'.join(f'{v:g}' for v in values)} lists "
                         "choices, which only keras-dl tune draws from; give one value")
    return record


def step_size(record: dict) -> float:
    """The step size of an iterative attack: given, or 2.5·ε / steps."""
    if record["attack"] == "fgsm":
        return float(record["eps"])
    return float(record.get("step_size") or STEP_SIZE_FACTOR * record["eps"] / record["steps"])
