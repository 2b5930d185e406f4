"""The bad-input table (issue 36): at the command line, in the Python API, in the data loaders
and at the server, every bad input gets one answer that names the bad value and what is
allowed, and changes nothing on disk.

Each row of `CASES` is one bad input: `make` builds it under the test's tmp_path (or the shared
assets) and returns what to run (an argv for `keras-dl`, else a call); `expect` is the answer:
exit code 2 and one `keras-dl: error:` line (`Exit2`), an exception of one line (`Raises`), or
TensorFlow Serving's HTTP status (`Http`) or gRPC status (`Grpc`) with its error text. Every
row also checks that the folders it could touch (its tmp_path, the shared model files and
SavedModels) hold the same files with the same bytes afterwards. `{tmp}` in an expected
fragment stands for the row's tmp_path: the answer must name the very path given.

docs/bad_inputs.md is generated from the table (`python tests/test_bad_inputs.py` rewrites
it) and a test keeps it in step. To add a case, add a row.
"""

from __future__ import annotations

import dataclasses
import gzip
import hashlib
import json
import os
import re
import shutil
import struct
import sys
import zipfile
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pytest

from _cli import run_cli
from _http import http
from keras_dl import UnsafeModelFileError
from keras_dl.data import DatasetUnavailableError

ROOT = Path(__file__).resolve().parents[1]
DOCS_PAGE = ROOT / "docs" / "bad_inputs.md"
NON_UTF8 = os.fsdecode(b"\xff")  # a file-name byte that is not UTF-8, as Python holds it
DIGITS = ("--dataset", "digits", "--limit", "60", "--epochs", "1", "--set", "hidden_units=[4]")
MULTITASK = ("--dataset", "fashion_mnist_groups", "--limit", "60", "--epochs", "1")
CORPUS = ("--dataset", "wiki_sample", "--limit", "20", "--epochs", "1")


# === the answers ===============================================================================


@dataclasses.dataclass(frozen=True)
class Exit2:
    """`keras-dl` exits with code 2, prints nothing on stdout and one line on stderr, which
    holds every fragment."""

    fragments: tuple

    def check(self, world, argv):
        code, out, err = run_cli(world.capsys, *argv)
        lines = err.strip().splitlines()
        assert code == 2, (code, out, err)
        assert "Traceback" not in err and out == "", (out, err)
        assert len(lines) == 1 and lines[0].startswith("keras-dl"), err
        for fragment in self.fragments:
            assert world.fill(fragment) in lines[0], lines[0]

    def describe(self):
        return "exit 2: `keras-dl: error: …" + " … ".join(self.fragments) + "…`"


@dataclasses.dataclass(frozen=True)
class Raises:
    """The call raises `error` (or a subclass) with a one-line message holding every
    fragment."""

    error: type
    fragments: tuple

    def check(self, world, call):
        with pytest.raises(self.error) as raised:
            call()
        message = str(raised.value)
        assert len(message.splitlines()) == 1, message
        for fragment in self.fragments:
            assert world.fill(fragment) in message, message

    def describe(self):
        return f"`{self.error.__name__}`: `…" + " … ".join(self.fragments) + "…`"


@dataclasses.dataclass(frozen=True)
class Http:
    """The REST call answers `status` with TensorFlow Serving's body `{"error": "..."}`."""

    status: int
    fragments: tuple

    def check(self, world, call):
        status, body = call()
        assert status == self.status, (status, body)
        assert set(body) == {"error"} and len(body["error"].splitlines()) == 1, body
        for fragment in self.fragments:
            assert fragment in body["error"], body

    def describe(self):
        return f"HTTP {self.status}: `{{\"error\": \"…" + " … ".join(self.fragments) + "…\"}`"


@dataclasses.dataclass(frozen=True)
class Grpc:
    """The gRPC call fails with status `code` (a `grpc.StatusCode` name) and these details."""

    code: str
    fragments: tuple

    def check(self, world, call):
        import grpc

        with pytest.raises(grpc.RpcError) as raised:
            call()
        assert raised.value.code() == getattr(grpc.StatusCode, self.code), raised.value
        for fragment in self.fragments:
            assert fragment in raised.value.details(), raised.value.details()

    def describe(self):
        return f"gRPC `{self.code}`: `…" + " … ".join(self.fragments) + "…`"


def exit2(*fragments):
    return Exit2(fragments)


def raises(error, *fragments):
    return Raises(error, fragments)


@dataclasses.dataclass(frozen=True)
class Case:
    """One bad input: `make(world)` builds it and returns what `expect` runs."""

    id: str
    surface: str  # "cli", "api", "data" or "server"
    given: str  # the bad input, in words (the docs page's column)
    make: Callable[[Any], Any]
    expect: Exit2 | Raises | Http | Grpc
    needs_non_root: bool = False  # root may write anywhere: an unwritable folder is not


# === the world a row runs in ===================================================================


@dataclasses.dataclass
class World:
    tmp: Path
    assets: "Assets"
    capsys: Any
    monkeypatch: Any
    request: Any

    def fill(self, fragment: str) -> str:
        return fragment.replace("{tmp}", str(self.tmp))

    @property
    def server(self):
        return self.request.getfixturevalue("server")


@dataclasses.dataclass
class Assets:
    """Model files shared by the rows (built once): a digits run dir (an MLP and its
    config.json), a digits model with a Lambda layer, a Fashion-MNIST-shaped model, a
    SavedModel export of the run (`saved/m/1`, served by `server`), and a copy of it as
    version `1` of the server's base's parent, which a model name `..` would reach."""

    root: Path

    run = property(lambda self: self.root / "run")
    lambda_file = property(lambda self: self.root / "lambda.keras")
    fashion_file = property(lambda self: self.root / "fashion.keras")
    saved = property(lambda self: self.root / "saved")


def _lambda_model():
    import keras

    inputs = keras.Input((8, 8, 1))
    doubled = keras.layers.Lambda(lambda t: t * 2.0, name="double")(inputs)
    outputs = keras.layers.Dense(10, activation="softmax")(keras.layers.Flatten()(doubled))
    return keras.Model(inputs, outputs)


@pytest.fixture(scope="module")
def assets(tmp_path_factory):
    import keras_dl
    from keras_dl import cli

    held = Assets(tmp_path_factory.mktemp("bad_inputs"))
    held.run.mkdir()
    keras_dl.create_model("mlp", input_shape=(8, 8, 1), num_classes=10, hidden_units=(4,),
                          seed=0).save(held.run / "model.keras")
    (held.run / "config.json").write_text(json.dumps({"model": "mlp", "dataset": "digits"}))
    _lambda_model().save(held.lambda_file)
    keras_dl.create_model("mlp", input_shape=(28, 28, 1), num_classes=10, hidden_units=(2,),
                          seed=0).save(held.fashion_file)
    assert cli.main(["export", str(held.run), "--name", "m", "--base", str(held.saved)]) == 0
    shutil.copytree(held.saved / "m" / "1", held.root / "1")
    return held


@pytest.fixture(scope="module")
def server(assets):
    """The server on the digits export, with a small request limit (4 kB)."""
    from keras_dl.serving import ModelServer

    with ModelServer(assets.saved, rest_port=0, grpc_port=0, max_request_bytes=4096) as running:
        yield running


def snapshot(*folders) -> dict:
    """Every file and folder under `folders`, with each file's size and content hash."""
    seen = {}
    for folder in folders:
        for path in sorted(Path(folder).rglob("*")):
            if path.is_symlink() or path.is_dir():
                seen[str(path)] = "dir" if path.is_dir() else "link"
            else:
                seen[str(path)] = (path.stat().st_size, hashlib.sha1(path.read_bytes()).digest())
    return seen


# === helpers that build bad inputs =============================================================


def write(path: Path, content) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, np.ndarray):
        np.save(path, content, allow_pickle=False)
    else:
        path.write_bytes(content if isinstance(content, bytes) else content.encode())
    return path


def keras_with_config(world, name, edit) -> Path:
    """A copy of the run's model.keras whose config.json text is `edit(text)`."""
    with zipfile.ZipFile(world.assets.run / "model.keras") as source:
        members = {member: source.read(member) for member in source.namelist()}
    members["config.json"] = edit(members["config.json"].decode()).encode()
    path = world.tmp / name
    with zipfile.ZipFile(path, "w") as target:
        for member, data in members.items():
            target.writestr(member, data)
    return path


def unknown_class(text):
    return text.replace('"module": "keras.layers", "class_name": "Dense"',
                        '"module": null, "class_name": "MyLayer", "registered_name": '
                        '"mypkg>MyLayer"', 1)


def copy(source: Path, target: Path) -> Path:
    """A copy of a model file alone: without its run's config.json beside it, `train`
    prints no warning about the run's validation split before its error (trainer.py warns
    before it checks the weights; the report of issue 36 asks for that order to change)."""
    return Path(shutil.copy(source, target))


