"""A SavedModel loaded with TensorFlow's own loader and called through its signatures: what
`keras-dl predict` and the server use.

`ServedModel(path)` is called as before through `serving_default` (`served(x)`,
`served.input_name`, ...); every signature of the SavedModel (an autoencoder's `encode` and
`decode`, a VAE's `sample`) is a `ServedSignature` in `served.signatures`, found by name with
`served.signature_named(name)` and run with `served.run(name, inputs)`.

An integer input whose values keras_dl's export recorded (`input_ranges` in
`assets.extra/keras_dl.json`: a conditional generator's label and its classes) is checked
against them: a value outside is a `ValueError` naming it and the range. A string input (a
text model) takes str (or UTF-8 bytes, as gRPC brings them) and refuses numbers; where the
export recorded `input_checks` (`Task.input_checks`), each text is first run through that
signature and refused, with a `ValueError` naming it, when it holds no word, no word of the
model's vocabulary, or more words than the model reads.
"""

from __future__ import annotations

import json

import numpy as np

from keras_dl.export.layout import resolve_saved_model_dir
from keras_dl.export.saved_model import METADATA_FILE, SIGNATURE


class ServedSignature:
    """One signature of a loaded SavedModel: its name, its inputs (name → `tf.TensorSpec`), the
    names of its outputs, and a call that checks each input's shape and dtype first (and an
    integer input's values against `ranges`, name → `[low, high]`, where given)."""

    def __init__(self, name: str, function, ranges=None, text_check=None, groups=None):
        self.name = name
        self.function = function
        self.ranges = dict(ranges or {})
        # inputs that must hold the same number of examples: all of them unless the export
        # recorded groups (`batch_groups`: an episode's support set and its queries)
        self.groups = [list(group) for group in groups] if groups else None
        # (statistics function, max tokens or None, "word" or "character"): see _check_texts
        self.text_check = text_check
        self.input_specs = dict(function.structured_input_signature[1])
        self.output_names = tuple(function.structured_outputs)
        self._single = next(iter(self.input_specs)) if len(self.input_specs) == 1 else None

    @property
    def input_name(self) -> str:
        """The name of the signature's input (a signature with one input)."""
        if self._single is None:
            raise ValueError(f"signature \"{self.name}\" takes {len(self.input_specs)} inputs "
                             f"({', '.join(sorted(self.input_specs))}), not one")
        return self._single

    @property
    def input_spec(self):
        return self.input_specs[self.input_name]

    @property
    def input_shape(self) -> tuple:
        """The input shape without the batch axis (None for free dimensions)."""
        return tuple(self.input_spec.shape[1:])

    def describe_input(self, name: str) -> str:
        """How errors name the input `name`: the default signature's as "the model's input",
        any other's with its signature, so a client asking `decode` learns what it asked."""
        if self.name == SIGNATURE:
            return f"the model's input {name!r}"
        return f"the input {name!r} of signature \"{self.name}\""

    def check_input(self, name: str, inputs) -> np.ndarray:
        """A batch for the input `name`, from a batch or a single example; `ValueError` else."""
        spec = self.input_specs[name]
        inputs = np.asarray(inputs)
        given = tuple(inputs.shape)
        expected = tuple(spec.shape[1:])
        if inputs.ndim == len(expected):
            inputs = inputs[None]
        fits = inputs.ndim == len(expected) + 1 and all(
            want is None or want == got for want, got in zip(expected, inputs.shape[1:])
        )
        if not fits:
            shape = ("(batch, " + ", ".join("?" if d is None else str(d) for d in expected) + ")"
                     if expected else "(batch,)")
            raise ValueError(
                f"input of shape {given} does not fit {self.describe_input(name)}, which takes "
                f"{shape} or one example without the batch axis"
            )
        if spec.dtype.name == "string":
            return self._strings(name, inputs)
        if not np.issubdtype(inputs.dtype, np.number):
            raise ValueError(f"input must be numeric, got dtype {inputs.dtype}")
        if spec.dtype.is_integer and inputs.size and not np.all(inputs == np.round(inputs)):
            raise ValueError(f"{self.describe_input(name)} takes integers, got "
                             f"{inputs[inputs != np.round(inputs)].ravel()[0]:g}")
        if name in self.ranges and inputs.size:
            low, high = self.ranges[name]
            outside = inputs[(inputs < low) | (inputs > high)]
            if outside.size:
                raise ValueError(f"{self.describe_input(name)} takes values in {low}..{high}, "
                                 f"got {outside.ravel()[0]:g}")
        return inputs.astype(spec.dtype.as_numpy_dtype)

    def _strings(self, name: str, inputs: np.ndarray) -> np.ndarray:
        """A batch of str for a string input: `ValueError` naming the first value that is not
        a string (or not UTF-8 bytes, as gRPC's DT_STRING brings them)."""
        if inputs.dtype.kind == "U":
            return inputs.astype(object)
        texts = np.empty(inputs.shape, dtype=object)
        for index, value in np.ndenumerate(inputs):
            if isinstance(value, bytes):
                try:
                    value = value.decode("utf-8")
                except UnicodeDecodeError as error:
                    raise ValueError(f"{self.describe_input(name)} takes UTF-8 text; example "
                                     f"{index[0]} has byte 0x{value[error.start]:02x} at offset "
                                     f"{error.start}") from None
            if not isinstance(value, str):
                shown = value.item() if isinstance(value, np.generic) else value
                raise ValueError(f"{self.describe_input(name)} takes strings (one text per "
                                 f"example), got {shown!r} of type {type(shown).__name__}")
            texts[index] = value
        return texts

    def _check_texts(self, texts) -> None:
        """Refuse a text with no word, one with no word in the model's vocabulary, or one
        longer than the model reads (the export's `input_checks`: `Task.input_checks`)."""
        import tensorflow as tf

        statistics, max_words, unit = self.text_check
        (name,) = statistics.structured_input_signature[1]
        found = statistics(**{name: tf.constant(np.asarray(texts).astype(str))})
        words, known = np.asarray(found["words"]), np.asarray(found["known_words"])
        for index, text in enumerate(np.asarray(texts).ravel()):
            shown = text if len(text) <= 60 else text[:57] + "..."
            if not words[index]:
                raise ValueError(f"text {index} ({shown!r}) holds no {unit}; the model takes "
                                 f"text of at least one {unit}")
            if max_words is not None and words[index] > max_words:
                raise ValueError(f"text {index} ({shown!r}) holds {words[index]} {unit}s; the "
                                 f"model reads at most {max_words}")
            if not known[index]:
                raise ValueError(f"text {index} ({shown!r}): none of its {words[index]} "
                                 f"{unit}(s) is in the model's vocabulary; give text in the "
                                 "language it was trained on")

    def check_inputs(self, inputs) -> np.ndarray:
        """The single input's batch (see `check_input`)."""
        return self.check_input(self.input_name, inputs)

    def call(self, inputs: dict) -> dict:
        """Run the signature on `inputs`, a dict holding exactly its input names; every input
        is checked, and all must hold the same number of examples."""
        batches = {name: self.check_input(name, value) for name, value in inputs.items()}
        for group in self.groups or [list(batches)]:
            sizes = {name: len(batches[name]) for name in group if name in batches}
            if len(set(sizes.values())) > 1:
                raise ValueError(f"inputs of signature \"{self.name}\" hold different numbers "
                                 f"of examples: {sizes}")
        return self._run(batches)

    def __call__(self, inputs) -> dict:
        """Run the single-input signature on a batch or one example."""
        name = self.input_name
        return self._run({name: self.check_input(name, inputs)})

    def _run(self, batches: dict) -> dict:
        import tensorflow as tf

        if self.text_check is not None:
            (texts,) = batches.values()
            self._check_texts(texts)
        outputs = self.function(**{name: tf.constant(b) for name, b in batches.items()})
        return {key: np.asarray(value) for key, value in outputs.items()}


