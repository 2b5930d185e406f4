"""Smoke run of `apps/adversarial_examples.py` (`-m apps`): tiny settings, every file written,
the figures it reports recorded in results.json, bad options refused in one line (exit 2)."""

import json

import pytest

from tests._scripts import load_app

pytestmark = pytest.mark.apps


def test_adversarial_examples_writes_its_figures_and_results(tmp_path):
    """Catches a figure or a measure missing, a curve that is not the attack's, or a transfer
    table that is not square."""
    results = load_app("adversarial_examples").main(
        ["--epochs", "1", "--limit", "300", "--attack-examples", "40", "--eps", "0,0.1",
         "--pgd-steps", "2", "--output", str(tmp_path)])
    for name in ("error_vs_eps.png", "confidence_vs_eps.png", "adversarial_example.png",
                 "transfer.png"):
        assert (tmp_path / name).stat().st_size > 10_000, name
    saved = json.loads((tmp_path / "results.json").read_text())
    assert set(saved["runs"]) == {"maxout_mlp", "maxout_mlp_adversarial", "lenet5",
                                  "lenet5_adversarial"}
    assert saved["runs"]["lenet5_adversarial"]["adversarial_training"] == "fgsm:eps=0.25,alpha=0.5"
    for by_attack in saved["curves"].values():
        assert [row["eps"] for row in by_attack["fgsm"]] == [0.0, 0.1, 0.25]  # 0.25 added
        assert by_attack["fgsm"][0] == by_attack["pgd"][0]  # ε = 0: the clean figures
    assert all(len(row) == 4 for row in saved["transfer_at_eps_0.25"].values())
    assert saved["published"]["maxout_error_under_fgsm"] == 0.894
    assert set(saved["quality_bars"]) == set(results["quality_bars"])


@pytest.mark.parametrize("argv, message", [
    (["--eps", "0,2"], "--eps / --train-eps: bad eps 2.0; allowed: a number in [0, 1]"),
    (["--train-eps", "-1"], "bad eps -1.0"),
    (["--epochs", "0"], "argument --epochs: 0 is not a positive integer"),
])
def test_bad_options_are_one_line_and_exit_2(argv, message, tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        load_app("adversarial_examples").main(argv + ["--output", str(tmp_path / "out")])
    assert exit_info.value.code == 2
    error = capsys.readouterr().err.strip()
    assert message in error and len(error.splitlines()) == 1, error
    assert not (tmp_path / "out").exists()


def test_adversarial_examples_trains_with_pgd_when_asked(tmp_path):
    """Catches `--train-attack pgd` not reaching the training (the runs recorded as FGSM
    training) or failing inside it."""
    results = load_app("adversarial_examples").main(
        ["--epochs", "1", "--limit", "200", "--attack-examples", "20", "--eps", "0.1",
         "--pgd-steps", "2", "--train-attack", "pgd", "--output", str(tmp_path)])
    runs = json.loads((tmp_path / "results.json").read_text())["runs"]
    for name in ("maxout_mlp_adversarial", "lenet5_adversarial"):
        assert runs[name]["adversarial_training"].startswith("pgd:eps=0.25"), runs[name]
    assert results["train_attack"] == "pgd"
