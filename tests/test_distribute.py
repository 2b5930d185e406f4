"""tf.distribute on CPU: two logical devices, and two real worker processes on 127.0.0.1."""

import hashlib
import json
import os
import socket
import subprocess
import sys
import textwrap
import time
from collections import Counter

import numpy as np
import pytest

from keras_dl import distribute
from keras_dl.data import load_numpy, train_validation_split

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TIMEOUT = 240  # seconds for any one process: a hung collective fails the test, never CI

WORKER = textwrap.dedent("""
    import hashlib, json, os, sys, time
    import keras
    import tensorflow as tf
    import keras_dl.data
    from keras_dl import distribute, training

    run_dir, epochs, kill_after, strategy = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
    augment = sys.argv[5] if len(sys.argv) > 5 else None
    if strategy == "mirrored":
        distribute.split_cpu(2)

    # every training batch this worker reads, before augmentation, as [pass, digests]: a pass
    # is one run through the examples by one iterator (each starts a new generator below), the
    # digests name its examples (the validation and test splits have no augment)
    read, passes = [], []
    augment_batches = keras_dl.data.augment_batches
    def recording_augment_batches(dataset, augment, labelled=True):
        if augment is not None:
            def new_pass():
                tag = len(passes)
                passes.append(tag)
                while True:
                    yield tag
            def note(tag, xb):
                digests = [hashlib.sha1(x.tobytes()).hexdigest() for x in xb.numpy()]
                read.append([int(tag), digests])
                return 0
            def record(tag, batch):
                with tf.control_dependencies([tf.py_function(note, [tag, batch[0]], tf.int32)]):
                    return tf.identity(batch[0]), batch[1]
            tags = tf.data.Dataset.from_generator(
                new_pass, output_signature=tf.TensorSpec((), tf.int64))
            dataset = tf.data.Dataset.zip((tags, dataset)).map(record)
        return augment_batches(dataset, augment, labelled)
    keras_dl.data.augment_batches = recording_augment_batches

    stoppers = []  # the run's early stopping, to report its state
    early_stopping_init = keras.callbacks.EarlyStopping.__init__
    def recorded_init(self, *args, **kwargs):
        early_stopping_init(self, *args, **kwargs)
        stoppers.append(self)
    keras.callbacks.EarlyStopping.__init__ = recorded_init

    def stopping_state():
        return [[s.wait, s.best, s.best_epoch] for s in stoppers]

    class Record(keras.callbacks.Callback):
        begun = []
        stopping_at_begin = None
        def on_epoch_begin(self, epoch, logs=None):
            if not Record.begun:  # after MonitorState put a resumed run's state back
                Record.stopping_at_begin = stopping_state()
            Record.begun.append(epoch)
        def on_epoch_end(self, epoch, logs=None):
            victim = os.environ.get("KILL_TASK", str(distribute.task_index()))  # default: all
            if epoch + 1 == kill_after and victim == str(distribute.task_index()):
                from tensorflow.python.eager import context
                heartbeat = context.context().coordination_service.heartbeat_timeout_in_ms
                print("RESULT " + json.dumps({"stopping": stopping_state(), "heartbeat_ms": heartbeat,
                                              "died_at": time.time()}), flush=True)
                os._exit(9)  # killed after the epoch's backup: no clean-up at all

    result = training.train(
        "mlp", dataset="digits", run_dir=run_dir, epochs=epochs, batch_size=16, limit=480,
        builder_kwargs={"hidden_units": [16]}, lr_schedule="constant", patience=50,
        verbose=0, strategy=strategy, augment=augment, extra_callbacks=[Record()])
    print("RESULT " + json.dumps({
        "losses": [row["loss"] for row in result.history], "augment": result.config["augment"],
        "begun": Record.begun, "metrics": result.metrics, "chief": distribute.is_chief(),
        "stopping_at_begin": Record.stopping_at_begin, "read": read}))
""")


