"""keras-dl as a new user meets it (issue 36): one clean line for every bad input, no
TensorFlow chatter, a fast --help, builder booleans that mean what they say, predict's input
checks, tune's piped output, and README examples that run in order."""

import ast
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import keras_dl
from _cli import run_cli
from keras_dl import cli, quiet, registry
from keras_dl.cli_inputs import parse_settings
from keras_dl.models._common import boolean_parameters

ROOT = Path(__file__).resolve().parents[1]


def assert_one_line_error(capsys, argv, *fragments):
    code, out, err = run_cli(capsys, *argv)
    assert code == 2, (out, err)
    assert out == ""
    lines = err.splitlines()
    assert len(lines) == 1, err
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    return lines[0]


# === 1. TensorFlow's start-up noise ============================================================


def test_tensorflow_startup_lines_stay_off_the_terminal(tmp_path):
    """Bug: with TF_CPP_MIN_LOG_LEVEL set (as many shells and this suite's conftest set it),
    quiet_tensorflow() did nothing, and ~7 absl/oneDNN/CUDA lines came before keras-dl's one
    error line. A real process, since the terminal output is the point."""
    script = shutil.which("keras-dl", path=str(Path(sys.executable).parent)) or "keras-dl"
    env = {k: v for k, v in os.environ.items() if k != quiet.VERBOSE_VARIABLE}
    env["TF_CPP_MIN_LOG_LEVEL"] = "2"
    result = subprocess.run(
        [script, "train", "mlp", "--dataset", "digits", "--set", "hidden_units=[-3]"],
        capture_output=True, text=True, timeout=120, env=env, cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        "keras-dl: error: hidden_units entries must be a positive integer, got -3"]
    assert result.stdout == ""
    assert list(tmp_path.iterdir()) == []  # no run dir


def _redirects_fd2(monkeypatch):
    """Whether quiet_tensorflow() points file descriptor 2 elsewhere (it is let through)."""
    targets = []
    real_dup2 = os.dup2

    def dup2(fd, fd2, *args):
        targets.append(fd2)
        return real_dup2(fd, fd2, *args)

    monkeypatch.setattr(os, "dup2", dup2)
    quiet.quiet_tensorflow()
    return 2 in targets


def test_verbose_variable_brings_tensorflow_logs_back(monkeypatch):
    """Bug: the start-up lines were hidden only when TF_CPP_MIN_LOG_LEVEL was unset, and no
    keras-dl switch brought them back: now hidden whatever the level, shown with
    KERAS_DL_VERBOSE_TF=1."""
    monkeypatch.setenv("TF_CPP_MIN_LOG_LEVEL", "0")
    monkeypatch.delenv(quiet.VERBOSE_VARIABLE, raising=False)
    assert _redirects_fd2(monkeypatch)
    monkeypatch.setenv(quiet.VERBOSE_VARIABLE, "1")
    assert not _redirects_fd2(monkeypatch)
    assert os.environ["TF_CPP_MIN_LOG_LEVEL"] == "0"  # the user's level is kept


# === 2. Boolean builder arguments ===============================================================


def test_set_batch_norm_no_trains_without_batch_norm(capsys, tmp_path):
    """Bug: `--set batch_norm=no` stored the string "no" in config.json and, "no" being
    truthy, built the model WITH batch normalisation."""
    run = tmp_path / "run"
    code, out, err = run_cli(capsys, "train", "mlp", "--dataset", "digits", "--epochs", "1",
                             "--limit", "60", "--set", "hidden_units=[4]", "--set",
                             "batch_norm=no", "--run-dir", run)
    assert code == 0, err
    assert json.loads((run / "config.json").read_text())["builder_kwargs"]["batch_norm"] is False
    model = keras_dl.load_model(run / "model.keras", compile=False)
    assert not any("batch_normalization" in type(layer).__name__.lower()
                   or layer.name.endswith("_bn") for layer in model.layers)


@pytest.mark.parametrize("model, item", [
    ("mlp", "batch_norm=maybe"), ("mlp", "batch_norm=2"), ("lenet5", "modern=[]"),
    ("autoencoder", "tied=null"), ("resnet18", "include_top=none"), ("rbm", "persistent=y"),
])
def test_set_refuses_a_non_boolean_for_a_boolean_argument(capsys, tmp_path, model, item):
    """Bug: any value was accepted for a builder argument whose default is a bool (and read
    for its truth value); now one line naming the value and the spellings allowed, exit 2,
    and no run dir."""
    key, _, value = item.partition("=")
    assert_one_line_error(
        capsys, ["train", model, "--dataset", "digits", "--epochs", "1", "--limit", "60",
                 "--set", item, "--run-dir", tmp_path / "run"],
        f"--set {key} takes true or false (or yes/no, on/off, 1/0), got {value!r}")
    assert not (tmp_path / "run").exists()


