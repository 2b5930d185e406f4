"""keras_dl's custom layers train on Keras' JAX backend too (DESIGN.md: `keras.ops` and
`keras.random` only). tests/_jax_layers.py runs in a fresh process with KERAS_BACKEND=jax, once
for this file and the layer contract (tests/test_layer_contract.py checks every layer there)."""

import pytest
from _jax_layers import jax_report


@pytest.mark.xdist_group("jax_backend")  # the same worker as the contract's JAX tests: one run
def test_rbm_learns_on_jax():
    report = jax_report()
    assert report["backend"] == "jax"
    # On JAX the RBM keeps no metrics of its own (Keras runs the forward pass statelessly),
    # and its loss is the reconstruction error, which CD-1 brings down.
    rbm = report["rbm"]
    assert rbm["logs"] == ["loss"]
    assert rbm["last_loss"] < 0.6 * rbm["first_loss"]
    assert rbm["evaluate"] < 0.6 * rbm["first_loss"]


@pytest.mark.xdist_group("jax_backend")
def test_gradient_reversal_reverses_on_jax():
    reversal = jax_report()["gradient_reversal"]
    assert reversal["forward_is_identity"]
    assert reversal["largest_backward_error"] < 1e-6
