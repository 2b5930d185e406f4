"""bench/lenet_vs_pytorch.py (issue 35): each contender in its own process, figures and ratios
in the report, bad options refused in one line. PyTorch is the benchmarks' optional extra:
where it is installed the torch contender runs too; where it is not, asking for it is refused
with the install line."""

import importlib.util
import json

import pytest

from _scripts import load_script

HAVE_TORCH = importlib.util.find_spec("torch") is not None


@pytest.mark.apps
def test_lenet_vs_pytorch_reports_every_contender(tmp_path, capsys):
    bench = load_script("bench", "lenet_vs_pytorch")
    contenders = "keras_dl,keras_dl_spe1,torch" if HAVE_TORCH else "keras_dl,keras_dl_spe1"
    output = tmp_path / "report.json"
    assert bench.main(["--rounds", "1", "--epochs", "2", "--limit", "1280", "--contenders",
                       contenders, "--output", str(output)]) == 0
    report = json.loads(output.read_text())
    assert set(report["summary"]) == set(contenders.split(","))
    assert report["machine"]["cores"] >= 1 and report["machine"]["cpu"]
    for name, figures in report["summary"].items():
        assert figures["train_samples_per_second"] > 0, name
        assert figures["inference_samples_per_second"] > 0, name
        assert figures["peak_rss_mib"] >= figures["loaded_rss_mib"] > 0, name
        assert 0 <= figures["test_accuracy"] <= 1, name
        run = report["runs"][name][0]
        assert len(run["epoch_seconds"]) == 2 and run["train_samples"] == 1152, name
    if HAVE_TORCH:
        ratios = report["summary"]["keras_dl"]["vs_torch"]
        summary = report["summary"]
        assert ratios["train_samples_per_second"] == pytest.approx(
            summary["keras_dl"]["train_samples_per_second"]
            / summary["torch"]["train_samples_per_second"])
    assert "train samples/s" in capsys.readouterr().out


def test_lenet_vs_pytorch_refuses_bad_options(capsys):
    bench = load_script("bench", "lenet_vs_pytorch")
    cases = [(["--epochs", "1"], "--epochs must be at least 2 (the first is warm-up), got 1"),
             (["--contenders", "keras_dl,tf"], "unknown contender 'tf'; allowed: keras_dl, "),
             (["--limit", "100"], "--limit must be at least 1280 training images, got 100")]
    if not HAVE_TORCH:
        cases.append((["--contenders", "torch"], "the torch contender needs PyTorch: pip install"))
    for argv, fragment in cases:
        with pytest.raises(SystemExit) as exit_:
            bench.main(argv)
        assert exit_.value.code == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and fragment in err[0], err
