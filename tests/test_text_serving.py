"""Text models behind the server (`keras-dl serve`): raw strings in over REST (a real HTTP
client) and gRPC (the official stubs), the Keras model's probabilities out; a bad text or a
number sent to the string signature is refused with one line (HTTP 400 / INVALID_ARGUMENT)."""

import json
import signal
import subprocess
import sys
import urllib.error
import urllib.request

import grpc
import keras
import numpy as np
import pytest
import tensorflow as tf
from _http import http
from _serving_setup import free_port, wait_until_serving
from tensorflow_serving.apis import predict_pb2, prediction_service_pb2_grpc

import keras_dl
from keras_dl.export import export_saved_model
from keras_dl.models.text_vocabulary import adapt_text_model
from keras_dl.serving import ModelServer

TRAIN = np.array(["a good film", "a bad film", "good acting and a good story", "bad bad bad",
                  "not a good film", "the story is thin", "a moving story", "a dull film"])
PROBE = ["a good story", "thin bad film", "a moving and good film"]


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """`(base, {name: keras model})`: a tf-idf bigram bag of words and a GRU, adapted on
    `TRAIN`, exported as `bow/1` and `rnn/1`."""
    base = tmp_path_factory.mktemp("text_saved_models")
    keras.utils.set_random_seed(0)
    models = {
        "bow": keras_dl.create_model("bow_classifier", output_mode="tf_idf", ngrams=2,
                                     max_tokens=64, hidden_units=(4,)),
        "rnn": keras_dl.create_model("text_rnn_classifier", max_tokens=64, max_length=6,
                                     embedding_dim=4, units=(4,), cell="gru",
                                     bidirectional=True),
    }
    for name, model in models.items():
        adapt_text_model(model, TRAIN)
        export_saved_model(model, base, name, 1)
    return base, models


@pytest.fixture(scope="module")
def server(exported):
    with ModelServer(exported[0], rest_port=0, grpc_port=0) as running:
        yield running


def _predict(server, name, body):
    return http(server, "POST", f"/v1/models/{name}:predict", body)


@pytest.mark.parametrize("name", ["bow", "rnn"])
def test_rest_answers_raw_strings_with_the_keras_probabilities(server, exported, name):
    model = exported[1][name]
    expected = np.asarray(model(np.array(PROBE)))
    status, answer = _predict(server, name, {"instances": PROBE})
    assert status == 200
    np.testing.assert_allclose(answer["predictions"], expected, atol=1e-5)
    status, answer = _predict(server, name, {"inputs": {"text": PROBE}})  # columnar, by name
    assert status == 200
    np.testing.assert_allclose(answer["outputs"], expected, atol=1e-5)
    status, answer = _predict(server, name, {"instances": [{"text": PROBE[0]}]})  # row, by name
    assert status == 200
    np.testing.assert_allclose(answer["predictions"], expected[:1], atol=1e-5)


def test_rest_metadata_shows_a_string_input(server):
    status, answer = http(server, "GET", "/v1/models/bow/metadata")
    signature = answer["metadata"]["signature_def"]["signature_def"]["serving_default"]
    assert status == 200 and signature["inputs"]["text"]["dtype"] == "DT_STRING"


@pytest.mark.parametrize("name, body, fragment", [
    ("bow", {"instances": [0.5, 1.5]}, "the model's input 'text' takes strings (one text per "
                                       "example), got 0.5 of type float"),
    ("bow", {"instances": ["a good film", 3]}, "got 3 of type int"),
    ("bow", {"instances": ["a good film", ""]}, "text 1 ('') holds no word"),
    ("bow", {"instances": ["zebra quagga"]}, "none of its 2 word(s) is in the model's "
                                             "vocabulary"),
    ("rnn", {"instances": ["good " * 7]}, "holds 7 words; the model reads at most 6"),
    ("rnn", {"instances": [["a", "good"]]}, "does not fit the model's input 'text'"),
])
def test_rest_refuses_bad_texts_with_a_400_in_one_line(server, name, body, fragment):
    status, answer = _predict(server, name, body)
    assert status == 400, answer
    assert fragment in answer["error"] and "\n" not in answer["error"]


def _grpc(server, name, values):
    request = predict_pb2.PredictRequest()
    request.model_spec.name = name
    request.inputs["text"].CopyFrom(tf.make_tensor_proto(values))
    with grpc.insecure_channel(f"127.0.0.1:{server.grpc_port}") as channel:
        return prediction_service_pb2_grpc.PredictionServiceStub(channel).Predict(request,
                                                                                   timeout=60)


@pytest.mark.parametrize("name", ["bow", "rnn"])
def test_grpc_answers_raw_strings_with_the_keras_probabilities(server, exported, name):
    response = _grpc(server, name, np.array(PROBE, dtype=object))
    np.testing.assert_allclose(tf.make_ndarray(response.outputs["probabilities"]),
                               exported[1][name](np.array(PROBE)), atol=1e-5)


@pytest.mark.parametrize("values, fragment", [
    (np.array([0.5, 1.5], "float32"), "takes strings"),
    (np.array([b"", b"a good film"], dtype=object), "text 0 ('') holds no word"),
    (np.array([b"\xff\xfe good"], dtype=object), "takes UTF-8 text"),
])
def test_grpc_refuses_bad_texts_as_invalid_argument(server, values, fragment):
    with pytest.raises(grpc.RpcError) as error:
        _grpc(server, "bow", values)
    assert error.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert fragment in error.value.details()


def test_keras_dl_serve_answers_raw_text(exported):
    base, models = exported
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "keras_dl.cli", "serve", "--model-base", str(base),
         "--rest-port", str(port), "--grpc-port", "0"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        wait_until_serving(process, port, "rnn")
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/v1/models/rnn:predict", method="POST",
            data=json.dumps({"instances": PROBE}).encode())
        with urllib.request.urlopen(request, timeout=30) as response:
            predictions = json.loads(response.read())["predictions"]
        np.testing.assert_allclose(predictions, models["rnn"](np.array(PROBE)), atol=1e-5)
    finally:
        process.send_signal(signal.SIGTERM)
        process.communicate(timeout=30)
    assert process.returncode == 0