TUNER = textwrap.dedent("""
    import json, sys
    from keras_dl import tuning

    result = tuning.tune("mlp", dataset="digits", directory=sys.argv[1], max_trials=2,
                         epochs=1, limit=400, verbose=0, strategy="multiworker")
    print("RESULT " + json.dumps([[t["trial"], t["score"], t["hyperparameters"]]
                                  for t in result.trials]))
""")


AUGMENT = "flip,translate=0.125"  # the workers train on augmented batches


def _free_ports(count):
    sockets = [socket.socket() for _ in range(count)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


def _env(tf_config=None):
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", PYTHONPATH=ROOT)
    env.pop("TF_CONFIG", None)
    if tf_config is not None:
        env["TF_CONFIG"] = json.dumps(tf_config)
    return env


def _result(output):
    lines = [line for line in output.splitlines() if line.startswith("RESULT ")]
    return json.loads(lines[-1][len("RESULT "):]) if lines else None


def _last_lines(log, count=15):
    """The end of a worker's log, less TensorFlow's start-up chatter."""
    noise = ("WARNING: All log messages", "I0000 ", "E0000 ", "W0000 ", "To enable the following")
    lines = [line for line in log.splitlines() if not line.startswith(noise)]
    return "\n".join("    " + line for line in lines[-count:])


def _check_exit_codes(outcomes, expected):
    """Fail with one message naming every worker that did not exit with `expected`, its exit
    code and the last lines it wrote (a worker that died, and the one it took down)."""
    bad = [(index, code, log) for index, (code, _, log) in enumerate(outcomes) if code != expected]
    if bad:
        pytest.fail("\n".join(
            f"worker {index} exited with code {code} (expected {expected}); its last lines:\n"
            f"{_last_lines(log)}" for index, code, log in bad), pytrace=False)


def _run_workers(run_dir, epochs=0, kill_after=0, script=WORKER, augment=AUGMENT, env=None,
                 expected=0):
    """Start two workers on 127.0.0.1 and wait for both; returns [(returncode, result, log)]
    after checking that both exited with `expected` (None: no check)."""
    ports = _free_ports(2)
    cluster = {"worker": [f"127.0.0.1:{port}" for port in ports]}
    arguments = [str(run_dir)] if script is TUNER else [str(run_dir), str(epochs),
                                                          str(kill_after), "multiworker", augment]
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", script, *arguments],
            env={**_env({"cluster": cluster, "task": {"type": "worker", "index": index}}),
                 **(env or {})},
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=ROOT,
        )
        for index in range(2)
    ]
    outcomes = []
    for index, process in enumerate(processes):
        try:
            out, _ = process.communicate(timeout=TIMEOUT)
        except subprocess.TimeoutExpired:
            for p in processes:
                p.kill()
            out, _ = process.communicate()
            pytest.fail(f"worker {index} hung for {TIMEOUT} s; its last lines:\n"
                        f"{_last_lines(out)}", pytrace=False)
        outcomes.append((process.returncode, _result(out), out))
    if expected is not None:
        _check_exit_codes(outcomes, expected)
    return outcomes


def test_tf_config_parsing(monkeypatch):
    monkeypatch.delenv("TF_CONFIG", raising=False)
    assert distribute.cluster_size() == 1 and distribute.is_chief()
    assert distribute.task_name() == "local" and distribute.task_index() == 0
    cluster = {"worker": ["127.0.0.1:1", "127.0.0.1:2"]}
    monkeypatch.setenv("TF_CONFIG", json.dumps({"cluster": cluster,
                                                "task": {"type": "worker", "index": 1}}))
    assert distribute.cluster_size() == 2 and not distribute.is_chief()
    assert distribute.task_name() == "worker-1"
    assert distribute.task_index() == 1
    monkeypatch.setenv("TF_CONFIG", json.dumps({"cluster": {"chief": ["h:1"], **cluster},
                                                "task": {"type": "worker", "index": 1}}))
    assert distribute.task_index() == 2 and not distribute.is_chief()
    monkeypatch.setenv("TF_CONFIG", "{not json")
    with pytest.raises(ValueError, match="TF_CONFIG is not valid JSON"):
        distribute.cluster_size()
    with pytest.raises(ValueError, match="unknown strategy 'tpu'"):
        distribute.strategy("tpu")


