"""Smoke run of `apps/seq2seq_translation.py` (`-m apps`): three tiny models trained and
decoded both ways, the attention figure and results written, a bad option refused in one
line."""

import json

import pytest

from tests._scripts import load_app

pytestmark = pytest.mark.apps


def test_seq2seq_app_scores_greedy_and_beam_for_each_attention(tmp_path):
    """Catches a model left out, a beam that scores below greedy, and a missing figure."""
    app = load_app("seq2seq_translation")
    record = app.main(["--quick", "--output", str(tmp_path)])
    assert (tmp_path / "attention.png").stat().st_size > 10_000
    saved = json.loads((tmp_path / "results.json").read_text())
    assert saved == json.loads(json.dumps(record))
    assert set(saved["results"]) == set(app.ATTENTIONS)
    for found in saved["results"].values():
        assert 0 <= found["exact_match_greedy"] <= 1 and 0 <= found["exact_match_beam"] <= 1
        assert found["sources_where_beam_scores_below_greedy"] == 0
        assert found["mean_log_probability_beam"] >= found["mean_log_probability_greedy"] - 1e-4
    assert saved["bar"]["exact_match_with_attention"] == 0.99
    assert saved["bar_met"]["beam_never_worse_than_greedy"] in (True, False)


def test_bad_option_is_one_line_and_exit_2(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        load_app("seq2seq_translation").main(["--epochs", "0", "--output",
                                               str(tmp_path / "out")])
    assert exit_info.value.code == 2
    error = capsys.readouterr().err.strip()
    assert "argument --epochs: 0 is not a positive integer" in error
    assert len(error.splitlines()) == 1 and not (tmp_path / "out").exists()