class ServedModel:
    """A SavedModel loaded with TensorFlow's own loader; called (`served(x)`) through
    `serving_default`, and through any other signature with `run`. `KeyError` if it has no
    `serving_default`."""

    def __init__(self, path):
        import tensorflow as tf

        self.path = resolve_saved_model_dir(path)
        self._loaded = tf.saved_model.load(str(self.path))
        self.signature = self._loaded.signatures[SIGNATURE]
        self.metadata = _metadata(self.path)
        ranges = self.metadata.get("input_ranges") or {}
        checks = self.metadata.get("input_checks") or {}
        text_check = None
        if checks.get("signature") in self._loaded.signatures:  # a text model's
            text_check = (self._loaded.signatures[checks["signature"]], checks.get("max_words"),
                          checks.get("unit", "word"))
        checked = checks.get("signatures", [SIGNATURE])  # a seq2seq model's: its translate ones
        groups = self.metadata.get("batch_groups") or {}
        self.signatures = {name: ServedSignature(name, function,
                                                 ranges if name == SIGNATURE else None,
                                                 text_check if name in checked else None,
                                                 groups.get(name))
                           for name, function in self._loaded.signatures.items()}
        self.default = self.signatures[SIGNATURE]
        self.output_names = self.default.output_names

    @property
    def input_name(self) -> str:
        """The name of `serving_default`'s input (`ValueError` if it takes several)."""
        return self.default.input_name

    @property
    def input_spec(self):
        return self.default.input_spec

    @property
    def signature_names(self) -> tuple:
        """`serving_default` first, then the others in alphabetical order."""
        return (SIGNATURE, *sorted(name for name in self.signatures if name != SIGNATURE))

    def signature_named(self, name: str) -> ServedSignature:
        """The signature `name` ("" is `serving_default`, as in TF Serving); `KeyError` if the
        SavedModel has none of that name."""
        return self.signatures[name or SIGNATURE]

    @property
    def input_shape(self) -> tuple:
        """The input shape without the batch axis (None for free dimensions)."""
        return self.default.input_shape

    def check_inputs(self, inputs: np.ndarray) -> np.ndarray:
        """A batch matching `serving_default`, from a batch or a single example; `ValueError`
        else."""
        return self.default.check_inputs(inputs)

    def run(self, name: str, inputs) -> dict:
        """Run the signature `name` on `inputs` (a dict input name → array, or the array of a
        single-input signature); `serving_default` goes through `__call__`."""
        signature = self.signature_named(name)
        if signature is self.default and not isinstance(inputs, dict):
            return self(inputs)
        return signature.call(inputs) if isinstance(inputs, dict) else signature(inputs)

    def __call__(self, inputs) -> dict:
        """`serving_default` on a batch or one example, or on a dict input name → array
        when it takes several inputs."""
        if isinstance(inputs, dict):
            return self.default.call(inputs)
        return self.default(inputs)


def _metadata(path) -> dict:
    """What keras_dl's export recorded beside the SavedModel (`{}` for another's)."""
    try:
        return json.loads((path / METADATA_FILE).read_text())
    except (OSError, ValueError):
        return {}
