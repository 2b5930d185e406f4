"""keras_dl.compat: its workarounds still target real, unchanged internals, and each accessor
of a private Keras internal gives the right answer on a small model or callback."""

import gc

import keras
import numpy as np
import pytest

import keras_dl
from keras_dl import compat
from keras_dl.training import compile_classifier


def test_internals_are_where_the_workarounds_expect_them():
    compat.check_internals()


def _fit_one_model():
    model = keras_dl.create_model("mlp", input_shape=(4,), hidden_units=(3,), num_classes=2)
    compile_classifier(model)
    x = np.random.default_rng(0).random((16, 4), dtype="float32")
    model.fit(x, (x[:, 0] > 0.5).astype("int32"), epochs=1, verbose=0)


def test_tensorflow_still_leaks_custom_gradients_and_the_workaround_releases_them():
    before = compat.custom_gradient_registrations()
    _fit_one_model()
    leaked = compat.custom_gradient_registrations() - before
    # If this fails, TensorFlow no longer registers (and leaks) a custom gradient per traced
    # train step: the workaround may be obsolete — check and remove it.
    assert leaked, "fit() registered no graph-mode custom gradient"

    before = compat.custom_gradient_registrations()
    with compat.released_custom_gradients():
        _fit_one_model()
        assert compat.custom_gradient_registrations() - before  # registered while training
    keras.backend.clear_session()
    gc.collect()
    assert compat.custom_gradient_registrations() == before  # and released afterwards


# --- functional-graph structure ----------------------------------------------------------------


def _graph():
    """inputs → dropout → dense, and inputs → inner (a nested model) → two outputs."""
    inputs = keras.Input((3,), name="inputs")
    dropout = keras.layers.Dropout(0.5, seed=1, name="dropout")
    dense = keras.layers.Dense(2, name="dense")
    inner_inputs = keras.Input((3,), name="inner_inputs")
    inner = keras.Model(inner_inputs, keras.layers.Dense(1, name="inner_dense")(inner_inputs),
                        name="inner")
    hidden = dropout(inputs)
    outputs = [dense(hidden), inner(inputs)]
    return keras.Model(inputs, outputs), inputs, hidden, outputs


def test_producer_leads_from_a_tensor_to_its_layer_and_inputs():
    model, inputs, hidden, outputs = _graph()
    layer, called_on = compat.producer(outputs[0])
    assert layer is model.get_layer("dense") and called_on == [hidden]
    layer, called_on = compat.producer(hidden)
    assert layer is model.get_layer("dropout") and called_on == [inputs]
    assert compat.producer(inputs)[1] == []  # a keras.Input: its InputLayer, from nothing
    assert compat.producer(np.ones((1, 3), "float32")) == (None, [])


def test_output_layers_and_all_layers():
    model, *_ = _graph()
    assert compat.output_layers(model) == [model.get_layer("dense"), model.get_layer("inner")]
    names = sorted(layer.name for layer in compat.all_layers(model))
    assert names == ["dense", "dropout", "inner", "inner_dense", "inner_inputs", "inputs"]
    assert model not in compat.all_layers(model)


def test_seed_generators_are_a_layers_own():
    from keras_dl.layers import FractalJoin, RBM, TiedDense

    assert len(compat.seed_generators(RBM(3, seed=0))) == 1
    assert len(compat.seed_generators(FractalJoin([0, 1], seed=0))) == 1
    assert compat.seed_generators(TiedDense("encoder")) == []
    model, *_ = _graph()
    assert compat.seed_generators(model) == []  # its dropout's generator is the dropout's


# --- monitoring callbacks' progress --------------------------------------------------------------


def test_monitor_state_round_trips_through_json():
    import json

    stopping = keras.callbacks.EarlyStopping(patience=3, restore_best_weights=True)
    stopping.on_train_begin()
    stopping.wait, stopping.best, stopping.best_epoch = 2, np.float32(0.25), np.int64(4)
    state = json.loads(json.dumps(compat.monitor_state(stopping)))
    assert state == {"wait": 2, "best": 0.25, "best_epoch": 4}

    fresh = keras.callbacks.EarlyStopping(patience=3, restore_best_weights=True)
    fresh.on_train_begin()  # what a resumed fit does: forgets everything
    compat.restore_monitor_state(fresh, {**state, "unknown": 1})
    assert compat.monitor_state(fresh) == state and not hasattr(fresh, "unknown")

    assert compat.best_weights(fresh) is None
    compat.set_best_weights(fresh, [np.zeros(2)])
    assert len(compat.best_weights(fresh)) == 1

    plateau = keras.callbacks.ReduceLROnPlateau()
    assert set(compat.monitor_state(plateau)) == {"wait", "best", "cooldown_counter"}
    assert compat.is_monitoring(plateau)
    other = keras.callbacks.TerminateOnNaN()
    assert not compat.is_monitoring(other) and compat.monitor_state(other) == {}
    assert compat.best_weights(other) is None
    with pytest.raises(ValueError, match="only EarlyStopping keeps best weights"):
        compat.set_best_weights(other, [])


