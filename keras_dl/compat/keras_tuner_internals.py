"""KerasTuner internals keras_dl uses (entry 7 of keras_dl.compat's list).

7. `swapped_tuner_json_writer(write)` — KerasTuner 1.4 writes every file of a search's state
   in place, through one function, `keras_tuner.src.utils.save_json`: `Stateful.save`
   (`trial.json`, `oracle.json`, `tuner0.json`) and `Tuner._build_and_fit_model`
   (`build_config.json`) both look it up as `utils.save_json` at the moment they write. So
   replacing that module attribute for a while sends every such write through keras_dl's
   writer (an atomic one: keras_dl.tuning.resume). A KerasTuner module that imported the
   function itself (`from keras_tuner.src.utils import save_json`), or a save that stopped
   going through it, would keep writing in place, unseen: `check_tuner_json_writer` fails on
   both.
"""

from __future__ import annotations

import contextlib
import inspect
import json
import sys

from keras_dl.compat._changed import internal_changed


def _tuner_utils():
    from keras_tuner.src import utils

    return utils


def _changed(what: str) -> RuntimeError:
    import keras_tuner

    return internal_changed(what, keras_tuner, "keras_tuner_internals")


@contextlib.contextmanager
def swapped_tuner_json_writer(write):
    """While open, KerasTuner's JSON state writes to local files call `write(path, text)`
    (`text`: the JSON KerasTuner would have written) instead of writing in place; a remote
    path (`gs://...`, which KerasTuner writes through `tf.io.gfile`) keeps KerasTuner's own
    writer. KerasTuner's writer is back when the block ends, however it ends."""
    utils = _tuner_utils()
    original = utils.save_json

    def save_json(path, obj):
        if "://" in str(path):
            return original(path, obj)
        text = json.dumps(obj)
        write(path, text)
        return text

    utils.save_json = save_json
    try:
        yield
    finally:
        utils.save_json = original


def _own_references(function) -> list[str]:
    """The KerasTuner modules, other than `keras_tuner.src.utils`, that hold `function`
    themselves (a swap of the `utils` attribute would not reach their calls)."""
    return sorted(name for name, module in list(sys.modules.items())
                  if name.startswith("keras_tuner") and name != "keras_tuner.src.utils"
                  and any(value is function for value in vars(module).values()))


def _saved_through_swap() -> list[str]:
    """The names of the files a trial and an oracle saved inside `swapped_tuner_json_writer`
    asked the swapped-in writer to write (nothing reaches the disk)."""
    import os
    import tempfile

    import keras_tuner
    from keras_tuner.src.engine import trial as trial_module

    written = []
    with tempfile.TemporaryDirectory() as folder, swapped_tuner_json_writer(
            lambda path, text: written.append(os.path.basename(path))):
        trial_module.Trial(keras_tuner.HyperParameters(), trial_id="0").save(
            os.path.join(folder, "trial.json"))
        oracle = keras_tuner.oracles.RandomSearchOracle(objective="loss", max_trials=1)
        oracle._set_project_dir(folder, "search")
        oracle.save()
    return written


def check_tuner_json_writer() -> None:
    """`RuntimeError` unless entry 7's swap reaches every KerasTuner state write:
    `keras_tuner.src.utils.save_json(path, obj)` exists, no KerasTuner module holds the
    function itself, `Tuner._build_and_fit_model` looks it up in `utils`, and a trial's and an
    oracle's `save` go through the swapped-in writer."""
    from keras_tuner.src.engine import tuner

    utils = _tuner_utils()
    save_json = getattr(utils, "save_json", None)
    if save_json is None or list(inspect.signature(save_json).parameters) != ["path", "obj"]:
        raise _changed("keras_tuner.src.utils.save_json(path, obj) is gone or changed")
    holders = _own_references(save_json)
    if holders:
        raise _changed(f"{', '.join(holders)} hold save_json themselves: swapping "
                       "keras_tuner.src.utils.save_json no longer reaches their writes")
    if "save_json" not in tuner.Tuner._build_and_fit_model.__code__.co_names:
        raise _changed("Tuner._build_and_fit_model no longer writes build_config.json "
                       "through utils.save_json")
    written = _saved_through_swap()
    if written != ["trial.json", "oracle.json"] or utils.save_json is not save_json:
        raise _changed(f"a trial's and an oracle's save asked the swapped-in writer for "
                       f"{written} (expected ['trial.json', 'oracle.json']), or the swap "
                       "was not undone")