def test_default_strategy_without_gpus_or_cluster(monkeypatch):
    monkeypatch.delenv("TF_CONFIG", raising=False)
    import tensorflow as tf

    assert distribute.strategy("auto") is tf.distribute.get_strategy()
    with pytest.raises(ValueError, match="needs TF_CONFIG naming at least two tasks"):
        distribute.strategy("multiworker")
    with pytest.raises(ValueError, match="this machine has no GPU"):
        distribute.strategy("mirrored", gpus=[0])


def test_mirrored_strategy_on_two_logical_cpus(tmp_path):
    process = subprocess.run(
        [sys.executable, "-c", WORKER, str(tmp_path / "run"), "2", "0", "mirrored", AUGMENT],
        env=_env(), capture_output=True, text=True, timeout=TIMEOUT, cwd=ROOT,
    )
    result = _result(process.stdout)
    assert process.returncode == 0 and result, process.stderr[-3000:]
    assert result["metrics"]["replicas"] == 2
    assert result["metrics"]["global_batch_size"] == 32  # per-replica 16 × 2 replicas
    assert result["metrics"]["epochs_run"] == 2 and result["augment"] == AUGMENT
    assert all(np.isfinite(result["losses"]))
    assert (tmp_path / "run" / "model.keras").is_file()


def test_two_worker_processes_train_in_step_and_resume_after_a_kill(tmp_path):
    # Two workers killed after epoch 2 of 4, then restarted: they resume at epoch 3, redo
    # nothing, and report the same (all-reduced) loss every epoch. Bugs it catches: both
    # workers reading the same shard or the whole split (an epoch would read examples twice),
    # shards shuffled apart by per-worker seeds (they overlap), and a worker whose early
    # stopping resumes afresh (its wait / best / best epoch not carried over the kill).
    run = tmp_path / "killed"
    killed = _run_workers(run, epochs=4, kill_after=2, expected=9)
    assert (run / "backup" / "worker-0").is_dir() and (run / "backup" / "worker-1").is_dir()
    assert not (run / "metrics.json").exists()
    resumed = _run_workers(run, epochs=4)
    for (_, at_kill, _), (code, result, log) in zip(killed, resumed):
        assert code == 0 and result, log[-3000:]
        assert result["begun"] == [2, 3]  # epochs 0 and 1 were not trained again
        # early stopping goes on from where it was at the kill, on every worker
        assert result["stopping_at_begin"] == at_kill["stopping"]
        assert at_kill["stopping"][0][1] is not None  # a best value held at the kill
    (_, chief, _), (_, worker, _) = resumed
    assert chief["chief"] and not worker["chief"]
    assert chief["metrics"]["epochs_run"] == 4 and chief["metrics"]["resumed"] is True
    assert chief["metrics"]["replicas"] == 2 and chief["augment"] == AUGMENT
    assert len(chief["losses"]) == 4  # the chief's history holds the epochs before the kill
    assert chief["losses"][-2:] == pytest.approx(worker["losses"], rel=1e-6)
    assert (run / "metrics.json").is_file()  # only the chief writes the run
    assert not (run / "workers" / "worker-1" / "model.keras").exists()
    # the shards are disjoint: each worker's pass through its shard holds examples of the
    # training split, none twice, half the split (less a remainder) when full, and each full
    # pass of worker 0 has its counterpart among worker 1's passes, sharing no example with it
    x, y = load_numpy("digits", "train", limit=480)
    x_fit = train_validation_split(x, y, 0.1, seed=0)[0]
    fit_examples = Counter(hashlib.sha1(example.tobytes()).hexdigest() for example in x_fit)
    assert chief["metrics"]["train_examples"] == len(x_fit)
    full = len(x_fit) // chief["metrics"]["global_batch_size"] * 16
    passes = [{}, {}]
    for read, (_, result, _) in zip(passes, resumed):
        for tag, digests in result["read"]:
            read.setdefault(tag, []).extend(digests)
    sizes = [[len(digests) for digests in read.values()] for read in passes]
    assert full in sizes[0] and full in sizes[1], sizes
    for digests in [*passes[0].values(), *passes[1].values()]:
        assert not Counter(digests) - fit_examples, "a pass read an example twice"
    for digests in passes[0].values():
        if len(digests) == full:
            assert any(not set(digests) & set(other) for other in passes[1].values()), (
                "worker 1 read some of worker 0's shard in every pass")


