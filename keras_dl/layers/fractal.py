"""FractalNet's join with local and global drop-path (Larsson, Maire & Shakhnarovich, 2017)."""

import keras
from keras import ops


def _check_probability(name, value, upper_inclusive=False):
    ok = isinstance(value, (int, float)) and not isinstance(value, bool)
    if not ok or value < 0 or (value > 1 if upper_inclusive else value >= 1):
        bound = "[0, 1]" if upper_inclusive else "[0, 1)"
        raise ValueError(f"{name} must be in {bound}, got {value!r}")
    return float(value)


@keras.saving.register_keras_serializable(package="keras_dl")
class FractalPathSampler(keras.layers.Layer):
    """Draws, once per training mini-batch, FractalNet's drop-path mode and global column.

    Its output, shape `(batch, 1 + num_columns)` (every row the same), is fed to every
    `FractalJoin` of the network so that they all agree: entry 0 is 1 for global drop-path
    (with probability `global_fraction`, 0.5 in the paper) and 0 for local drop-path;
    entries `1 + c` one-hot encode the column `c` kept by global drop-path, drawn uniformly.
    At inference the output is all zeros (no path is dropped). The input is used only for
    its batch size.

    Args:
        num_columns: `C`, the columns of the fractal blocks.
        global_fraction: the share of mini-batches trained with global drop-path.
        seed: seed of the layer's `SeedGenerator`.
    """

    def __init__(self, num_columns, global_fraction=0.5, seed=None, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(num_columns, int) or isinstance(num_columns, bool) or num_columns < 1:
            raise ValueError(f"num_columns must be a positive integer, got {num_columns!r}")
        self.num_columns = num_columns
        self.global_fraction = _check_probability("global_fraction", global_fraction, True)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def call(self, inputs, training=False):
        batch = ops.shape(inputs)[0]
        width = 1 + self.num_columns
        if not training:
            return ops.zeros((batch, width), dtype=inputs.dtype)
        draws = keras.random.uniform((2,), seed=self.seed_generator)
        is_global = ops.cast(draws[0] < self.global_fraction, inputs.dtype)
        column = ops.minimum(ops.cast(draws[1] * self.num_columns, "int32"), self.num_columns - 1)
        row = ops.concatenate(
            [ops.reshape(is_global, (1,)),
             ops.one_hot(column, self.num_columns, dtype=inputs.dtype)], axis=0)
        return ops.broadcast_to(ops.reshape(row, (1, width)), (batch, width))

    def compute_output_shape(self, input_shape):
        return (input_shape[0], 1 + self.num_columns)

    def get_config(self):
        config = super().get_config()
        config.update({"num_columns": self.num_columns,
                       "global_fraction": self.global_fraction, "seed": self.seed})
        return config


@keras.saving.register_keras_serializable(package="keras_dl")
class FractalJoin(keras.layers.Layer):
    """FractalNet's join: the element-wise mean of its inputs, with drop-path while training.

    Called on `[x_1, ..., x_n, path]`, where `x_i` comes from column `columns[i]` and `path`
    is the output of the network's `FractalPathSampler`. At inference it returns the mean of
    the `x_i`. While training, in a local drop-path mini-batch each input is dropped with
    probability `drop_probability` (0.15 in the paper), at least one surviving, and the
    survivors are averaged; in a global drop-path mini-batch only the input of the chosen
    column passes (a join that does not see that column returns its mean, which then only
    feeds dropped paths).

    Args:
        columns: the column index of each input, in input order.
        drop_probability: local drop-path probability.
        seed: seed of the layer's `SeedGenerator`.

    Reference:
        Larsson, Maire, Shakhnarovich. "FractalNet: Ultra-Deep Neural Networks without
        Residuals", ICLR 2017, section 3.1.
    """

    def __init__(self, columns, drop_probability=0.15, seed=None, **kwargs):
        super().__init__(**kwargs)
        columns = tuple(columns) if isinstance(columns, (list, tuple)) else None
        if not columns or any(not isinstance(c, int) or isinstance(c, bool) or c < 0
                              for c in columns):
            raise ValueError(f"columns must be a non-empty sequence of column indices")
        self.columns = columns
        self.drop_probability = _check_probability("drop_probability", drop_probability)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def call(self, inputs, training=False):
        *branches, path = inputs
        if len(branches) != len(self.columns):
            raise ValueError(
                f"FractalJoin expects {len(self.columns)} branches and the path, "
                f"got {len(branches)} branches"
            )
        stacked = ops.stack(branches, axis=0)
        if not training:
            return ops.mean(stacked, axis=0)
        n = len(branches)
        dtype = stacked.dtype
        draws = keras.random.uniform((n + 1,), seed=self.seed_generator)
        local = ops.cast(draws[:n] >= self.drop_probability, dtype)
        rescue = ops.one_hot(ops.minimum(ops.cast(draws[n] * n, "int32"), n - 1), n, dtype=dtype)
        local = ops.where(ops.sum(local) > 0, local, rescue)
        row = path[0]
        chosen = ops.stack([row[1 + c] for c in self.columns])
        chosen = ops.where(ops.sum(chosen) > 0, chosen, ops.ones_like(chosen))
        mask = row[0] * chosen + (1.0 - row[0]) * local
        mask = ops.reshape(mask, (n,) + (1,) * (len(stacked.shape) - 1))
        return ops.sum(stacked * mask, axis=0) / ops.sum(mask)

    def compute_output_shape(self, input_shape):
        return input_shape[0]

    def get_config(self):
        config = super().get_config()
        config.update({"columns": list(self.columns),
                       "drop_probability": self.drop_probability, "seed": self.seed})
        return config