def truncated_copy(world, source: Path, name: str) -> Path:
    data = source.read_bytes()
    return write(world.tmp / name, data[: len(data) // 2])


def idx_bytes(array: np.ndarray) -> bytes:
    """`array` (uint8) in the IDX format."""
    return bytes([0, 0, 0x08, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape) + \
        array.astype(">u1").tobytes()


def fashion_dir(world, images=(3, 28, 28), labels=(1, 2, 3)) -> None:
    """An offline Fashion-MNIST folder (the four IDX .gz files) with these images and labels,
    named by $KERAS_DL_FASHION_MNIST_DIR; the loader's cache emptied."""
    from keras_dl import data
    from keras_dl.data import sources

    folder = world.tmp / "fashion"
    for split, (images_file, labels_file) in sources.FASHION_MNIST_FILES.items():
        write(folder / images_file, gzip.compress(idx_bytes(np.zeros(images, "uint8"))))
        write(folder / labels_file, gzip.compress(idx_bytes(np.array(labels, "uint8"))))
    world.monkeypatch.setenv("KERAS_DL_FASHION_MNIST_DIR", str(folder))
    data._cached_arrays.cache_clear()


def no_offline_fashion(world) -> None:
    """Fashion-MNIST in none of its offline places (the folder $KERAS_DL_FASHION_MNIST_DIR
    names is empty, Debian's and Keras' folders are left out, tensorflow-datasets' data dir
    is empty) and tensorflow-datasets unreachable."""
    import types

    from keras_dl import data
    from keras_dl.data import sources

    empty = world.tmp / "empty"
    empty.mkdir()
    world.monkeypatch.setenv("KERAS_DL_FASHION_MNIST_DIR", str(empty))
    world.monkeypatch.setattr(sources, "FASHION_MNIST_DIRS", ())
    world.monkeypatch.setattr(sources, "_tfds_builder",
                              lambda name: types.SimpleNamespace(data_dir=str(empty)))
    world.monkeypatch.setattr(sources, "is_online", lambda *args, **kwargs: False)
    data._cached_arrays.cache_clear()


def finished_run(world) -> Path:
    """A run dir as a finished run leaves it (its config.json and metrics.json)."""
    write(world.tmp / "done" / "config.json", "{}")
    return write(world.tmp / "done" / "metrics.json", "{}").parent


def empty_dir(world) -> Path:
    (world.tmp / "empty").mkdir()
    return world.tmp / "empty"


def unwritable_dir(world) -> Path:
    folder = world.tmp / "locked"
    folder.mkdir()
    folder.chmod(0o555)
    world.request.addfinalizer(lambda: folder.chmod(0o755))
    return folder


def no_serving_signature(world) -> Path:
    """A SavedModel whose only signature is "other"."""
    import tensorflow as tf

    module = tf.Module()
    module.f = tf.function(lambda x: {"y": x * 2.0},
                           input_signature=[tf.TensorSpec([None, 8, 8, 1], tf.float32)])
    path = world.tmp / "other" / "1"
    tf.saved_model.save(module, str(path), signatures={"other": module.f})
    return path


def npy(world, name, array) -> Path:
    return write(world.tmp / name, np.asarray(array))


def predict(world, array, name="x.npy", *extra):
    return ["predict", world.assets.saved / "m", "--input", npy(world, name, array), *extra]


def train_from(world, init_from, *extra):
    return ["train", "mlp", *DIGITS, "--run-dir", world.tmp / "run", "--init-from", init_from,
            *extra]


# --- the server's requests ---------------------------------------------------------------------


def rest(world, path, body=None, raw=None, method="POST"):
    return lambda: http(world.server, method, path, body, raw)


def grpc_predict(world, inputs, name="m", version=None, signature="serving_default"):
    def call():
        import grpc
        import tensorflow as tf
        from tensorflow_serving.apis import predict_pb2, prediction_service_pb2_grpc

        request = predict_pb2.PredictRequest()
        request.model_spec.name = name
        request.model_spec.signature_name = signature
        if version is not None:
            request.model_spec.version.value = version
        for key, value in inputs.items():
            request.inputs[key].CopyFrom(tf.make_tensor_proto(value))
        with grpc.insecure_channel(f"127.0.0.1:{world.server.grpc_port}") as channel:
            prediction_service_pb2_grpc.PredictionServiceStub(channel).Predict(request,
                                                                                timeout=60)

    return call


def nested_body(depth) -> bytes:
    """A predict body nested `depth` levels deep (its object counts as one)."""
    return b'{"instances": ' + b"[" * (depth - 1) + b"0.5" + b"]" * (depth - 1) + b"}"


def example(count=1, value=0.5):
    return np.full((count, 8, 8, 1), value, "float32")


def api(function_path, *args, **kwargs):
    """A call of `keras_dl...function_path(*args, **kwargs)`, resolved when it runs."""
    def call():
        import importlib

        module, _, name = function_path.rpartition(".")
        return getattr(importlib.import_module(module), name)(*args, **kwargs)

    return call


def load_model(path):
    return api("keras_dl.load_model", path)


def _word_ids():
    from keras_dl.data.skipgrams import Corpus

    return Corpus(np.array([1, 2, 1], "int32"), np.zeros(3, "int32"))


def _served_word2vec(words):
    """A word2vec of four words exported under the row's tmp_path; the call asks the served
    model (`ServedModel`, what predict and serve use) for `words`' vectors."""
    def make(world):
        import keras_dl
        from keras_dl.export import ServedModel, export_saved_model

        model = keras_dl.create_model("word2vec", vocabulary=["king", "queen", "man", "woman"],
                                      dimension=4)
        path = export_saved_model(model, world.tmp / "saved", "w2v").path
        return lambda: ServedModel(path)(np.array(words))

    return make


def init_wrong_architecture(world):
    from keras_dl.training.init_from import load_initial_weights

    import keras_dl

    model = keras_dl.create_model("mlp", input_shape=(8, 8, 1), num_classes=10,
                                  hidden_units=(5,))
    return lambda: load_initial_weights(model, world.assets.run / "model.keras")


# === the table =================================================================================


def _cli_cases():
    c = Case
    return [
        c("cli-unknown-command", "cli", "`keras-dl frobnicate`",
          lambda w: ["frobnicate"], exit2("invalid choice: 'frobnicate'", "train")),
        c("cli-unknown-model", "cli", "`train nosuch`: a model that is not registered",
          lambda w: ["train", "nosuch", "--dataset", "digits", "--run-dir", w.tmp / "r"],
          exit2("unknown model 'nosuch'; registered models:", "mlp")),
        c("cli-unknown-dataset", "cli", "`--dataset nosuch_ds`: no such dataset",
          lambda w: ["train", "mlp", "--dataset", "nosuch_ds", "--run-dir", w.tmp / "r"],
          exit2("unknown dataset 'nosuch_ds'; known: digits, fashion_mnist, mnist1d")),
        c("cli-unknown-builder-argument", "cli", "`--set widht=3`: the builder takes no `widht`",
          lambda w: ["train", "mlp", *DIGITS, "--set", "widht=3", "--run-dir", w.tmp / "r"],
          exit2("model 'mlp' takes no argument 'widht'; allowed:", "hidden_units")),
        c("cli-set-without-value", "cli", "`--set hidden_units` without `=VALUE`",
          lambda w: ["train", "mlp", "--set", "hidden_units", "--run-dir", w.tmp / "r"],
          exit2("--set takes key=value, got 'hidden_units'")),
        c("cli-non-boolean-builder-argument", "cli", "`--set batch_norm=maybe`",
          lambda w: ["train", "mlp", *DIGITS, "--set", "batch_norm=maybe", "--run-dir",
                     w.tmp / "r"],
          exit2("--set batch_norm takes true or false", "got 'maybe'")),
        c("cli-zero-epochs", "cli", "`--epochs 0`",
          lambda w: ["train", "mlp", "--epochs", "0"],
          exit2("argument --epochs: 0 is not a positive integer")),
        c("cli-unknown-optimizer", "cli", "`--optimizer adamw`: not a choice",
          lambda w: ["train", "mlp", "--optimizer", "adamw"],
          exit2("argument --optimizer: invalid choice: 'adamw'", "'adam'")),
        c("cli-unknown-loss", "cli", "`--loss zero_one`: the 0-1 loss is a metric, not a loss",
          lambda w: ["train", "mlp", "--loss", "zero_one"],
          exit2("argument --loss: invalid choice: 'zero_one'", "'cross_entropy', 'l2', 'l1'")),
        c("cli-unknown-probe", "cli", "`--probe sparkle`: not a probe",
          lambda w: ["train", "mlp", "--probe", "sparkle"],
          exit2("unknown probe 'sparkle'; allowed: activations, gradients, weights, all")),
        c("cli-augment-a-sequence-dataset", "cli", "`--augment flip` on a dataset of sequences",
          lambda w: ["train", "mlp", "--dataset", "mnist1d", "--augment", "flip",
                     "--run-dir", w.tmp / "r"],
          exit2("augmentation is for images of shape (height, width, channels); dataset "
                "'mnist1d' has examples of shape (40,)")),
        c("cli-probe-unknown-layer", "cli", "`--probe-layers hidden9_dense`: no such layer",
          lambda w: ["train", "mlp", *DIGITS, "--probe", "activations", "--probe-layers",
                     "hidden9_dense", "--run-dir", w.tmp / "r"],
          exit2("no layer 'hidden9_dense' to probe in model 'mlp'; layers allowed:",
                "hidden1_dense")),
        c("cli-probe-layers-without-probe", "cli", "`--probe-layers` without `--probe`",
          lambda w: ["train", "mlp", "--probe-layers", "hidden1_dense"],
          exit2("probe layers 'hidden1_dense' given without probe; name what to record")),
        c("cli-probe-layers-empty", "cli", "`--probe-layers ,`: no layer named",
          lambda w: ["train", "mlp", "--probe", "all", "--probe-layers", ","],
          exit2("bad probe layers ','; allowed: the model's layer names, comma-separated")),
        c("cli-probe-for-tune", "cli", "`tune --probe all`: a search records no probes",
          lambda w: ["tune", "mlp", "--dir", w.tmp / "t", "--probe", "all"],
          exit2("unrecognized arguments: --probe all")),
        c("cli-plot-missing-run-dir", "cli", "`plot nosuch`: no such run dir",
          lambda w: ["plot", w.tmp / "nosuch"],
          exit2("nosuch' is not a directory; give the run dir of a", "--probe all")),
        c("cli-plot-without-probes", "cli", "`plot RUN_DIR` of a run trained without `--probe`",
          lambda w: ["plot", finished_run(w)],
          exit2("no probes recorded in", "--probe all")),
        c("cli-loss-for-an-rbm", "cli", "`train rbm --loss l2`: an RBM trains by its own rule",
          lambda w: ["train", "rbm", *DIGITS[:6], "--loss", "l2", "--run-dir", w.tmp / "r"],
          exit2("loss l2 is not for model 'rbm' (unsupervised: it trains by its own rule")),
        c("cli-unknown-lr-schedule", "cli", "`--lr-schedule 1/t`: not a choice",
          lambda w: ["train", "mlp", "--lr-schedule", "1/t"],
          exit2("argument --lr-schedule: invalid choice: '1/t'", "'inverse_time'")),
        c("cli-unknown-attack", "cli", "`--adversarial sparkle:eps=0.1`",
          lambda w: ["train", "mlp", *DIGITS, "--adversarial", "sparkle:eps=0.1",
                     "--run-dir", w.tmp / "r"],
          exit2("unknown attack 'sparkle' in adversarial spec", "allowed: fgsm, iterative_fgsm, "
                "pgd")),
        c("cli-adversarial-eps-beyond-range", "cli", "`--adversarial fgsm:eps=1.5`: beyond the "
          "input range", lambda w: ["train", "mlp", *DIGITS, "--adversarial", "fgsm:eps=1.5",
                                    "--run-dir", w.tmp / "r"],
          exit2("bad adversarial eps 1.5", "allowed: a number in [0, 1]")),
        c("cli-adversarial-negative-eps", "cli", "`--adversarial fgsm:eps=-0.1`",
          lambda w: ["train", "mlp", *DIGITS, "--adversarial", "fgsm:eps=-0.1",
                     "--run-dir", w.tmp / "r"],
          exit2("bad adversarial eps -0.1", "allowed: a number in [0, 1]")),
        c("cli-adversarial-alpha", "cli", "`--adversarial fgsm:eps=0.1,alpha=2`: α outside "
          "[0, 1]", lambda w: ["train", "mlp", *DIGITS, "--adversarial", "fgsm:eps=0.1,alpha=2",
                               "--run-dir", w.tmp / "r"],
          exit2("bad adversarial alpha 2", "allowed: a number in [0, 1]")),
        c("cli-adversarial-autoencoder", "cli", "`train autoencoder --adversarial ...`: "
          "not a classifier",
          lambda w: ["train", "autoencoder", *DIGITS[:6], "--adversarial", "fgsm:eps=0.1",
                     "--run-dir", w.tmp / "r"],
          exit2("adversarial training is for classifiers; model 'autoencoder' is "
                "reconstruction")),
        c("cli-adversarial-choices-in-train", "cli", "`train --adversarial fgsm:eps=0.1|0.2`: "
          "choices are for tune",
          lambda w: ["train", "mlp", *DIGITS, "--adversarial", "fgsm:eps=0.1|0.2",
                     "--run-dir", w.tmp / "r"],
          exit2("adversarial eps=0.1|0.2 lists choices, which only keras-dl tune draws from")),
        c("cli-adversarial-data-range", "cli", "`--adversarial` on data outside its range",
          lambda w: ["train", "mlp", "--dataset", "mnist1d", "--limit", "60", "--epochs", "1",
                     "--adversarial", "fgsm:eps=0.1", "--run-dir", w.tmp / "r"],
          exit2("the training inputs lie in", "outside the adversarial range [0, 1]; give the "
                "data's range in the spec")),
        c("cli-classifier-on-image-pairs", "cli", "`train mlp --dataset fashion_mnist_edges`: "
          "targets are images", lambda w: ["train", "mlp", "--dataset", "fashion_mnist_edges",
                                           "--run-dir", w.tmp / "r"],
          exit2("dataset 'fashion_mnist_edges' pairs each image with a target image, for "
                "image-to-image models; model 'mlp' is classification")),
        c("cli-unknown-gan-loss", "cli", "`train gan --set gan_loss=sparkle`",
          lambda w: ["train", "gan", "--dataset", "digits", "--set", "gan_loss=sparkle",
                     "--run-dir", w.tmp / "r"],
          exit2("unknown GAN loss 'sparkle'; allowed: non_saturating, minimax")),
        c("cli-classifier-on-a-domain-shift", "cli", "`train mlp --dataset moons_shift`: "
          "target labels hidden", lambda w: ["train", "mlp", "--dataset", "moons_shift",
                                             "--run-dir", w.tmp / "r"],
          exit2("dataset 'moons_shift' mixes labelled source and unlabelled target examples, "
                "for domain adaptation; model 'mlp' is classification")),
        c("cli-dann-without-domains", "cli", "`train dann --dataset digits`: one domain only",
          lambda w: ["train", "dann", "--dataset", "digits", "--run-dir", w.tmp / "r"],
          exit2("model 'dann' adapts between domains; dataset 'digits' is no domain-shift "
                "dataset (allowed: fashion_mnist_m, moons_shift)")),
        c("cli-classifier-on-label-sets", "cli", "`train mlp --dataset fashion_mnist_groups`: "
          "two labels per example", lambda w: ["train", "mlp", "--dataset",
                                               "fashion_mnist_groups", "--run-dir", w.tmp / "r"],
          exit2("dataset 'fashion_mnist_groups' gives each example 2 labels (fine, coarse), for "
                "multitask models; model 'mlp' is classification")),
        c("cli-multitask-one-label-set", "cli", "`train multitask --dataset digits`: one label "
          "set", lambda w: ["train", "multitask", "--dataset", "digits", "--run-dir", w.tmp / "r"],
          exit2("model 'multitask' learns several tasks at once; dataset 'digits' has one label "
                "set (allowed: fashion_mnist_groups)")),
        c("cli-classifier-on-texts", "cli", "`train mlp --dataset pang_lee_polarity`: strings",
          lambda w: ["train", "mlp", "--dataset", "pang_lee_polarity", "--run-dir", w.tmp / "r"],
          exit2("dataset 'pang_lee_polarity' holds texts (strings), for text models; model "
                "'mlp' is classification (allowed: bow_classifier, text_rnn_classifier)")),
        c("cli-text-model-on-images", "cli", "`train bow_classifier --dataset digits`: no text",
          lambda w: ["train", "bow_classifier", "--dataset", "digits", "--run-dir", w.tmp / "r"],
          exit2("model 'bow_classifier' reads raw text; dataset 'digits' holds no texts "
                "(allowed: ", "pang_lee_polarity")),
        c("cli-text-classifier-on-translation", "cli", "`train bow_classifier --dataset "
          "dates_to_iso`: text targets", lambda w: ["train", "bow_classifier", "--dataset",
                                                    "dates_to_iso", "--run-dir", w.tmp / "r"],
          exit2("dataset 'dates_to_iso' pairs texts with texts (translation), for "
                "sequence-to-sequence models; model 'bow_classifier' is text_classification "
                "(allowed: seq2seq)")),
        c("cli-seq2seq-on-labelled-texts", "cli", "`train seq2seq --dataset pang_lee_polarity`:"
          " no target texts", lambda w: ["train", "seq2seq", "--dataset", "pang_lee_polarity",
                                        "--run-dir", w.tmp / "r"],
          exit2("model 'seq2seq' translates texts into texts; dataset 'pang_lee_polarity' holds "
                "no text pairs (allowed: dates_to_iso)")),
        c("cli-seq2seq-unknown-cell", "cli", "`train seq2seq --set cell=tree`",
          lambda w: ["train", "seq2seq", "--dataset", "dates_to_iso", "--set", "cell=tree",
                     "--run-dir", w.tmp / "r"],
          exit2("cell must be 'lstm' or 'gru'; got 'tree'")),
        c("cli-seq2seq-unknown-attention", "cli", "`train seq2seq --set attention=dot`",
          lambda w: ["train", "seq2seq", "--dataset", "dates_to_iso", "--set", "attention=dot",
                     "--run-dir", w.tmp / "r"],
          exit2("attention must be one of None, 'luong', 'bahdanau'; got 'dot'")),
        c("cli-seq2seq-targets-too-long", "cli", "`train seq2seq --set max_target_length=8`: "
          "the dates' targets are 10 characters", lambda w: [
              "train", "seq2seq", "--dataset", "dates_to_iso", "--limit", "50", "--set",
              "max_target_length=8", "--run-dir", w.tmp / "r"],
          exit2("dataset 'dates_to_iso' has a target of 10 characters", "model 'seq2seq' reads "
                "at most max_target_length=8 (raise it)")),
        c("cli-text-rnn-unknown-cell", "cli", "`train text_rnn_classifier --set cell=tree`",
          lambda w: ["train", "text_rnn_classifier", "--dataset", "pang_lee_polarity", "--set",
                     "cell=tree", "--run-dir", w.tmp / "r"],
          exit2("cell must be one of 'simple', 'lstm', 'gru'; got 'tree'")),
        c("cli-bow-unknown-output-mode", "cli", "`train bow_classifier --set "
          "output_mode=binary`", lambda w: ["train", "bow_classifier", "--dataset",
                                            "pang_lee_polarity", "--set", "output_mode=binary",
                                            "--run-dir", w.tmp / "r"],
          exit2("output_mode must be one of 'count', 'tf_idf', 'multi_hot'; got 'binary'")),
        c("cli-word2vec-window-zero", "cli", "`train word2vec --set window=0`",
          lambda w: ["train", "word2vec", *CORPUS, "--set", "window=0", "--run-dir", w.tmp / "r"],
          exit2("window must be a positive integer, got 0")),
        c("cli-word2vec-vocabulary-size-zero", "cli", "`train word2vec --set vocabulary_size=0`",
          lambda w: ["train", "word2vec", *CORPUS, "--set", "vocabulary_size=0",
                     "--run-dir", w.tmp / "r"],
          exit2("vocabulary_size must be a positive integer, got 0")),
        c("cli-word2vec-unknown-mode", "cli", "`train word2vec --set mode=glove`",
          lambda w: ["train", "word2vec", *CORPUS, "--set", "mode=glove", "--run-dir", w.tmp / "r"],
          exit2("mode must be one of 'skipgram', 'cbow'; got 'glove'")),
        c("cli-word2vec-on-images", "cli", "`train word2vec --dataset digits`: no corpus",
          lambda w: ["train", "word2vec", "--dataset", "digits", "--run-dir", w.tmp / "r"],
          exit2("model 'word2vec' learns word vectors from a corpus; dataset 'digits' is no "
                "corpus (allowed: lee_background, wiki_sample)")),
        c("cli-classifier-on-corpus", "cli", "`train bow_classifier --dataset wiki_sample`: "
          "unlabelled documents", lambda w: ["train", "bow_classifier", *CORPUS,
                                             "--run-dir", w.tmp / "r"],
          exit2("dataset 'wiki_sample' is a corpus of unlabelled documents, for word "
                "embeddings; model 'bow_classifier' is text_classification (allowed: word2vec)")),
        c("cli-multitask-unknown-mode", "cli", "`train multitask --set mode=sparkle`",
          lambda w: ["train", "multitask", *MULTITASK, "--set", "mode=sparkle",
                     "--run-dir", w.tmp / "r"],
          exit2("mode must be one of 'joint', 'alternating'; got 'sparkle'")),
        c("cli-multitask-negative-loss-weight", "cli", "`train multitask --set "
          "loss_weights=[1,-0.5]`", lambda w: ["train", "multitask", *MULTITASK, "--set",
                                               "loss_weights=[1,-0.5]", "--run-dir", w.tmp / "r"],
          exit2("loss weight -0.5 must be a finite number ≥ 0")),
        c("cli-multitask-head-classes-mismatch", "cli", "`train multitask --set "
          "head_classes=[10,3]`: the dataset's coarse labels have 4 classes",
          lambda w: ["train", "multitask", *MULTITASK, "--set", "head_classes=[10,3]",
                     "--run-dir", w.tmp / "r"],
          exit2("head_classes (10, 3) do not match dataset 'fashion_mnist_groups', whose label "
                "sets have (10, 4) classes")),
        c("cli-view-unknown-class", "cli", "`--dataset digits:classes=5-12`: no class 10",
          lambda w: ["train", "mlp", "--dataset", "digits:classes=5-12", "--run-dir", w.tmp / "r"],
          exit2("dataset view 'digits:classes=5-12': dataset 'digits' has no class 10; its "
                "classes are 0-9")),
        c("cli-view-too-few-examples", "cli", "`--dataset digits:per_class=500`: more labels "
          "than a class has", lambda w: ["train", "mlp", "--dataset", "digits:per_class=500",
                                         "--run-dir", w.tmp / "r"],
          exit2("class 0 (0) has 142 training example(s), fewer than per_class=500; "
                "per_class may be at most 142")),
        c("cli-transfer-unknown-cut-layer", "cli", "`train transfer --set cut_layer=nope`",
          lambda w: ["train", "transfer", *DIGITS[:6], "--set", f"source={w.assets.run}",
                     "--set", "cut_layer=nope", "--run-dir", w.tmp / "r"],
          exit2("cut_layer 'nope' is not a layer of source", "its layers: inputs, flatten, "
                "hidden1_dense, hidden1_act, predictions")),
        c("cli-transfer-other-input-shape", "cli", "`train transfer` from a 28×28 source on "
          "8×8 digits", lambda w: ["train", "transfer", *DIGITS[:6], "--set",
                                   f"source={w.assets.fashion_file}", "--run-dir", w.tmp / "r"],
          exit2("takes inputs of shape (28, 28, 1), but the data has shape (8, 8, 1)")),
        c("cli-transfer-source-without-model", "cli", "`train transfer --set source=DIR`: no "
          "model.keras in it", lambda w: ["train", "transfer", *DIGITS[:6], "--set",
                                          f"source={empty_dir(w)}",
                                          "--run-dir", w.tmp / "r"],
          exit2("source '{tmp}/empty' is a directory without model.keras")),
        c("cli-unknown-augmentation", "cli", "`--augment sparkle`",
          lambda w: ["train", "mlp", *DIGITS, "--augment", "sparkle", "--run-dir", w.tmp / "r"],
          exit2("unknown augmentation 'sparkle'; allowed:", "flip")),
        c("cli-list-no-match", "cli", "`list 'zzz*'`: a pattern no model matches",
          lambda w: ["list", "zzz*"], exit2("no registered model matches 'zzz*'")),
        c("cli-run-dir-is-a-file", "cli", "`--run-dir FILE`: an existing file",
          lambda w: ["train", "mlp", *DIGITS, "--run-dir", write(w.tmp / "file", "x")],
          exit2("--run-dir {tmp}/file is a file; give a directory")),
        c("cli-run-dir-under-a-file", "cli", "`--run-dir FILE/run`: a folder under a file",
          lambda w: ["train", "mlp", *DIGITS, "--run-dir", write(w.tmp / "file", "x") / "run"],
          exit2("--run-dir {tmp}/file/run is under {tmp}/file, a file")),
        c("cli-run-dir-unwritable", "cli", "`--run-dir LOCKED/run`: under a read-only folder",
          lambda w: ["train", "mlp", *DIGITS, "--run-dir", unwritable_dir(w) / "run"],
          exit2("--run-dir {tmp}/locked/run: {tmp}/locked is not writable"),
          needs_non_root=True),
        c("cli-run-dir-finished", "cli", "`--run-dir` of a finished run, without --overwrite",
          lambda w: ["train", "mlp", *DIGITS, "--run-dir", finished_run(w)],
          exit2("run dir '{tmp}/done' already holds a finished run", "--overwrite")),
        c("cli-run-dir-not-a-run", "cli", "`--run-dir` holding other files",
          lambda w: ["train", "mlp", *DIGITS, "--run-dir",
                     write(w.tmp / "notes" / "todo.txt", "x").parent],
          exit2("run dir '{tmp}/notes' is not empty and holds no keras_dl run")),
        c("cli-tune-dir-is-a-file", "cli", "`tune --dir FILE`",
          lambda w: ["tune", "mlp", *DIGITS, "--dir", write(w.tmp / "file", "x")],
          exit2("--dir {tmp}/file is a file; give a directory")),
        c("cli-evaluate-missing-model", "cli", "`evaluate` a path that does not exist",
          lambda w: ["evaluate", w.tmp / "nowhere.keras"],
          exit2("{tmp}/nowhere.keras does not exist; give a run dir or a .keras model file")),
        c("cli-evaluate-not-keras", "cli", "`evaluate model.txt`: not a .keras file",
          lambda w: ["evaluate", write(w.tmp / "model.txt", "x"), "--dataset", "digits"],
          exit2("{tmp}/model.txt is not a .keras model file")),
        c("cli-evaluate-corrupt-keras", "cli", "`evaluate` a .keras file of random bytes",
          lambda w: ["evaluate", write(w.tmp / "m.keras", os.urandom(300)), "--dataset",
                     "digits"],
          exit2("{tmp}/m.keras is not a .keras archive (a zip file): it is corrupt or "
                "truncated")),
        c("cli-evaluate-truncated-keras", "cli", "`evaluate` the first half of a .keras file",
          lambda w: ["evaluate", truncated_copy(w, w.assets.run / "model.keras", "half.keras"),
                     "--dataset", "digits"],
          exit2("{tmp}/half.keras is not a .keras archive")),
        c("cli-evaluate-lambda-keras", "cli", "`evaluate` a .keras file with a Lambda layer",
          lambda w: ["evaluate", w.assets.lambda_file, "--dataset", "digits"],
          exit2("lambda.keras holds Python code", "refused in safe mode", "--unsafe-load")),
        c("cli-evaluate-unknown-class", "cli", "`evaluate` a .keras file naming an unregistered "
          "class", lambda w: ["evaluate", keras_with_config(w, "c.keras", unknown_class),
                              "--dataset", "digits"],
          exit2("{tmp}/c.keras names 'MyLayer', which is not a registered Keras class")),
        c("cli-evaluate-no-dataset", "cli", "`evaluate` a model file with no config.json and no "
          "--dataset", lambda w: ["evaluate", w.assets.fashion_file],
          exit2("holds no config.json naming its dataset; pass --dataset")),
        c("cli-evaluate-dataset-shape", "cli", "`evaluate` an 8×8 model on `--dataset mnist1d`",
          lambda w: ["evaluate", w.assets.run, "--dataset", "mnist1d"],
          exit2("dataset 'mnist1d' has inputs of shape (40,), but the model takes (8, 8, 1)")),
        c("cli-evaluate-missing-offline-data", "cli", "`evaluate --dataset fashion_mnist` with "
          "its offline folder empty and no network",
          lambda w: no_offline_fashion(w) or ["evaluate", w.assets.fashion_file, "--dataset",
                                              "fashion_mnist"],
          exit2("dataset 'fashion_mnist' is not on this machine", "KERAS_DL_FASHION_MNIST_DIR")),
        c("cli-evaluate-non-utf8-path", "cli", "`evaluate` a path with a non-UTF-8 byte",
          lambda w: ["evaluate", w.tmp / f"{NON_UTF8}.keras"],
          exit2("{tmp}/\\xff.keras does not exist")),
        c("cli-export-lambda-keras", "cli", "`export` a .keras file with a Lambda layer",
          lambda w: ["export", w.assets.lambda_file, "--name", "m", "--base", w.tmp / "saved"],
          exit2("lambda.keras holds Python code", "--unsafe-load")),
        c("cli-export-existing-version", "cli", "`export --version 1` where version 1 exists",
          lambda w: ["export", w.assets.run, "--name", "m", "--base", w.assets.saved,
                     "--version", "1"],
          exit2("/saved/m/1 already exists; pass overwrite=True (--overwrite)")),
        c("cli-export-base-is-a-file", "cli", "`export --base FILE`",
          lambda w: ["export", w.assets.run, "--name", "m", "--base", write(w.tmp / "f", "x")],
          exit2("--base {tmp}/f is a file; give a directory")),
        c("cli-export-bad-name", "cli", "`export --name ../x`: not a directory name",
          lambda w: ["export", w.assets.run, "--name", "../x", "--base", w.tmp / "saved"],
          exit2("model name '../x' is not usable as a directory name")),
        c("cli-export-zero-version", "cli", "`export --version 0`",
          lambda w: ["export", w.assets.run, "--name", "m", "--version", "0"],
          exit2("argument --version: 0 is not a positive integer")),
        c("cli-predict-missing-input", "cli", "`predict --input` a file that does not exist",
          lambda w: ["predict", w.assets.saved / "m", "--input", w.tmp / "x.npy"],
          exit2("input file {tmp}/x.npy does not exist")),
        c("cli-predict-json-input", "cli", "`predict --input x.json`: not a .npy file",
          lambda w: ["predict", w.assets.saved / "m", "--input", write(w.tmp / "x.json", "[[1]]")],
          exit2("{tmp}/x.json is not a .npy array file; predict reads .npy")),
        c("cli-predict-truncated-npy", "cli", "`predict` the first half of a .npy file",
          lambda w: ["predict", w.assets.saved / "m", "--input",
                     truncated_copy(w, npy(w, "full.npy", example(4)), "half.npy")],
          exit2("{tmp}/half.npy is not a .npy array file")),
        c("cli-predict-string-array", "cli", "`predict` a .npy array of strings",
          lambda w: predict(w, np.array([["a", "b"]])),
          exit2("{tmp}/x.npy holds strings; the model's input 'inputs' takes numbers "
                "(float32)")),
        c("cli-predict-wrong-shape", "cli", "`predict` a (3, 8, 8) array for an (8, 8, 1) model",
          lambda w: predict(w, np.zeros((3, 8, 8), "float32")),
          exit2("input of shape (3, 8, 8) does not fit", "(batch, 8, 8, 1)")),
        c("cli-predict-nan", "cli", "`predict` an array holding NaN",
          lambda w: predict(w, example(2, np.nan)),
          exit2("{tmp}/x.npy holds NaN or infinite values; the model takes finite numbers")),
        c("cli-predict-infinite", "cli", "`predict` an array holding +inf",
          lambda w: predict(w, example(2, np.inf)), exit2("holds NaN or infinite values")),
        c("cli-predict-empty-array", "cli", "`predict` an array of 0 examples",
          lambda w: predict(w, example(0)),
          exit2("{tmp}/x.npy holds no values (shape (0, 8, 8, 1))")),
        c("cli-predict-out-of-range", "cli", "`predict` 0-255 pixels for a model trained on "
          "[0, 1]", lambda w: predict(w, example(1, 255.0)),
          exit2("values from 255 to 255", "in [0, 1]", "--allow-out-of-range")),
        c("cli-predict-missing-savedmodel", "cli", "`predict` a SavedModel dir that does not "
          "exist", lambda w: ["predict", w.tmp / "none", "--input", npy(w, "x.npy", example())],
          exit2("{tmp}/none does not exist")),
        c("cli-predict-corrupt-savedmodel", "cli", "`predict` a SavedModel whose "
          "saved_model.pb is random bytes",
          lambda w: ["predict", write(w.tmp / "sm" / "1" / "saved_model.pb",
                                      os.urandom(64)).parent.parent,
                     "--input", npy(w, "x.npy", example())],
          exit2("{tmp}/sm could not be loaded as a SavedModel")),
        c("cli-predict-no-serving-signature", "cli", "`predict` a SavedModel without a "
          "`serving_default` signature",
          lambda w: ["predict", no_serving_signature(w), "--input", npy(w, "x.npy", example())],
          exit2("{tmp}/other/1 has no 'serving_default' signature")),
        c("cli-predict-non-utf8-input", "cli", "`predict --input` a non-UTF-8 file name",
          lambda w: ["predict", w.assets.saved / "m", "--input", w.tmp / f"{NON_UTF8}.npy"],
          exit2("input file {tmp}/\\xff.npy does not exist")),
        c("cli-init-from-missing", "cli", "`--init-from` a file that does not exist",
          lambda w: train_from(w, w.tmp / "nowhere.keras"),
          exit2("init from '{tmp}/nowhere.keras': no such file or run dir")),
        c("cli-init-from-corrupt", "cli", "`--init-from` a .keras file of random bytes",
          lambda w: train_from(w, write(w.tmp / "m.keras", os.urandom(100))),
          exit2("init from {tmp}/m.keras is not a .keras archive")),
        c("cli-init-from-lambda", "cli", "`--init-from` a .keras file with a Lambda layer",
          lambda w: train_from(w, w.assets.lambda_file),
          exit2("init from", "lambda.keras holds Python code", "--unsafe-load")),
        c("cli-init-from-other-architecture", "cli", "`--init-from` a model of other shapes",
          lambda w: train_from(w, copy(w.assets.run / "model.keras", w.tmp / "m.keras"),
                               "--set", "hidden_units=[5]"),
          exit2("has shape (64, 4) there but (64, 5)", "same architecture")),
        c("cli-serve-zero-json-depth", "cli", "`serve --max-json-depth 0`",
          lambda w: ["serve", "--max-json-depth", "0"],
          exit2("argument --max-json-depth: 0 is not a positive integer")),
        c("cli-serve-negative-json-depth", "cli", "`serve --max-json-depth -5`",
          lambda w: ["serve", "--max-json-depth", "-5"],
          exit2("argument --max-json-depth: -5 is not a positive integer")),
        c("cli-serve-zero-request-timeout", "cli", "`serve --request-timeout 0`",
          lambda w: ["serve", "--request-timeout", "0"],
          exit2("argument --request-timeout: 0 is not a positive number")),
        c("cli-serve-negative-request-timeout", "cli", "`serve --request-timeout -1.5`",
          lambda w: ["serve", "--request-timeout", "-1.5"],
          exit2("argument --request-timeout: -1.5 is not a positive number")),
        c("cli-serve-infinite-request-timeout", "cli", "`serve --request-timeout inf`",
          lambda w: ["serve", "--request-timeout", "inf"],
          exit2("argument --request-timeout: inf is not a positive number")),
        c("cli-serve-port-out-of-range", "cli", "`serve --rest-port 70000`",
          lambda w: ["serve", "--model-base", w.tmp, "--rest-port", "70000"],
          exit2("REST port must be in 0..65535, got 70000")),
        c("cli-protonet-more-ways-than-classes", "cli", "`train prototypical_network --set "
          "train_ways=60`: 48 training classes",
          lambda w: ["train", "prototypical_network", "--dataset", "fewshot_rotations",
                     "--set", "train_ways=60", "--run-dir", w.tmp / "r"],
          exit2("ways 60 exceeds the 48 training classes available; allowed: 1..48")),
        c("cli-protonet-more-shots-than-examples", "cli", "`--set shots=5 --limit 300`: "
          "about 5 examples a class",
          lambda w: ["train", "prototypical_network", "--dataset", "fewshot_rotations",
                     "--limit", "300", "--set", "shots=5", "--run-dir", w.tmp / "r"],
          exit2("shots 5 + queries 5 = 10 exceeds the 5 examples of the poorest of the "
                "training classes; allowed: shots + queries ≤ 5")),
        c("cli-classifier-on-few-shot-classes", "cli", "`train mlp --dataset "
          "fewshot_rotations`: its test classes are held out",
          lambda w: ["train", "mlp", "--dataset", "fewshot_rotations", "--run-dir", w.tmp / "r"],
          exit2("dataset 'fewshot_rotations' holds out whole classes for few-shot testing; "
                "model 'mlp' is classification")),
    ]


def _api_cases():
    c = Case
    return [
        c("api-create-unknown-model", "api", "`create_model(\"nosuch\")`",
          lambda w: api("keras_dl.create_model", "nosuch"),
          raises(ValueError, "unknown model 'nosuch'; registered models:")),
        c("api-create-unknown-argument", "api", "`create_model(\"mlp\", widht=3)`",
          lambda w: api("keras_dl.create_model", "mlp", widht=3),
          raises(ValueError, "model 'mlp' takes no argument 'widht'; allowed:")),
        c("api-create-non-boolean", "api", "`create_model(\"mlp\", batch_norm=\"no\")`",
          lambda w: api("keras_dl.create_model", "mlp", batch_norm="no"),
          raises(ValueError, "batch_norm must be True or False, got 'no'")),
        c("api-create-bad-input-shape", "api", "`create_model(\"mlp\", input_shape=(0,))`",
          lambda w: api("keras_dl.create_model", "mlp", input_shape=(0,)),
          raises(ValueError, "input_shape must be a tuple of positive integers, got (0,)")),
        c("api-create-bad-num-classes", "api", "`create_model(\"lenet5\", num_classes=-1)`",
          lambda w: api("keras_dl.create_model", "lenet5", num_classes=-1),
          raises(ValueError, "num_classes must be a positive integer, got -1")),
        c("api-model-info-unknown", "api", "`model_info(\"nosuch\")`",
          lambda w: api("keras_dl.model_info", "nosuch"),
          raises(ValueError, "unknown model 'nosuch'")),
        c("api-list-models-unknown-family", "api", "`list_models(family=\"transformer\")`",
          lambda w: api("keras_dl.list_models", family="transformer"),
          raises(ValueError, "unknown family 'transformer'; families:", "cnn")),
        c("api-register-unknown-task", "api", "`register_model(family=..., task=\"regression\")`",
          lambda w: api("keras_dl.register_model", family="mlp", task="regression"),
          raises(ValueError, "unknown task 'regression'; allowed: classification")),
        c("api-train-unknown-strategy", "api", "`training.train(..., strategy=\"gpu\")`",
          lambda w: api("keras_dl.training.train", "mlp", run_dir=w.tmp / "r", strategy="gpu"),
          raises(ValueError, "unknown strategy 'gpu'; allowed:")),
        c("api-load-missing-file", "api", "`load_model` of a path that does not exist",
          lambda w: load_model(w.tmp / "nowhere.keras"),
          raises(FileNotFoundError, "model file {tmp}/nowhere.keras does not exist")),
        c("api-load-not-a-model-file", "api", "`load_model(\"model.txt\")`",
          lambda w: load_model(write(w.tmp / "model.txt", "x")),
          raises(ValueError, "{tmp}/model.txt is not a model file", ".keras")),
        c("api-load-corrupt", "api", "`load_model` of a .keras file of random bytes",
          lambda w: load_model(write(w.tmp / "m.keras", os.urandom(300))),
          raises(ValueError, "{tmp}/m.keras is not a .keras archive (a zip file)")),
        c("api-load-truncated", "api", "`load_model` of the first half of a .keras file",
          lambda w: load_model(truncated_copy(w, w.assets.run / "model.keras", "half.keras")),
          raises(ValueError, "{tmp}/half.keras is not a .keras archive")),
        c("api-load-lambda", "api", "`load_model` of a .keras file with a Lambda layer",
          lambda w: load_model(w.assets.lambda_file),
          raises(UnsafeModelFileError, "lambda.keras holds Python code",
                 "refused in safe mode", "safe_mode=False")),
        c("api-load-unknown-class", "api", "`load_model` of a file naming an unregistered class",
          lambda w: load_model(keras_with_config(w, "c.keras", unknown_class)),
          raises(ValueError, "{tmp}/c.keras names 'MyLayer'", "register_keras_serializable")),
        c("api-load-bad-config-json", "api", "`load_model` of a .keras whose config.json is cut",
          lambda w: load_model(keras_with_config(w, "j.keras", lambda text: text[:100])),
          raises(ValueError, "{tmp}/j.keras holds a config.json that is not JSON")),
        c("api-load-non-utf8-path", "api", "`load_model` of a missing non-UTF-8 path",
          lambda w: load_model(w.tmp / f"{NON_UTF8}.keras"),
          raises(FileNotFoundError, f"{{tmp}}/{NON_UTF8}.keras does not exist")),
        c("api-init-from-other-architecture", "api", "`load_initial_weights` from a model of "
          "other shapes", init_wrong_architecture,
          raises(ValueError, "weight 0 (hidden1_dense/kernel) has shape (64, 4) there but "
                 "(64, 5)")),
        c("api-seq2seq-unknown-decoding-mode", "api", "`decode(seq2seq, texts, mode=\"sample\")`",
          lambda w: api("keras_dl.models.seq2seq_decoding.decode", tiny_seq2seq(), ["ab"],
                        mode="sample"),
          raises(ValueError, "decoding mode must be 'greedy' or 'beam'; got 'sample'")),
        c("api-seq2seq-zero-beam-width", "api", "`decode(seq2seq, texts, mode=\"beam\", "
          "beam_width=0)`", lambda w: api("keras_dl.models.seq2seq_decoding.decode",
                                          tiny_seq2seq(), ["ab"], mode="beam", beam_width=0),
          raises(ValueError, "beam_width must be a positive integer, got 0")),
        c("api-seq2seq-source-too-long", "api", "`decode` of a source longer than "
          "max_source_length", lambda w: api("keras_dl.models.seq2seq_decoding.decode",
                                             tiny_seq2seq(), ["ab", "abcabca"]),
          raises(ValueError, "text 1 ('abcabca') holds 7 characters; the model reads at most 6 "
                 "(max_source_length)")),
        c("api-seq2seq-empty-text", "api", "`decode` of an empty text",
          lambda w: api("keras_dl.models.seq2seq_decoding.decode", tiny_seq2seq(), ["ab", ""]),
          raises(ValueError, "text 1 ('') holds no character; the model translates text of at "
                 "least one character")),
        c("api-seq2seq-numbers", "api", "`decode` of numbers instead of strings",
          lambda w: api("keras_dl.models.seq2seq_decoding.decode", tiny_seq2seq(), [1.5, 2.0]),
          raises(ValueError, "a seq2seq model translates a list of strings; got 2 value(s) of "
                 "dtype float64")),
        c("api-seq2seq-unknown-attention", "api", "`create_model(\"seq2seq\", "
          "attention=\"dot\")`", lambda w: api("keras_dl.create_model", "seq2seq",
                                               attention="dot"),
          raises(ValueError, "attention must be one of None, 'luong', 'bahdanau'; got 'dot'")),
    ]


def tiny_seq2seq():
    """A seq2seq model of the contract's tiny size (sources of at most 6 characters)."""
    import keras_dl

    return keras_dl.create_model("seq2seq", **keras_dl.model_info("seq2seq").smoke_kwargs)


def _data_cases():
    c = Case
    idx = "keras_dl.data.idx.read_idx"
    good = idx_bytes(np.arange(6, dtype="uint8").reshape(2, 3))
    return [
        c("data-unknown-name", "data", "`data.info(\"nosuch_ds\")`",
          lambda w: api("keras_dl.data.info", "nosuch_ds"),
          raises(ValueError, "unknown dataset 'nosuch_ds'; known: digits")),
        c("data-empty-name", "data", "`data.info(\"\")`", lambda w: api("keras_dl.data.info", ""),
          raises(ValueError, "dataset name must be a non-empty string, got ''")),
        c("data-view-unknown-key", "data", "`data.info(\"digits:clases=1\")`: a misspelt "
          "view key", lambda w: api("keras_dl.data.info", "digits:clases=1"),
          raises(ValueError, "dataset view 'digits:clases=1': unknown key 'clases'; allowed: "
                 "classes, per_class, seed")),
        c("data-unknown-split", "data", "`load_numpy(\"digits\", \"validation\")`",
          lambda w: api("keras_dl.data.load_numpy", "digits", "validation"),
          raises(ValueError, "unknown split 'validation'; allowed: train, test")),
        c("data-zero-limit", "data", "`load_numpy(\"digits\", limit=0)`",
          lambda w: api("keras_dl.data.load_numpy", "digits", limit=0),
          raises(ValueError, "limit must be a positive integer or None, got 0")),
        c("data-missing-offline", "data", "`load_numpy(\"fashion_mnist\")`, its offline folder "
          "empty, no network",
          lambda w: no_offline_fashion(w) or api("keras_dl.data.load_numpy", "fashion_mnist"),
          raises(DatasetUnavailableError,
                 "dataset 'fashion_mnist' is not on this machine", "apt-get install")),
        c("data-fashion-label-out-of-range", "data", "offline Fashion-MNIST with label 12",
          lambda w: fashion_dir(w, labels=(1, 12, 3)) or api("keras_dl.data.load_numpy",
                                                             "fashion_mnist"),
          raises(ValueError, "train-labels-idx1-ubyte.gz holds label 12; labels are 0..9")),
        c("data-fashion-label-count", "data", "offline Fashion-MNIST, 3 images and 2 labels",
          lambda w: fashion_dir(w, labels=(1, 2)) or api("keras_dl.data.load_numpy",
                                                         "fashion_mnist", "test"),
          raises(ValueError, "t10k-labels-idx1-ubyte.gz holds labels of shape (2,)",
                 "holds 3 images")),
        c("data-fashion-image-shape", "data", "offline Fashion-MNIST of 27×27 images",
          lambda w: fashion_dir(w, images=(3, 27, 27)) or api("keras_dl.data.load_numpy",
                                                               "fashion_mnist"),
          raises(ValueError, "holds images of shape (27, 27), not (28, 28)")),
        c("data-idx-missing", "data", "`read_idx` of a file that does not exist",
          lambda w: api(idx, w.tmp / "none.idx"),
          raises(FileNotFoundError, "{tmp}/none.idx")),
        c("data-idx-empty", "data", "`read_idx` of an empty file",
          lambda w: api(idx, write(w.tmp / "e.idx", b"")),
          raises(ValueError, "{tmp}/e.idx is empty, not an IDX file")),
        c("data-idx-bad-magic", "data", "`read_idx` of a file with magic number 01020304",
          lambda w: api(idx, write(w.tmp / "m.idx", b"\x01\x02\x03\x04" + good[4:])),
          raises(ValueError, "{tmp}/m.idx is not an IDX file (bad magic number 01020304)")),
        c("data-idx-short-header", "data", "`read_idx` of a header cut inside its dimensions",
          lambda w: api(idx, write(w.tmp / "h.idx", good[:6])),
          raises(ValueError, "{tmp}/h.idx is truncated: its header names 2 dimensions")),
        c("data-idx-truncated-payload", "data", "`read_idx` of a file missing data bytes",
          lambda w: api(idx, write(w.tmp / "t.idx", good[:-2])),
          raises(ValueError, "{tmp}/t.idx is truncated or corrupt: header says (2, 3)")),
        c("data-idx-not-gzip", "data", "`read_idx` of plain IDX bytes named .gz",
          lambda w: api(idx, write(w.tmp / "p.idx.gz", good)),
          raises(ValueError, "{tmp}/p.idx.gz is not a complete gzip file")),
        c("data-idx-truncated-gzip", "data", "`read_idx` of a gzip stream cut short",
          lambda w: api(idx, write(w.tmp / "c.idx.gz", gzip.compress(good * 50)[:40])),
          raises(ValueError, "{tmp}/c.idx.gz is not a complete gzip file")),
        c("data-split-length-mismatch", "data", "`train_validation_split` of 10 examples and 9 "
          "labels", lambda w: api("keras_dl.data.train_validation_split", np.zeros((10, 2)),
                                  np.zeros(9), 0.2),
          raises(ValueError, "x holds 10 examples but y holds 9")),
        c("data-split-too-few", "data", "`train_validation_split` of 1 example",
          lambda w: api("keras_dl.data.train_validation_split", np.zeros((1, 2)), np.zeros(1),
                        0.5),
          raises(ValueError, "validation_fraction 0.5 of 1 example(s) leaves none to train on")),
        c("data-split-bad-fraction", "data", "`train_validation_split(..., 1.5)`",
          lambda w: api("keras_dl.data.train_validation_split", np.zeros((4, 2)), np.zeros(4),
                        1.5),
          raises(ValueError, "validation_fraction must be in (0, 1), got 1.5")),
        c("data-to-dataset-empty", "data", "`to_dataset` of 0 examples",
          lambda w: api("keras_dl.data.to_dataset", np.zeros((0, 2), "float32"),
                        np.zeros(0, "int32")),
          raises(ValueError, "x holds no examples (shape (0, 2))")),
        c("data-to-dataset-nan", "data", "`to_dataset` of examples holding NaN",
          lambda w: api("keras_dl.data.to_dataset", np.array([[0.0, np.nan]], "float32"),
                        np.zeros(1, "int32")),
          raises(ValueError, "x holds nan at index (0, 1); examples and labels are finite")),
        c("data-to-dataset-infinite", "data", "`to_dataset` of targets holding -inf",
          lambda w: api("keras_dl.data.to_dataset", np.zeros((2, 2), "float32"),
                        np.array([0.0, -np.inf])),
          raises(ValueError, "y holds -inf at index (1,)")),
        c("data-to-dataset-length-mismatch", "data", "`to_dataset` of 4 examples and 3 labels",
          lambda w: api("keras_dl.data.to_dataset", np.zeros((4, 2), "float32"),
                        np.zeros(3, "int32")),
          raises(ValueError, "x holds 4 examples but y holds 3")),
        c("data-to-dataset-strings", "data", "`to_dataset` of an array of strings",
          lambda w: api("keras_dl.data.to_dataset", np.array([["a"]]), None),
          raises(ValueError, "x has dtype <U1; examples and labels are numbers")),
        c("data-unknown-augmentation", "data", "`parse_augment(\"flip,sparkle\")`",
          lambda w: api("keras_dl.data.augment.parse_augment", "flip,sparkle"),
          raises(ValueError, "unknown augmentation 'sparkle'; allowed:")),
        c("data-text-corpus-missing", "data",
          "`text.read_corpus` of a file that does not exist",
          lambda w: api("keras_dl.data.text.read_corpus", w.tmp / "none.txt"),
          raises(FileNotFoundError, "text file {tmp}/none.txt does not exist")),
        c("data-text-corpus-not-utf8", "data", "`text.read_corpus` of Latin-1 bytes",
          lambda w: api("keras_dl.data.text.read_corpus", write(w.tmp / "l.txt", b"caf\xe9\n")),
          raises(ValueError, "{tmp}/l.txt is not UTF-8 text: byte 0xe9 at offset 3")),
        c("data-text-corpus-empty", "data", "`text.read_corpus` of a file of blank lines",
          lambda w: api("keras_dl.data.text.read_corpus", write(w.tmp / "b.txt", "\n \n")),
          raises(ValueError, "{tmp}/b.txt holds no words")),
        c("data-text-vocabulary-of-nothing", "data", "`text.build_vocabulary([[]])`",
          lambda w: api("keras_dl.data.text.build_vocabulary", [[]]),
          raises(ValueError, "the text holds no words")),
        c("data-text-vocabulary-size-zero", "data", "`text.build_vocabulary(..., max_size=0)`",
          lambda w: api("keras_dl.data.text.build_vocabulary", [["a"]], max_size=0),
          raises(ValueError, "max_size must be a positive integer (at least 1), got 0")),
        c("data-text-all-out-of-vocabulary", "data", "`text.encode` of words none of which is in "
          "the vocabulary", lambda w: api("keras_dl.data.text.encode", [["x", "y"]], ["a"]),
          raises(ValueError, "none of the text's 2 word(s) is in the vocabulary of 1 word(s)")),
        c("data-skipgrams-window-zero", "data", "`skipgrams.example_batches(..., window=0)`",
          lambda w: api("keras_dl.data.skipgrams.example_batches", _word_ids(), [0, 3, 2],
                        window=0),
          raises(ValueError, "window must be a positive integer, got 0")),
        c("api-word2vec-served-unknown-word", "api", "a served word2vec asked for the vector "
          "of 'zebra', a word outside its vocabulary", _served_word2vec(["zebra"]),
          raises(ValueError, "text 0 ('zebra'): none of its 1 word(s) is in the model's "
                 "vocabulary")),
        c("api-word2vec-served-two-words", "api", "a served word2vec asked for the vector of "
          "'king queen' (one word a request)", _served_word2vec(["king queen"]),
          raises(ValueError, "text 0 ('king queen') holds 2 words; the model reads at most 1")),
        c("data-text-window-zero", "data", "`text.context_pairs(..., window=0)`",
          lambda w: api("keras_dl.data.text.context_pairs", [np.arange(3)], window=0),
          raises(ValueError, "window must be a positive integer (at least 1), got 0")),
        c("data-text-dates-unknown-split", "data", "`load_numpy(\"dates_to_iso\", \"valid\")`",
          lambda w: api("keras_dl.data.load_numpy", "dates_to_iso", "valid"),
          raises(ValueError, "unknown split 'valid'; allowed: train, validation, test")),
        c("api-text-vectors-word-with-space", "api", "`save_word2vec_format` of the word "
          "'new york'", lambda w: api("keras_dl.text.save_word2vec_format", w.tmp / "v.txt",
                                      np.eye(2), ["a", "new york"]),
          raises(ValueError, "word 'new york' holds white space")),
        c("api-text-vectors-bad-header", "api", "`load_word2vec_format` of a file without the "
          "header line", lambda w: api("keras_dl.text.load_word2vec_format",
                                       write(w.tmp / "h.txt", "a 1 2\n")),
          raises(ValueError, "{tmp}/h.txt line 1 is 'a 1 2'; the word2vec text format")),
        c("api-text-evaluate-no-english", "api", "`evaluate_embeddings` of a vocabulary that "
          "covers no pair or question", lambda w: api("keras_dl.text.evaluate_embeddings",
                                                      np.eye(2), ["xqzv", "wqpj"]),
          raises(ValueError, "none of the vocabulary's 2 words makes a WordSim353")),
    ]


def _server_cases():
    c = Case
    fits = {"instances": example(1).tolist()}
    return [
        c("rest-malformed-json", "server", "REST predict body `{not json`",
          lambda w: rest(w, "/v1/models/m:predict", raw=b"{not json"),
          Http(400, ("JSON Parse error",))),
        c("rest-body-not-an-object", "server", "REST predict body `[1, 2]`",
          lambda w: rest(w, "/v1/models/m:predict", [1, 2]),
          Http(400, ("request body must be a JSON object",))),
        c("rest-unknown-model", "server", "REST predict on model `nosuch`",
          lambda w: rest(w, "/v1/models/nosuch:predict", fits),
          Http(404, ("Servable not found for request: Latest(nosuch)",))),
        c("rest-unknown-version", "server", "REST predict on version 9 (only 1 exists)",
          lambda w: rest(w, "/v1/models/m/versions/9:predict", fits),
          Http(404, ("Servable not found for request: Specific(m, 9)",))),
        c("rest-non-integer-version", "server", "REST predict on version `x`",
          lambda w: rest(w, "/v1/models/m/versions/x:predict", fits),
          Http(400, ("version must be a non-negative integer, got 'x'",))),
        c("rest-unknown-path", "server", "REST `GET /v2/anything`",
          lambda w: rest(w, "/v2/anything", method="GET"),
          Http(404, ("Malformed request: GET /v2/anything",))),
        c("rest-wrong-signature", "server", "REST predict with `signature_name: classify`",
          lambda w: rest(w, "/v1/models/m:predict", {**fits, "signature_name": "classify"}),
          Http(400, ("Serving signature name: \"classify\" not found in signature def",))),
        c("rest-missing-instances", "server", "REST predict body `{\"rows\": []}`",
          lambda w: rest(w, "/v1/models/m:predict", {"rows": []}),
          Http(400, ("Missing 'inputs' or 'instances' key",))),
        c("rest-empty-instances", "server", "REST predict with `instances: []`",
          lambda w: rest(w, "/v1/models/m:predict", {"instances": []}),
          Http(400, ("'instances' must be a non-empty JSON list",))),
        c("rest-wrong-input-name", "server", "REST columnar input named `pixels`",
          lambda w: rest(w, "/v1/models/m:predict", {"inputs": {"pixels": [[0.0]]}}),
          Http(400, ("input names ['pixels'] do not match the signature's input \"inputs\"",))),
        c("rest-wrong-shape", "server", "REST predict of a (1, 2) input",
          lambda w: rest(w, "/v1/models/m:predict", {"instances": [[1.0, 2.0]]}),
          Http(400, ("does not fit",))),
        c("rest-non-numeric", "server", "REST predict of strings",
          lambda w: rest(w, "/v1/models/m:predict", {"instances": [[["a"]]]}),
          Http(400, ("input is not a numeric tensor",))),
        c("rest-oversized", "server", "REST body of 5,000 bytes (limit 4,096)",
          lambda w: rest(w, "/v1/models/m:predict", raw=b" " * 5000),
          Http(413, ("request of 5000 bytes is larger than the server's limit of 4096 bytes",))),
        c("rest-too-deep-json", "server", "REST predict body nested 501 levels (limit 400)",
          lambda w: rest(w, "/v1/models/m:predict", raw=nested_body(501)),
          Http(400, ("JSON body is nested 501 levels deep; the server's limit is 400 "
                     "(max_json_depth)",))),
        c("rest-model-name-dotdot", "server", "REST predict on model `..` (the base's parent)",
          lambda w: rest(w, "/v1/models/..:predict", fits),
          Http(404, ("Servable not found for request: Latest(..)",))),
        c("rest-model-name-encoded-traversal", "server", "REST predict on model "
          "`..%2fsaved%2fm`: the served model, reached from outside the base",
          lambda w: rest(w, "/v1/models/..%2fsaved%2fm:predict", fits),
          Http(404, ("Servable not found for request: Latest(",))),
        c("rest-version-traversal", "server", "REST predict on version `../1`",
          lambda w: rest(w, "/v1/models/m/versions/../1:predict", fits),
          Http(404, ("Malformed request: POST /v1/models/m/versions/../1:predict",))),
        c("grpc-unknown-model", "server", "gRPC Predict on model `nosuch`",
          lambda w: grpc_predict(w, {"inputs": example()}, name="nosuch"),
          Grpc("NOT_FOUND", ("Servable not found for request: Latest(nosuch)",))),
        c("grpc-unknown-version", "server", "gRPC Predict on version 9",
          lambda w: grpc_predict(w, {"inputs": example()}, version=9),
          Grpc("NOT_FOUND", ("Specific(m, 9)",))),
        c("grpc-model-name-traversal", "server", "gRPC Predict on model `../saved/m`: the "
          "served model, reached from outside the base",
          lambda w: grpc_predict(w, {"inputs": example()}, name="../saved/m"),
          Grpc("NOT_FOUND", ("Servable not found for request: Latest(../saved/m)",))),
        c("grpc-wrong-signature", "server", "gRPC Predict with signature `classify`",
          lambda w: grpc_predict(w, {"inputs": example()}, signature="classify"),
          Grpc("FAILED_PRECONDITION", ('Serving signature key "classify" not found.',))),
        c("grpc-wrong-input-name", "server", "gRPC Predict with input `pixels`",
          lambda w: grpc_predict(w, {"pixels": example()}),
          Grpc("INVALID_ARGUMENT", ("do not match the signature's input \"inputs\"",))),
        c("grpc-wrong-shape", "server", "gRPC Predict of a (2, 5) tensor",
          lambda w: grpc_predict(w, {"inputs": np.zeros((2, 5), "float32")}),
          Grpc("INVALID_ARGUMENT", ("does not fit",))),
        c("grpc-non-numeric", "server", "gRPC Predict of a string tensor",
          lambda w: grpc_predict(w, {"inputs": np.array([[b"a"]])}),
          Grpc("INVALID_ARGUMENT", ("input is not a numeric tensor",))),
        c("grpc-oversized", "server", "gRPC Predict of 25,600 bytes (limit 4,096)",
          lambda w: grpc_predict(w, {"inputs": example(100)}),
          Grpc("RESOURCE_EXHAUSTED", ("larger than max",))),
    ]


CASES = _cli_cases() + _api_cases() + _data_cases() + _server_cases()
SURFACES = ("cli", "api", "data", "server")


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_bad_input_gets_one_answer_and_changes_nothing(case, assets, tmp_path, capsys,
                                                       monkeypatch, request):
    """Catches, for each row, a traceback or a message of several lines instead of the one
    answer; an answer that does not name the bad value, or names another; a wrong exit code,
    exception type or server status; and a file written, changed or removed on the way."""
    if case.needs_non_root and os.geteuid() == 0:
        pytest.skip("root may write into a read-only folder")
    monkeypatch.chdir(tmp_path)  # a command's default output (runs/...) would land here
    world = World(tmp_path, assets, capsys, monkeypatch, request)
    work = case.make(world)
    capsys.readouterr()
    before = snapshot(tmp_path, assets.root)
    case.expect.check(world, work)
    assert snapshot(tmp_path, assets.root) == before


def test_the_table_covers_every_surface_with_unique_ids():
    """Catches a row id used twice (pytest would run one of them under another's name, and
    the docs page could not tell them apart) and a surface left without rows."""
    ids = [case.id for case in CASES]
    assert len(ids) == len(set(ids)) >= 40
    counts = {surface: sum(case.surface == surface for case in CASES) for surface in SURFACES}
    assert all(count >= 5 for count in counts.values()), counts
    assert all(case.id.startswith(("cli-", "api-", "data-", "rest-", "grpc-")) for case in CASES)


# === --unsafe-load: a trusted file with a Lambda layer loads ===================================


def test_unsafe_load_loads_a_trusted_lambda_file_and_only_where_asked(assets, tmp_path,
                                                                      capsys, monkeypatch):
    """Catches an `--unsafe-load` flag that does not reach the loader (evaluate, export, and
    train's --init-from, which loads deep inside `train`), and one that stays on after its
    command, so that a later load in the same process runs a file's code unasked."""
    import keras_dl

    monkeypatch.chdir(tmp_path)
    lambda_file = assets.lambda_file
    code, out, err = run_cli(capsys, "evaluate", lambda_file, "--dataset", "digits",
                             "--limit", "20", "--unsafe-load")
    assert code == 0 and json.loads(out)["examples"] == 20, err
    code, out, err = run_cli(capsys, "export", lambda_file, "--name", "l", "--base",
                             tmp_path / "saved", "--unsafe-load")
    assert code == 0 and (tmp_path / "saved" / "l" / "1" / "saved_model.pb").is_file(), err
    with pytest.raises(keras_dl.UnsafeModelFileError):  # the flag ended with its command
        keras_dl.load_model(lambda_file)
    model = keras_dl.load_model(lambda_file, safe_mode=False)
    assert model.get_layer("double") is not None
    # the same architecture, so --init-from can take its weights
    shutil.copy(lambda_file, tmp_path / "init.keras")
    code, _, err = run_cli(capsys, "train", "mlp", *DIGITS, "--run-dir", tmp_path / "run",
                           "--init-from", tmp_path / "init.keras", "--unsafe-load")
    assert code == 2 and "holds 2 weights, model 'mlp' has 4" in err, err  # loaded, then compared


def test_unsafe_load_is_in_every_loading_commands_help(capsys):
    """Catches the flag missing from a command that loads a .keras file (the refusal names
    it, so it must exist there)."""
    for command in ("evaluate", "export", "train", "tune"):
        code, out, _ = run_cli(capsys, command, "--help")
        assert code == 0 and "--unsafe-load" in out, command
        assert "only for files you trust" in " ".join(out.split()), command


# === the docs page =============================================================================


BEGIN, END = "<!-- table: generated by tests/test_bad_inputs.py -->", "<!-- end of table -->"


def _cell(text: str) -> str:
    from keras_dl.cli_inputs import printable  # a non-UTF-8 byte as \\xff

    return printable(text).replace("|", "\\|").replace("…{tmp}", "…").replace("{tmp}", "…")


def table_markdown() -> str:
    """The docs page's table: one row per case, by surface."""
    lines = [BEGIN, "", "| id | surface | bad input | answer |", "|---|---|---|---|"]
    for case in sorted(CASES, key=lambda case: SURFACES.index(case.surface)):
        lines.append(f"| `{case.id}` | {case.surface} | {_cell(case.given)} | "
                     f"{_cell(case.expect.describe())} |")
    return "\n".join([*lines, "", END])


def test_docs_page_lists_every_case_as_the_table_says():
    """Catches docs/bad_inputs.md drifting from the table: a row added, removed or changed
    here and not there (regenerate with `python tests/test_bad_inputs.py`)."""
    page = DOCS_PAGE.read_text()
    assert table_markdown() in page
    assert len(re.findall(r"^\| `[a-z0-9-]+` \|", page, re.M)) == len(CASES)


if __name__ == "__main__":  # rewrite the docs page's table from CASES
    text = DOCS_PAGE.read_text()
    start, stop = text.index(BEGIN), text.index(END) + len(END)
    page = (text[:start] + table_markdown() + text[stop:]).encode()  # all or nothing
    DOCS_PAGE.write_bytes(page)
    print(f"{DOCS_PAGE}: {len(CASES)} cases", file=sys.stderr)
