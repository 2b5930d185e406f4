"""The settings table: one declaration of every training setting, from which the command
line, `train()`, the checks, the record in `config.json`, the resume comparison and the docs
are derived."""

import argparse
import inspect
import json
from pathlib import Path

import pytest

from keras_dl import cli, cli_parser, settings, training
from keras_dl.cli_inputs import parse_settings
from keras_dl.training.run_dir import RunDirError, changed_setting, prepare_run_dir

ROOT = Path(__file__).resolve().parents[1]


def _subparser(name):
    parser = cli.build_parser()
    commands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return commands.choices[name]


@pytest.mark.parametrize("command", ["train", "tune"])
def test_every_setting_is_an_option_with_the_tables_choices_and_help(command):
    options = {action.dest: action for action in _subparser(command)._actions}
    for setting in settings.SETTINGS:
        if command == "tune" and setting.name in settings.TRAIN_ONLY:
            assert setting.name not in options  # trials record no probes
            continue
        action = options[setting.name]
        assert setting.option in action.option_strings
        if not (command == "tune" and setting.name in ("epochs", "patience")):
            assert action.help == setting.help  # (a trial's budget and patience: its own)
        assert tuple(action.choices or ()) == tuple(setting.choices or ())


def test_train_takes_the_tables_settings_and_documents_each():
    fields = [f for f in inspect.signature(settings.TrainConfig).parameters if f != "model"]
    assert fields == [s.name for s in settings.SETTINGS]
    for setting in settings.SETTINGS:
        assert f"    {setting.name} ({setting.option}" in training.train.__doc__
    with pytest.raises(TypeError, match="no_such_setting"):
        training.train("mlp", run_dir="unused", no_such_setting=1)


def test_the_cli_passes_every_setting_through():
    args = _subparser("train").parse_args(
        ["mlp", "--lr", "0.5", "--set", "hidden_units=[4]", "--weight-decay", "0.01",
         "--pretrain-unit", "rbm", "--monitor", "val_accuracy"])
    config = settings.from_arguments(args, "mlp", parse_settings(args.builder_kwargs))
    assert (config.learning_rate, config.builder_kwargs, config.weight_decay, config.pretraining,
            config.monitor) == (0.5, {"hidden_units": [4]}, 0.01, "rbm", "val_accuracy")


@pytest.mark.parametrize("name, value, message", [
    ("epochs", 0, "epochs must be a positive integer, got 0"),
    ("optimizer", "lbfgs", "unknown optimizer 'lbfgs'; allowed: adam, sgd, momentum, nesterov, "
                           "adagrad, adadelta, rmsprop"),
    ("loss", "hinge", "unknown loss 'hinge'; allowed: cross_entropy, l2, l1"),
    ("lr_schedule", "linear", "unknown learning-rate schedule 'linear'"),
    ("limit", 1, "limit must be an integer of at least 2, got 1"),
    ("seed", 1.5, "seed must be an integer, got 1.5"),
    ("pretrain_epochs", -1, "pretrain epochs must be a non-negative integer, got -1"),
])
def test_each_bad_value_names_itself_and_what_is_allowed(name, value, message):
    with pytest.raises(ValueError, match=message):
        settings.TrainConfig(model="mlp", **{name: value}).check()


def test_the_record_holds_optional_settings_only_when_set():
    record = training.resolve_config("mlp", dataset="digits")
    always = {s.name for s in settings.SETTINGS if s.record == "always"}
    assert always <= set(record) and not set(settings.OPTIONAL_RECORDS) & set(record)
    record = training.resolve_config("mlp", dataset="digits", weight_decay=0.01,
                                     monitor="val_accuracy")
    assert (record["weight_decay"], record["monitor"]) == (0.01, "val_accuracy")


# config.json as keras_dl wrote it before the settings table (commit cde8d0d), for mlp on digits
OLD_RECORD = {
    "model": "mlp", "family": "mlp",
    "builder_kwargs": None,  # filled from the builder's defaults below
    "dataset": "digits", "epochs": 20, "batch_size": 64, "learning_rate": 0.001,
    "optimizer": "adam", "lr_schedule": "cosine", "patience": 5, "validation_fraction": 0.1,
    "seed": 0, "limit": None, "augment": None,
}


def test_run_dirs_written_before_the_table_resume(tmp_path):
    record = training.resolve_config("mlp", dataset="digits", epochs=20)
    old = {**OLD_RECORD, "builder_kwargs": record["builder_kwargs"]}
    run = tmp_path / "run"
    run.mkdir()
    (run / "config.json").write_text(json.dumps(old))
    assert changed_setting(run, record) is None
    assert prepare_run_dir(run, record, overwrite=False) is True
    with pytest.raises(RunDirError, match="weight_decay=0.0, not 0.01"):
        prepare_run_dir(run, training.resolve_config("mlp", dataset="digits", epochs=20,
                                                     weight_decay=0.01), overwrite=False)


def test_a_config_json_that_is_no_run_fails_with_one_line(tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    (run / "config.json").write_text("[1, 2]")
    record = training.resolve_config("mlp", dataset="digits")
    with pytest.raises(RunDirError, match="config.json that is not a keras_dl run's settings"):
        prepare_run_dir(run, record, overwrite=False)


def test_the_docs_table_is_the_settings_table():
    text = (ROOT / "docs" / "training.md").read_text()
    assert settings.markdown_table() in text, "regenerate: python -c 'from keras_dl import " \
        "settings; print(settings.markdown_table())'"


def test_the_cli_holds_no_copy_of_the_tables_choices():
    source = "".join(path.read_text() for path in (ROOT / "keras_dl").glob("cli*.py"))
    for setting in settings.SETTINGS:
        if setting.choices:
            assert repr(tuple(setting.choices)) not in source


def test_the_clis_other_choices_agree_with_the_library():
    from keras_dl import distribute, tuning

    assert cli_parser.STRATEGIES == distribute.STRATEGIES
    assert cli_parser.TUNERS == tuning.TUNERS and cli_parser.OBJECTIVES == tuple(tuning.OBJECTIVES)


def test_the_optimizer_default_is_the_models_and_a_given_one_wins():
    """Catches a registered optimizer default that `keras-dl train` ignores (word2vec trains
    with word2vec's plain SGD unless told otherwise), or one that overrides the user's."""
    assert training.resolve_config("mlp", dataset="digits")["optimizer"] == "adam"
    assert training.resolve_config("word2vec", dataset="wiki_sample")["optimizer"] == "sgd"
    assert training.resolve_config("word2vec", dataset="wiki_sample",
                                   optimizer="adam")["optimizer"] == "adam"
