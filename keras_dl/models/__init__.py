"""Functional-API builders, one family per file; importing this registers them all."""

from keras_dl.models import dbn, lenet, mlp  # noqa: F401  (registration side effect)
from keras_dl.models.dbn import dbn as dbn_builder
from keras_dl.models.dbn import rbm as rbm_builder
from keras_dl.models.lenet import lenet5
from keras_dl.models.mlp import mlp as mlp_builder

__all__ = ["dbn_builder", "lenet5", "mlp_builder", "rbm_builder"]