@pytest.mark.apps  # ~35 s of two worker processes; the default suite trains two workers above
def test_a_dead_worker_is_named_and_stops_the_other(tmp_path):
    # Worker 1 dies after epoch 1; worker 0 waits in the next all-reduce until the coordination
    # service misses worker 1's heartbeats, then fails. Bugs caught: the heartbeat timeout not
    # reaching TensorFlow (its own 10 s, or keras_dl's 60 s, would keep the survivor waiting
    # that long after the death), a survivor that hangs instead of failing, and a driver message
    # that does not say which worker died and how. The wait is timed from the death, not from
    # the start: two workers' start-up on a busy CI machine once took 50 s by itself.
    outcomes = _run_workers(tmp_path / "run", epochs=3, kill_after=1, expected=None,
                            env={"KERAS_DL_HEARTBEAT_TIMEOUT": "5", "KILL_TASK": "1"})
    (survivor_code, _, survivor_log), (dead_code, dead, _) = outcomes
    assert dead_code == 9
    assert dead["heartbeat_ms"] == 5000  # the variable reached TensorFlow's service
    assert survivor_code not in (0, 9), _last_lines(survivor_log)
    assert "stopped sending heartbeats" in survivor_log and "task:1" in survivor_log
    assert time.time() - dead["died_at"] < 40  # 5 s of silence, not 60
    with pytest.raises(pytest.fail.Exception) as failure:
        _check_exit_codes(outcomes, expected=0)
    message = str(failure.value)
    assert "worker 1 exited with code 9 (expected 0); its last lines:" in message
    assert f"worker 0 exited with code {survivor_code} (expected 0)" in message
    assert "stopped sending heartbeats" in message  # the survivor's own last lines


def test_coordination_timeouts(monkeypatch):
    for variable in distribute.TIMEOUT_VARIABLES:
        monkeypatch.delenv(variable, raising=False)
    assert distribute.coordination_timeouts() == distribute.Timeouts(60.0, 300.0, 3600.0)
    monkeypatch.setenv("KERAS_DL_HEARTBEAT_TIMEOUT", "7.5")
    monkeypatch.setenv("KERAS_DL_SHUTDOWN_TIMEOUT", " 20 ")
    assert distribute.coordination_timeouts() == distribute.Timeouts(7.5, 20.0, 3600.0)
    for bad in ("0", "-3", "soon", "inf", "nan"):
        monkeypatch.setenv("KERAS_DL_REGISTER_TIMEOUT", bad)
        with pytest.raises(ValueError, match=f"KERAS_DL_REGISTER_TIMEOUT must be a positive "
                                             f"number of seconds, got '{bad}'"):
            distribute.coordination_timeouts()


@pytest.mark.apps  # ~30 s of two worker processes tuning
def test_two_worker_processes_tune_the_same_trials(tmp_path):
    outcomes = _run_workers(tmp_path / "search", script=TUNER)
    for code, result, log in outcomes:
        assert code == 0 and result, log[-3000:]
    (_, chief, _), (_, worker, _) = outcomes
    assert len(chief) == 2 and chief == worker  # same trials, same all-reduced scores
    assert (tmp_path / "search" / "best" / "model.keras").is_file()  # written by the chief
    assert not (tmp_path / "search" / "workers" / "worker-1" / "best").exists()