def test_every_boolean_argument_of_every_builder_is_checked():
    """Bug: only a few builders checked their booleans (zero_init_residual), so
    create_model("mlp", batch_norm="no") built batch norm; now every argument whose default
    is a bool takes true/false spellings from --set and refuses anything else in Python."""
    seen = set()
    for name in keras_dl.list_models():
        builder = registry.model_info(name).builder
        for key in boolean_parameters(builder):
            seen.add(key)
            booleans = boolean_parameters(builder)
            assert parse_settings([f"{key}=Off"], booleans) == {key: False}
            assert parse_settings([f"{key}=YES"], booleans) == {key: True}
            assert parse_settings([f"{key}=0"], booleans) == {key: False}
            with pytest.raises(ValueError, match=f"{key} must be True or False, got 'no'"):
                keras_dl.create_model(name, **{key: "no"})
    assert {"batch_norm", "include_top", "modern", "tied", "lrn", "persistent"} <= seen


# === 3. argparse errors in one line =============================================================


@pytest.mark.parametrize("argv, fragments", [
    (["train", "mlp", "--epochs", "-1"], ["keras-dl train: error: argument --epochs: -1",
                                          "positive integer"]),
    (["train", "mlp", "--optimizer", "adamw"], ["argument --optimizer", "'adamw'", "'adam'",
                                                "'rmsprop'"]),
    (["train", "mlp", "--batch-size", "0"], ["argument --batch-size: 0 is not a positive"]),
    (["tune", "mlp"], ["keras-dl tune: error:", "required: --dir"]),
    ([], ["keras-dl: error:", "COMMAND", "list, datasets, train"]),
])
def test_argparse_errors_are_one_line(capsys, argv, fragments):
    """Bug: a bad option printed argparse's 10-19-line usage block before the error."""
    assert_one_line_error(capsys, argv, *fragments)


# === 4. --help and --version before TensorFlow ==================================================


def test_help_version_and_bad_options_do_not_import_tensorflow():
    """Bug: TensorFlow was imported before the arguments were parsed, so `keras-dl --help`
    and `--version` took ~4 s."""
    code = (
        "import contextlib, io, sys\n"
        "from keras_dl import cli\n"
        "for argv in (['--help'], ['--version'], ['train', '--help'], ['predict', '--help'],\n"
        "             ['train', 'mlp', '--epochs', '0']):\n"
        "    with contextlib.redirect_stdout(io.StringIO()), \\\n"
        "            contextlib.redirect_stderr(io.StringIO()):\n"
        "        try:\n"
        "            cli.main(argv)\n"
        "        except SystemExit:\n"
        "            pass\n"
        "print(sorted(m for m in ('tensorflow', 'keras') if m in sys.modules))\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}  # a user's
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=120, cwd=ROOT, env=dict(env, PYTHONPATH=str(ROOT)))
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


# === 5. predict's inputs ========================================================================


@pytest.fixture(scope="module")
def digits_model(tmp_path_factory):
    """An (untrained) digits MLP exported from a run dir, as `keras-dl export` writes it."""
    root = tmp_path_factory.mktemp("predict")
    run = root / "run"
    run.mkdir()
    model = keras_dl.create_model("mlp", input_shape=(8, 8, 1), num_classes=10,
                                  hidden_units=(4,), seed=0)
    model.save(run / "model.keras")
    (run / "config.json").write_text(json.dumps({"model": "mlp", "dataset": "digits"}))
    assert cli.main(["export", str(run), "--name", "m", "--base", str(root / "saved")]) == 0
    return root


def test_predict_names_the_files_shape(capsys, digits_model, tmp_path):
    """Bug: a (3, 8, 8) array was reported as "input of shape (1, 3, 8, 8)", a shape the
    user never made."""
    np.save(tmp_path / "x.npy", np.zeros((3, 8, 8), "float32"))
    line = assert_one_line_error(
        capsys, ["predict", digits_model / "saved" / "m", "--input", tmp_path / "x.npy"],
        "shape (3, 8, 8) does not fit", "(batch, 8, 8, 1)", "one example (8, 8, 1)")
    assert "(1, 3, 8, 8)" not in line


