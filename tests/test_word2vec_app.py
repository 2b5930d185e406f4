"""Smoke run of `apps/word2vec.py` (`-m apps`): both schemes, ours and gensim's, scored and
drawn; bad options refused in one line. Also the word-embedding task through `keras-dl train`,
`evaluate`, `export` and `predict` on a few documents."""

import json

import numpy as np
import pytest

from _cli import run_cli
from tests._scripts import load_app

pytestmark = pytest.mark.apps


def test_word2vec_app_scores_both_schemes_beside_gensim(tmp_path):
    """Catches a scheme or the gensim reference left out, a score that is no correlation, and
    a projection that is not the chosen groups' words."""
    app = load_app("word2vec")
    record = app.main(["--quick", "--output", str(tmp_path)])
    assert (tmp_path / "projection.png").stat().st_size > 10_000
    saved = json.loads((tmp_path / "results.json").read_text())
    assert set(saved["results"]) == {f"{who} {mode}" for who in ("keras_dl", "gensim")
                                     for mode in app.MODES}
    for found in saved["results"].values():
        assert found["wordsim353"] is None or -1 <= found["wordsim353"] <= 1
        assert 0 < found["wordsim353_coverage"] < 1 and found["words_per_second"] > 0
    members = {w for group in app.GROUPS.values() for w in group}
    for points in record["projections"].values():
        assert {word for _, word, _, _ in points} <= members


def test_bad_option_is_one_line_and_exit_2(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        load_app("word2vec").main(["--epochs", "0", "--output", str(tmp_path / "out")])
    assert exit_info.value.code == 2
    error = capsys.readouterr().err.strip()
    assert "argument --epochs: 0 is not a positive integer" in error
    assert len(error.splitlines()) == 1 and not (tmp_path / "out").exists()


def test_train_evaluate_export_predict_through_the_cli(tmp_path, capsys):
    """The task end to end: a run's test metrics hold the held-out loss and the scores, the
    export serves a word's vector equal to the model's, and an unknown word is refused."""
    import keras_dl
    from keras_dl.models.word2vec import vocabulary

    run = tmp_path / "run"
    code, _, err = run_cli(capsys, "train", "word2vec", "--dataset", "wiki_sample", "--limit",
                           "30", "--epochs", "2", "--optimizer", "sgd", "--set", "dimension=16",
                           "--run-dir", run)
    assert code == 0, err
    metrics = json.loads((run / "metrics.json").read_text())
    assert 0 < metrics["test_loss"] < 10 and 0 < metrics["test_wordsim353_coverage"] < 1
    code, out, err = run_cli(capsys, "evaluate", run)
    assert code == 0 and json.loads(out)["test_loss"] == pytest.approx(metrics["test_loss"])
    code, _, err = run_cli(capsys, "export", run, "--name", "w2v", "--base", tmp_path / "saved")
    assert code == 0, err
    model = keras_dl.load_model(run / "model.keras")
    word = vocabulary(model)[0]
    (tmp_path / "words.txt").write_text(f"{word}\n")
    code, out, err = run_cli(capsys, "predict", tmp_path / "saved" / "w2v" / "1", "--input",
                             tmp_path / "words.txt", "--json")
    assert code == 0, err
    np.testing.assert_allclose(json.loads(out)["vector"], model(np.array([word])), atol=1e-6)
    (tmp_path / "bad.txt").write_text("zzqx\n")
    code, _, err = run_cli(capsys, "predict", tmp_path / "saved" / "w2v" / "1", "--input",
                           tmp_path / "bad.txt")
    assert code == 2 and "none of its 1 word(s) is in the model's vocabulary" in err
