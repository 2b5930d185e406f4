"""The seq2seq translation path: `keras-dl train seq2seq --dataset dates_to_iso` (the
`translation` task's hooks: vocabularies adapted on the training split, teacher-forced
batches, exact-match evaluation), the export's `translate` signatures taking strings and
returning strings, and the server answering them over REST and gRPC (a bad text refused in
one line). What trains (and exports what it trained) runs with the apps (`-m apps`)."""

import json

import grpc
import numpy as np
import pytest
import tensorflow as tf
from _cli import run_cli
from _http import http
from tensorflow_serving.apis import predict_pb2, prediction_service_pb2_grpc

import keras_dl
from keras_dl import tasks, training
from keras_dl.export import ServedModel, export_saved_model
from keras_dl.models import seq2seq as s2s
from keras_dl.models.seq2seq_decoding import decode
from keras_dl.serving import ModelServer
from keras_dl.tasks.seq2seq import translation_scores

TINY = {"units": 8, "embedding_dim": 4, "max_source_length": 30, "max_target_length": 10}
PROBE = ["March 4, 2021", "04.03.2021", "the 1st of May 1999"]


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A tiny seq2seq trained one epoch on 96 pairs of `dates_to_iso` through
    `keras_dl.training.train`, and exported (`base/dates/1`)."""
    run_dir = tmp_path_factory.mktemp("seq2seq_run")
    result = training.train("seq2seq", dataset="dates_to_iso", run_dir=run_dir, epochs=1,
                            batch_size=32, limit=96, verbose=0, builder_kwargs=TINY)
    base = tmp_path_factory.mktemp("seq2seq_saved")
    export_saved_model(result.model, base, "dates", 1, task="translation")
    return result, base


@pytest.mark.apps
def test_training_adapts_both_vocabularies_and_reports_exact_match(trained):
    """Catches a target vocabulary not learnt (or missing [START]/[END]), targets without
    [END], and an evaluation without the decoding scores."""
    result, _ = trained
    model = result.model
    vocabulary = s2s.target_vocabulary(model)
    assert vocabulary[:4] == ["", "[UNK]", s2s.START, s2s.END]
    assert set("0123456789-") <= set(vocabulary)
    ids = np.asarray(s2s.target_ids(model, tf.constant(["2021-03-04"])))
    assert ids.shape == (1, 11) and ids[0, 10] == s2s.END_ID
    assert [vocabulary[i] for i in ids[0, :10]] == list("2021-03-04")
    metrics = result.metrics
    for key in ("test_loss", "test_exact_match_greedy", "test_exact_match_beam",
                "test_character_accuracy"):
        assert 0 <= metrics[key] < 10, key
    assert metrics["test_character_accuracy"] > 0.05  # one epoch learns the digits' places
    saved = json.loads((result.run_dir / "metrics.json").read_text())
    assert saved["test_exact_match_beam"] == metrics["test_exact_match_beam"]


def test_translation_scores():
    """Catches exact match counting near misses, and per-character accuracy not per
    position."""
    scores = translation_scores(["2021-03-04", "1999-05-01"], ["2021-03-04", "1999-05-02"],
                                ["2021-03-04", "1999-05-01"])
    assert scores["exact_match_greedy"] == 0.5 and scores["exact_match_beam"] == 1.0
    assert scores["character_accuracy"] == pytest.approx(19 / 20)


@pytest.mark.apps
def test_export_serves_strings_for_strings(trained):
    """Catches a `translate` signature that does not return the Keras model's decoding, a
    served model that does not check its texts, and one that accepts numbers."""
    result, base = trained
    served = ServedModel(base / "dates" / "1")
    assert {"serving_default", "translate", "translate_greedy",
            "source_statistics"} <= set(served.signatures)
    out = served.run("translate_greedy", np.array(PROBE))
    assert [t.decode() for t in out["translation"]] == decode(result.model, PROBE)
    out = served.run("translate", np.array(PROBE))
    assert [t.decode() for t in out["translation"]] == decode(result.model, PROBE, mode="beam")
    for bad, fragment in ((["March 4, 2021", ""], "text 1 ('') holds no character"),
                          (["x" * 31], "holds 31 characters; the model reads at most 30"),
                          (np.array([1.5]), "takes strings (one text per example)")):
        with pytest.raises(ValueError, match=fragment.replace("(", r"\(").replace(")", r"\)")):
            served.run("translate", np.asarray(bad))


@pytest.mark.apps
def test_server_answers_strings_over_rest_and_grpc(trained):
    """Catches string outputs the REST JSON encoder cannot write, a gRPC answer that is not
    DT_STRING, and a bad text that is not a 400 / INVALID_ARGUMENT in one line."""
    result, base = trained
    expected = decode(result.model, PROBE, mode="beam")
    with ModelServer(base, rest_port=0, grpc_port=0) as server:
        status, answer = http(server, "POST", "/v1/models/dates:predict",
                              {"signature_name": "translate", "instances": PROBE})
        assert status == 200
        assert [row["translation"] for row in answer["predictions"]] == expected
        status, answer = http(server, "POST", "/v1/models/dates:predict",
                              {"signature_name": "translate", "instances": ["x" * 40]})
        assert status == 400 and "holds 40 characters" in answer["error"]
        assert "\n" not in answer["error"]
        request = predict_pb2.PredictRequest()
        request.model_spec.name = "dates"
        request.model_spec.signature_name = "translate"
        request.inputs["source"].CopyFrom(tf.make_tensor_proto(np.array(PROBE, dtype=object)))
        with grpc.insecure_channel(f"127.0.0.1:{server.grpc_port}") as channel:
            stub = prediction_service_pb2_grpc.PredictionServiceStub(channel)
            response = stub.Predict(request, timeout=60)
            got = [t.decode() for t in tf.make_ndarray(response.outputs["translation"])]
            assert got == expected
            request.inputs["source"].CopyFrom(tf.make_tensor_proto(np.array([1.0, 2.0])))
            with pytest.raises(grpc.RpcError) as error:
                stub.Predict(request, timeout=60)
    assert error.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "takes strings" in error.value.details()


@pytest.mark.apps
def test_evaluate_cli_reports_exact_match(trained, capsys):
    """Catches `keras-dl evaluate RUN_DIR` without the decoding scores."""
    result, _ = trained
    code, out, err = run_cli(capsys, "evaluate", result.run_dir, "--limit", "40")
    assert code == 0, err
    scores = json.loads(out)
    assert scores["examples"] == 40
    assert {"test_exact_match_greedy", "test_exact_match_beam",
            "test_character_accuracy"} <= set(scores)


@pytest.mark.apps
def test_predict_cli_prints_translations(trained, tmp_path, capsys):
    """Catches `keras-dl predict` failing on string outputs (printing or --json)."""
    result, base = trained
    texts = tmp_path / "dates.txt"
    texts.write_text("\n".join(PROBE) + "\n")
    code, out, err = run_cli(capsys, "predict", base / "dates" / "1", "--input", texts,
                             "--signature", "translate_greedy", "--json")
    assert code == 0, err
    assert json.loads(out)["translation"] == decode(result.model, PROBE)


def test_task_is_asked_not_the_model():
    """Catches the seq2seq model registered under another task, or a task that does not
    train on text pairs."""
    task = tasks.for_model("seq2seq")
    assert task.name == "translation" and task.text and task.text_pairs
    assert keras_dl.model_info("seq2seq").task == "translation"