def test_predict_refuses_values_outside_the_training_range(capsys, digits_model, tmp_path):
    """Bug: raw 0-16 digit pixels were accepted silently though the model was trained on
    [0, 1]; now refused in one line, unless --allow-out-of-range."""
    saved = digits_model / "saved" / "m"
    pixels = np.arange(3 * 64, dtype="float32").reshape(3, 8, 8, 1) % 17
    np.save(tmp_path / "raw.npy", pixels)
    assert_one_line_error(capsys, ["predict", saved, "--input", tmp_path / "raw.npy"],
                          "values from 0 to 16", "'digits' in [0, 1]", "--allow-out-of-range")
    code, out, err = run_cli(capsys, "predict", saved, "--input", tmp_path / "raw.npy",
                             "--allow-out-of-range")
    assert code == 0, err
    np.save(tmp_path / "scaled.npy", pixels / 16)
    code, out, err = run_cli(capsys, "predict", saved, "--input", tmp_path / "scaled.npy")
    assert code == 0 and "3 prediction(s)" in out, err
    # an export made before the range was recorded: the range comes from the dataset
    metadata = next(saved.glob("*/assets.extra/keras_dl.json"))
    facts = json.loads(metadata.read_text())
    assert facts["input_range"] == [0.0, 1.0]
    del facts["input_range"]
    metadata.write_text(json.dumps(facts))
    assert_one_line_error(capsys, ["predict", saved, "--input", tmp_path / "raw.npy"],
                          "values from 0 to 16")


def test_predict_names_the_format_it_reads(capsys, digits_model, tmp_path):
    """Bug: a .json input got numpy's "Cannot load file containing pickled data when
    allow_pickle=False", which names neither what was wrong nor what is allowed."""
    (tmp_path / "x.json").write_text(json.dumps(np.zeros((2, 8, 8, 1)).tolist()))
    line = assert_one_line_error(
        capsys, ["predict", digits_model / "saved" / "m", "--input", tmp_path / "x.json"],
        f"{tmp_path / 'x.json'} is not a .npy array file", "predict reads .npy")
    assert "pickle" not in line


# === 7. tune's output ===========================================================================


def test_tune_output_piped_is_plain_and_numbers_trials_once(capsys, tmp_path):
    """Bug: piped, `keras-dl tune` wrote Keras' progress bar with ANSI escape codes and
    carriage returns, and its log said "Running Trial #1/#2" while its table said 0 and 1."""
    code, out, err = run_cli(capsys, "tune", "mlp", "--dataset", "digits", "--max-trials", "2",
                             "--epochs", "1", "--limit", "120", "--dir", tmp_path / "search")
    assert code == 0, err
    assert "\x1b" not in out + err and "\r" not in out + err
    logged = sorted(re.findall(r"Running Trial #(\d+)", out))
    table = out[out.index("rank  trial"):].splitlines()[1:]
    ranked = sorted(line.split()[1] for line in table if line[:1].isdigit())
    assert logged == ranked == ["1", "2"], out


# === 6. the README ==============================================================================


def _readme_blocks(kind):
    return re.findall(rf"```{kind}\n(.*?)```", (ROOT / "README.md").read_text(), re.S)


def test_readme_examples_run_in_order():
    """Bug: the README's Python and command-line examples shared runs/mlp-digits, so
    following both in order failed on a finished run dir; and its list_models() comment did
    not show what the call returns."""
    python = "\n".join(_readme_blocks("python"))
    python_runs = set(re.findall(r'run_dir="([^"]+)"', python))
    loaded = set(re.findall(r'load_model\("([^"]+)/model\.keras"\)', python))
    assert python_runs and loaded <= python_runs
    cli_lines = [line for block in _readme_blocks("bash") for line in block.splitlines()
                 if line.startswith("keras-dl ")]
    trained = {line.split("--run-dir ")[1].split()[0] for line in cli_lines
               if " train " in f" {line} " and "--run-dir" in line}
    assert trained and not trained & python_runs
    used = {line.split()[2] for line in cli_lines if line.split()[1] in ("evaluate", "export")}
    assert used and used <= trained
    parser = cli.build_parser()
    for line in cli_lines:  # every example parses with today's options
        parser.parse_args(line.split("#")[0].split()[1:])
    shown = re.findall(r'keras_dl\.list_models\(("[^"]*")\)\s+# (\[[^\]]*\])', python)
    assert shown
    for pattern, names in shown:
        assert keras_dl.list_models(ast.literal_eval(pattern)) == ast.literal_eval(names)