# --- layers called as in training -----------------------------------------------------------------


def test_training_mode_calls_use_batch_statistics_only_inside_the_block():
    inputs = keras.Input((1,))
    norm = keras.layers.BatchNormalization(momentum=0.0, epsilon=0.0)
    model = keras.Model(inputs, keras.layers.Dropout(0.5, seed=0)(norm(inputs)))
    x = np.array([[0.0], [2.0]], "float32")
    with compat.training_mode_calls([norm]):
        # batch norm normalises with the batch's statistics; the dropout stays at inference
        np.testing.assert_allclose(model(x, training=False), [[-1.0], [1.0]], atol=1e-3)
    np.testing.assert_allclose(norm.moving_mean, [1.0])
    np.testing.assert_allclose(model(x, training=False), [[-1.0], [1.0]], atol=1e-3)
    model(x + 5.0, training=False)
    np.testing.assert_allclose(norm.moving_mean, [1.0])  # inference again: statistics kept
    assert "call" not in vars(norm)


# --- variable reads in their own dtype under mixed precision --------------------------------------


def test_float32_reads_suspend_autocasting_only_inside_the_block():
    seen = []

    class Reads(keras.layers.Layer):
        def build(self, input_shape):
            self.total = self.add_weight(shape=(), initializer="ones")

        def call(self, inputs):
            seen.append(keras.ops.convert_to_tensor(self.total).dtype)
            with compat.float32_reads():
                seen.append(keras.ops.convert_to_tensor(self.total).dtype)
            seen.append(keras.ops.convert_to_tensor(self.total).dtype)
            return inputs

    Reads(dtype="mixed_bfloat16")(np.ones((1, 1), "float32"))
    assert [keras.backend.standardize_dtype(d) for d in seen] == [
        "bfloat16", "float32", "bfloat16"]


def test_check_fails_when_keras_autocast_scope_moves(monkeypatch):
    from keras_dl.compat import keras_layers

    monkeypatch.setattr(keras_layers, "_autocast_scope", lambda: object())
    with pytest.raises(RuntimeError, match="AutocastScope moved"):
        compat.check_float32_reads()


# --- the coordination service's timeouts (tensorflow_internals) ----------------------------------


@pytest.fixture
def fresh_context(monkeypatch):
    """A new, unused TensorFlow `Context` standing in for this process's (left untouched)."""
    from tensorflow.python.eager import context

    fresh = context.Context()
    monkeypatch.setattr(context, "context", lambda: fresh)
    return fresh


def test_coordination_service_is_configured_as_the_strategy_would_with_the_timeouts(
        fresh_context):
    """Catches a wrong leader (a worker instead of the chief), a job left out (the strategy
    would wait for it forever) or the three timeouts swapped or dropped."""
    compat.configure_coordination_service(
        {"chief": ["localhost:1"], "worker": ["localhost:2", "localhost:3"]},
        heartbeat_ms=60_000, shutdown_ms=300_000, register_ms=3_600_000)
    config = fresh_context.coordination_service
    assert config.service_type == "standalone"
    assert config.service_leader == "/job:chief/replica:0/task:0"
    assert [(job.name, job.num_tasks) for job in config.coordinated_job_list] == [
        ("chief", 1), ("worker", 2)]
    assert (config.heartbeat_timeout_in_ms, config.shutdown_barrier_timeout_in_ms,
            config.cluster_register_timeout_in_ms) == (60_000, 300_000, 3_600_000)


def _configure_without_heartbeat(self, service_type, service_leader="", coordinated_jobs=None,
                                 shutdown_barrier_timeout_in_ms=0,
                                 cluster_register_timeout_in_ms=0):
    """A `configure_coordination_service` that no longer takes the heartbeat timeout."""


