"""Recurrent sequence classifiers: Elman's simple recurrent network, the LSTM and the GRU.

Lecture 004 lists recurrent networks; this is the many-to-one kind: a sequence of `steps`
vectors of `features` values in, one class out. A stack of recurrent layers reads the sequence
(`h_t = f(x_t, h_{t-1})`), and a readout turns the states into one vector for the softmax: the
last state, or the mean or max over time. Zero-padded variable-length sequences are handled
by a `Masking` layer: masked steps leave the state unchanged and are skipped by the readout,
so a padded sequence is classified exactly as the unpadded one.
"""

from __future__ import annotations

import numbers

import keras

from keras_dl.layers import MaskedGlobalMaxPooling1D
from keras_dl.models._common import (
    check_choice,
    check_fraction,
    check_input_shape,
    check_positive_int,
    check_units,
    classifier_head,
)
from keras_dl.registry import register_model

CELLS = {"simple": keras.layers.SimpleRNN, "lstm": keras.layers.LSTM, "gru": keras.layers.GRU}
READOUTS = ("last", "mean", "max")


def check_cell(cell):
    if cell not in CELLS:
        raise ValueError(f"cell must be one of {', '.join(repr(c) for c in CELLS)}; "
                         f"got {cell!r}")
    return cell


def sequence_input(input_shape, *, variable_length=True):
    """`(inputs, x)`: the `Input` for `(steps, features)` sequences (`steps` may be None for
    variable-length input when `variable_length`), and the tensor the network reads; a 1-D
    `(steps,)` signal is read as `steps` steps of one value (`as_sequence`)."""
    shape = tuple(input_shape) if isinstance(input_shape, (tuple, list)) else input_shape
    if (variable_length and isinstance(shape, tuple) and len(shape) == 2 and shape[0] is None):
        features = shape[1]
        if (not isinstance(features, numbers.Integral) or isinstance(features, bool)
                or features < 1):
            raise ValueError("input_shape must be (steps, features) with features a positive "
                             f"integer, got {input_shape!r}")
        shape = (None, int(features))
    else:
        try:
            shape = check_input_shape(shape)
        except ValueError:
            shape = None
        if shape is None or len(shape) > 2:
            steps = "steps (or None)" if variable_length else "steps"
            raise ValueError(f"input_shape must be ({steps}, features) or (steps,), got "
                             f"{input_shape!r}")
    inputs = keras.Input(shape=shape, name="sequence")
    if len(shape) == 1:
        return inputs, keras.layers.Reshape((shape[0], 1), name="as_sequence")(inputs)
    return inputs, inputs


def check_stack(units, readout, dropout, recurrent_dropout):
    """`(units, dropout, recurrent_dropout)` of a recurrent stack, checked: `units` a positive
    integer or a non-empty sequence of them (as a tuple), `readout` one of `READOUTS`, the
    dropouts fractions; `ValueError` naming the first bad one."""
    if isinstance(units, numbers.Integral) and not isinstance(units, bool):
        units = (check_positive_int("units", units),)
    units = check_units("units", units)
    if not units:
        raise ValueError("units must name at least one recurrent layer, got ()")
    check_choice("readout", readout, READOUTS)
    dropout = check_fraction("dropout", dropout)
    recurrent_dropout = check_fraction("recurrent_dropout", recurrent_dropout)
    return units, dropout, recurrent_dropout


def recurrent_stack(x, *, cell, units, bidirectional, dropout, recurrent_dropout, readout):
    """The checked `units` as a stack of `cell` layers over the sequence `x` (each layer but
    the last returns every state), then the readout: the last state, or the mean or max over
    the (unmasked) steps. Shared by the sequence and text classifiers."""
    for depth, width in enumerate(units, start=1):
        layer_name = f"rnn{depth}_{cell}"
        every_state = depth < len(units) or readout != "last"
        recurrent = CELLS[cell](width, return_sequences=every_state, dropout=dropout,
                                recurrent_dropout=recurrent_dropout, name=layer_name)
        if bidirectional:
            recurrent = keras.layers.Bidirectional(recurrent, name=layer_name)
        x = recurrent(x)
    if readout == "mean":
        return keras.layers.GlobalAveragePooling1D(name="mean_over_time")(x)  # honours the mask
    if readout == "max":
        return MaskedGlobalMaxPooling1D(name="max_over_time")(x)
    return x


