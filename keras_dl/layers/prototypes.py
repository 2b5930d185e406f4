"""The prototype classifier of prototypical networks (Snell, Swersky & Zemel 2017, eq. 1–2).

Each class's prototype is the mean of its support examples' embeddings,
`c_k = 1/|S_k| Σ_{x ∈ S_k} f(x)`, and a query is classified by a softmax over the negative
squared Euclidean distances to the prototypes, `p(y = k | x) ∝ exp(−‖f(x) − c_k‖²)`.
"""

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="keras_dl")
class PrototypicalLogits(keras.layers.Layer):
    """Negative squared Euclidean distances from query embeddings to class prototypes: the
    logits of Snell et al.'s classifier (a softmax over them gives eq. 2).

    Called on `[support, support_onehot, query]`: support embeddings (S, D), their classes as
    one-hot rows (S, N) (soft rows give weighted means), query embeddings (Q, D). Returns
    (Q, N). The prototypes are `onehotᵀ · support / column sums` (eq. 1); the distances are
    expanded as ‖q‖² − 2 q·c + ‖c‖², so no (Q, N, D) tensor is made.

    Reference:
        Snell, Swersky, Zemel. "Prototypical Networks for Few-shot Learning", NeurIPS 2017.
    """

    def call(self, inputs):
        support, onehot, query = inputs
        onehot = ops.cast(onehot, support.dtype)
        prototypes = ops.matmul(ops.transpose(onehot), support) / ops.expand_dims(
            ops.sum(onehot, axis=0), -1)
        distances = (ops.sum(ops.square(query), axis=-1, keepdims=True)
                     - 2.0 * ops.matmul(query, ops.transpose(prototypes))
                     + ops.expand_dims(ops.sum(ops.square(prototypes), axis=-1), 0))
        return -ops.maximum(distances, 0.0)

    def compute_output_shape(self, input_shape):
        support, onehot, query = input_shape
        return (query[0], onehot[-1])