def _configure_ignoring_timeouts(original):
    def configure(self, service_type, **kwargs):
        original(self, service_type, service_leader=kwargs.get("service_leader", ""))
    return configure


def _initialize_overriding_any_service(self, *args, **kwargs):
    """A strategy set-up that configures the service itself, whatever was configured."""


def test_check_fails_when_the_coordination_service_internals_change(monkeypatch):
    """Catches the timeouts silently lost after a TensorFlow upgrade: the configuring method
    losing a keyword argument (a TypeError only on a real cluster), ignoring the timeouts, or
    the strategy replacing a service configured before it."""
    from tensorflow.python.distribute import collective_all_reduce_strategy as strategies
    from tensorflow.python.eager import context

    original = context.Context.configure_coordination_service
    changes = [
        (context.Context, "configure_coordination_service", _configure_without_heartbeat,
         "no longer takes the keyword arguments.*heartbeat_timeout_in_ms"),
        (context.Context, "configure_coordination_service",
         _configure_ignoring_timeouts(original), "records"),
        (strategies.CollectiveAllReduceExtended, "_initialize_multi_worker",
         _initialize_overriding_any_service, "_initialize_multi_worker"),
    ]
    for owner, name, replacement, message in changes:
        with monkeypatch.context() as patch:
            patch.setattr(owner, name, replacement)
            with pytest.raises(RuntimeError, match=message):
                compat.check_internals()
    with monkeypatch.context() as patch:
        patch.delattr(context.Context, "configure_coordination_service")
        with pytest.raises(RuntimeError, match="configure_coordination_service is gone"):
            compat.check_internals()


# --- KerasTuner's JSON writer (keras_tuner_internals) --------------------------------------------


def test_swapped_tuner_json_writer_takes_every_local_state_write_and_is_undone(
        tmp_path, monkeypatch):
    """Catches a trial's state still written in place (a kill leaves it half-written), a
    remote path sent to a writer of local files, or KerasTuner's writer not put back after
    the block (also when it raises)."""
    import json

    import keras_tuner
    from keras_tuner.src import utils
    from keras_tuner.src.engine import trial as trial_module

    remote = []
    monkeypatch.setattr(utils, "save_json", lambda path, obj: remote.append(path))
    keras_tuner_writer = utils.save_json
    written = {}
    with pytest.raises(KeyError):
        with compat.swapped_tuner_json_writer(lambda path, text: written.update({path: text})):
            trial = trial_module.Trial(keras_tuner.HyperParameters(), trial_id="7")
            trial.save(str(tmp_path / "trial.json"))
            utils.save_json("gs://bucket/oracle.json", {})
            raise KeyError("the search failed")
    assert json.loads(written[str(tmp_path / "trial.json")])["trial_id"] == "7"
    assert not (tmp_path / "trial.json").exists()  # nothing written in place
    assert remote == ["gs://bucket/oracle.json"]
    assert utils.save_json is keras_tuner_writer


def _save_bypassing_the_writer():
    from keras_tuner.src import utils

    captured = utils.save_json  # as `from keras_tuner.src.utils import save_json` would

    def save(self, fname):
        return captured(fname, self.get_state())
    return save


def _fit_writing_build_config_itself(self, trial, *args, **kwargs):
    """A `_build_and_fit_model` that writes build_config.json with its own `open`."""


def test_check_fails_when_the_swap_would_no_longer_reach_kerastuners_writes(monkeypatch):
    """Catches KerasTuner's state written in place again, unseen, after an upgrade: its
    `save_json` gone or renamed, a module holding the function itself (the swap misses its
    calls), a save that bypasses `utils.save_json`, or build_config.json written otherwise."""
    from keras_tuner.src import utils
    from keras_tuner.src.engine import stateful, tuner

    changes = [
        (stateful, "save_json", utils.save_json, "keras_tuner.src.engine.stateful hold"),
        (stateful.Stateful, "save", _save_bypassing_the_writer(),
         r"asked the swapped-in writer for \[\]"),
        (tuner.Tuner, "_build_and_fit_model", _fit_writing_build_config_itself,
         "build_config.json"),
    ]
    for owner, name, replacement, message in changes:
        with monkeypatch.context() as patch:
            patch.setattr(owner, name, replacement, raising=False)
            with pytest.raises(RuntimeError, match=message):
                compat.check_internals()
    with monkeypatch.context() as patch:
        patch.delattr(utils, "save_json")
        with pytest.raises(RuntimeError, match="save_json.* is gone or changed"):
            compat.check_internals()