@register_model(
    family="rnn",
    search_space=lambda hp: {
        "cell": hp.Choice("cell", list(CELLS), default="lstm"),
        "units": [hp.Int("units", 16, 256, step=16, default=64)] * hp.Int("depth", 1, 3,
                                                                           default=1),
        "bidirectional": hp.Boolean("bidirectional"),
        "readout": hp.Choice("readout", list(READOUTS)),
        "dropout": hp.Float("dropout", 0.0, 0.5, step=0.1),
        "learning_rate": hp.Float("learning_rate", 1e-4, 1e-2, sampling="log"),
        "batch_size": hp.Choice("batch_size", [32, 64, 128]),
    },
    smoke_kwargs={"input_shape": (6, 3), "num_classes": 3, "units": (4,)},
    train_defaults={"epochs": 25, "batch_size": 64, "learning_rate": 3e-3},
    default_params=67_850,
)
def rnn_classifier(
    *,
    input_shape=(40, 1),
    num_classes=10,
    cell="lstm",
    units=(128,),
    bidirectional=False,
    masking=False,
    dropout=0.0,
    recurrent_dropout=0.0,
    readout="last",
    include_top=True,
    classifier_activation="softmax",
    name="rnn_classifier",
):
    """Recurrent sequence classifier: stacked simple-RNN, LSTM or GRU layers, then a softmax.

    Each recurrent layer reads the whole sequence; all but the last return every state, and
    the last returns every state too unless the readout is "last". The cells:

    - "simple": Elman's network, `h_t = tanh(W x_t + U h_{t-1} + b)`;
    - "lstm": Hochreiter & Schmidhuber's long short-term memory, a cell `c_t = f_t ⊙ c_{t-1} +
      i_t ⊙ g_t` behind input, forget and output gates (the forget gate as Gers et al. 2000
      add it; Keras starts its bias at 1), `h_t = o_t ⊙ tanh(c_t)`;
    - "gru": Cho et al.'s gated recurrent unit, `h_t = (1 - z_t) ⊙ h_{t-1} + z_t ⊙ h̃_t` with
      update gate `z_t` and reset gate `r_t` inside `h̃_t = tanh(W x_t + U (r_t ⊙ h_{t-1}))`.

    Bidirectional layers (Schuster & Paliwal) run a second copy of the cell from the last step
    to the first and concatenate the two, so every layer gives `2 × units` features.

    Layer names: `masking`, `rnn1_lstm`, `rnn2_lstm`, ... (the cell's name; the same name
    for the bidirectional wrapper, whose halves are `forward_rnn1_lstm` and
    `backward_rnn1_lstm`), `mean_over_time` / `max_over_time`, `predictions`.

    Args:
        input_shape: `(steps, features)`; `steps` may be None (sequences of any length), and a
            1-D `(steps,)` signal is read as `steps` steps of one value.
        num_classes: number of output classes.
        cell: "simple", "lstm" or "gru".
        units: units of each recurrent layer (per direction); a tuple gives the depth
            (`(64, 64)`: two layers); an int is one layer.
        bidirectional: run each layer in both directions.
        masking: start with a `Masking` layer (`mask_value=0.0`): time steps whose features
            are all zero (zero-padding of variable-length sequences) are skipped.
        dropout: dropout rate on each layer's inputs (Srivastava et al. 2014).
        recurrent_dropout: dropout rate on the recurrent state (one mask per sequence; Gal &
            Ghahramani 2016).
        readout: "last" (the final state; with `bidirectional`, the forward final state and
            the backward state at the first step), "mean" or "max" (the mean or max of every
            state over the unmasked time steps).
        include_top: add the `predictions` layer; without it the model outputs the readout.
        classifier_activation: "softmax" for probabilities, None for logits.
        name: model name.

    Example:
    ```python
    model = keras_dl.create_model("rnn_classifier", input_shape=(None, 8), cell="gru",
                                  units=(64, 64), bidirectional=True, masking=True)
    ```

    References:
        Elman. "Finding Structure in Time", Cognitive Science 14(2):179-211, 1990.
        Hochreiter, Schmidhuber. "Long Short-Term Memory", Neural Computation 9(8):1735-1780,
        1997.
        Cho, van Merriënboer, Gulcehre, Bahdanau, Bougares, Schwenk, Bengio. "Learning Phrase
        Representations using RNN Encoder-Decoder for Statistical Machine Translation",
        EMNLP 2014.
        Schuster, Paliwal. "Bidirectional Recurrent Neural Networks", IEEE Trans. Signal
        Processing 45(11):2673-2681, 1997.
    """
    check_cell(cell)
    units, dropout, recurrent_dropout = check_stack(units, readout, dropout, recurrent_dropout)
    for flag, value in (("bidirectional", bidirectional), ("masking", masking),
                        ("include_top", include_top)):
        if not isinstance(value, bool):
            raise ValueError(f"{flag} must be True or False, got {value!r}")
    inputs, x = sequence_input(input_shape)
    if masking:
        x = keras.layers.Masking(mask_value=0.0, name="masking")(x)
    x = recurrent_stack(x, cell=cell, units=units, bidirectional=bidirectional, dropout=dropout,
                        recurrent_dropout=recurrent_dropout, readout=readout)
    x = classifier_head(x, num_classes=num_classes, include_top=include_top, pooling=None,
                        classifier_activation=classifier_activation)
    return keras.Model(inputs, x, name=name)
