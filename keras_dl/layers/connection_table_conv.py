"""A convolution whose output maps each see only a chosen subset of the input maps."""

import keras
import numpy as np
from keras import ops

# LeCun et al. 1998, Table I: which of S2's six maps (rows) feed each of C3's sixteen maps
# (columns). Maps 0-5 take three contiguous inputs, 6-11 four contiguous, 12-14 four
# non-contiguous, and 15 all six.
LENET5_C3_TABLE = (
    "X...XXX..XXXX.XX",
    "XX...XXX..XXXX.X",
    "XXX...XXX..X.XXX",
    ".XXX..XXXX..X.XX",
    "..XXX..XXXX.XX.X",
    "...XXX..XXXX.XXX",
)


@keras.saving.register_keras_serializable(package="keras_dl")
class ConnectionTableConv2D(keras.layers.Layer):
    """A 'valid' 2-D convolution with a fixed input→output connection table.

    Output map `j` sums convolutions over only the input maps `i` with `table[i][j]` true. LeNet-5's
    C3 uses such a table "to keep the number of connections within reasonable bounds" and "to
    break the symmetry in the network" (LeCun et al. 1998, section II.B): 60 kernels of 5×5 plus
    16 biases, 1,516 trainable parameters instead of a full convolution's 2,416.

    Only the connected kernels are weights (`kernel` has shape `(k, k, connections)`, so
    `count_params()` is the published figure); each call scatters them into a dense
    `(k, k, in_maps, out_maps)` kernel with a constant 0/1 matrix and runs one ordinary
    convolution.

    Args:
        kernel_size: side of the square kernel.
        table: a sequence of `in_maps` strings of `out_maps` characters, `X` for a connection
            and `.` for none (default: LeNet-5's C3 table).
        kernel_initializer: initializer for the `(k, k, connections)` kernel; by default uniform
            with variance 1/fan_in, where fan_in counts only connected inputs (LeCun's rule).

    Reference:
        LeCun, Bottou, Bengio, Haffner. "Gradient-Based Learning Applied to Document
        Recognition", Proc. IEEE 86(11), 1998, Table I.
    """

    def __init__(self, kernel_size=5, table=LENET5_C3_TABLE, kernel_initializer=None, **kwargs):
        super().__init__(**kwargs)
        table = tuple(str(row) for row in table)
        widths = {len(row) for row in table}
        if not table or len(widths) != 1 or set("".join(table)) - {"X", "."}:
            raise ValueError(
                "table must be a non-empty list of equal-length strings of 'X' and '.', "
                f"got {table!r}"
            )
        if not isinstance(kernel_size, int) or kernel_size < 1:
            raise ValueError(f"kernel_size must be a positive integer, got {kernel_size!r}")
        self.kernel_size = kernel_size
        self.table = table
        self.kernel_initializer = (
            None if kernel_initializer is None else keras.initializers.get(kernel_initializer)
        )
        self.filters = widths.pop()
        self.connections = [
            (i, j) for i, row in enumerate(table) for j, c in enumerate(row) if c == "X"
        ]

    def build(self, input_shape):
        maps_in = len(self.table)
        if input_shape[-1] != maps_in:
            raise ValueError(
                f"the connection table has {maps_in} rows but the input has "
                f"{input_shape[-1]} channels"
            )
        scatter = np.zeros((len(self.connections), maps_in * self.filters), dtype="float32")
        for c, (i, j) in enumerate(self.connections):
            scatter[c, i * self.filters + j] = 1.0
        self._scatter = scatter
        k = self.kernel_size
        initializer = self.kernel_initializer
        if initializer is None:
            fan_in = k * k * len(self.connections) / self.filters
            limit = float(np.sqrt(3.0 / fan_in))
            initializer = keras.initializers.RandomUniform(-limit, limit)
        self.kernel = self.add_weight(
            name="kernel", shape=(k, k, len(self.connections)), initializer=initializer
        )
        self.bias = self.add_weight(name="bias", shape=(self.filters,), initializer="zeros")

    def dense_kernel(self):
        """The `(k, k, in_maps, out_maps)` kernel, zero where the table has no connection."""
        k = self.kernel_size
        flat = ops.reshape(self.kernel, (k * k, len(self.connections)))
        scatter = ops.convert_to_tensor(self._scatter, dtype=self.kernel.dtype)
        return ops.reshape(ops.matmul(flat, scatter), (k, k, len(self.table), self.filters))

    def call(self, inputs):
        return ops.conv(inputs, self.dense_kernel(), strides=1, padding="valid") + self.bias

    def compute_output_shape(self, input_shape):
        batch, height, width, _ = input_shape
        shrink = lambda size: None if size is None else size - self.kernel_size + 1  # noqa: E731
        return (batch, shrink(height), shrink(width), self.filters)

    def get_config(self):
        config = super().get_config()
        config.update({
            "kernel_size": self.kernel_size,
            "table": list(self.table),
            "kernel_initializer": (
                None if self.kernel_initializer is None
                else keras.initializers.serialize(self.kernel_initializer)
            ),
        })
        return config
