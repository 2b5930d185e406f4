"""How much of a training step the input pipeline costs, for any app or `keras-dl train` run.

Issue 35, item 6: input pipelines must never be the bottleneck. This runs a program (an app, or
`keras-dl train ...`) with Keras' `Model.fit` wrapped. At each of the first `--fits` calls of
`fit`, before the program's own training, it times runs of training steps (about `--seconds`
worth each, or `--steps`) on the same model in two ways:

- *real*: the batches come from the program's own input pipeline (its `tf.data` dataset, or
  the dataset Keras makes of its arrays or generator), as in the program's `fit`;
- *cached*: the same number of batches, drawn once from that pipeline and replayed from memory
  (`Dataset.take(steps).cache()`, filled before the clock starts), so the pipeline's work —
  decoding, shuffling, augmentation, batching — is gone and only handing a batch over is left.

Each way runs as `fit` runs: one iterator for many steps (a pipeline that draws a whole epoch at
its first batch pays that once an epoch, not at every timing), the first few steps left out,
the rest cut into `--rounds` runs, half of them before the other way's and half after. The
wait share is `1 - cached / real` of the best (lowest) run of each (on
the 2-core machines here a run of steps sometimes takes 1.5-2x its usual time for reasons of
its own, whichever pipeline feeds it; the best of five rounds is the usual time): the
part of the step that would vanish if the data were free, whether the step waits on an empty
prefetch buffer or the pipeline's threads take cores from the step (on 2 cores that is the
usual cost). Near 0: the pipeline keeps up. Issue 35's bar is 5 %.

After the measured fits the program stops (the steps timed here have changed its model: what
it would go on to report is not its real result). Output: one line per measured `fit` and,
with `--output`, a JSON file.

    python bench/input_wait.py [--seconds 1.5 | --steps N] [--rounds 5] [--fits 1] [--output FILE] \
        -- apps/lenet5_fashion_mnist.py --output /tmp/lenet5
    python bench/input_wait.py -- -m keras_dl.cli train lenet5 --run-dir /tmp/run
    python bench/input_wait.py --survey [--output bench/output/input_wait.json]
"""

from __future__ import annotations

import json
import os
import platform
import runpy
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from keras_dl.cli_inputs import ArgumentParser  # one-line usage errors, exit 2

ROOT = Path(__file__).resolve().parent.parent
BAR = 0.05
MIN_STEPS, MAX_STEPS = 10, 400

# What `--survey` measures: every app that trains through Keras' `fit`, with its default
# settings (its output redirected to a temporary directory), and `keras-dl train` for a
# classifier with and without augmentation. Apps that train without `fit` (numpy by hand, or
# no training at all) are listed in SURVEY_SKIPPED with the reason.
SURVEY = {
    "keras-dl train lenet5": ["-m", "keras_dl.cli", "train", "lenet5", "--set", "modern=true",
                              "--run-dir", "{tmp}/run"],
    "keras-dl train lenet5 --augment flip,crop=2": [
        "-m", "keras_dl.cli", "train", "lenet5", "--set", "modern=true", "--augment",
        "flip,crop=2", "--run-dir", "{tmp}/run"],
    "keras-dl train resnet20 --augment flip,crop=4": [
        "-m", "keras_dl.cli", "train", "resnet20", "--augment", "flip,crop=4",
        "--run-dir", "{tmp}/run"],
    "keras-dl train text_rnn_classifier": [
        "-m", "keras_dl.cli", "train", "text_rnn_classifier", "--dataset", "pang_lee_polarity",
        "--run-dir", "{tmp}/run"],
    "keras-dl train word2vec": ["-m", "keras_dl.cli", "train", "word2vec", "--dataset",
                                "wiki_sample", "--optimizer", "sgd", "--run-dir", "{tmp}/run"],
}
APPS_WITH_FIT = (
    "adversarial_examples", "autoencoders", "cnn_zoo", "domain_adaptation", "gans",
    "generative_dbn", "image_to_image", "initialisation", "lenet5_fashion_mnist",
    "lenet5_published", "losses", "mlp_first_layer", "multitask", "pretraining_table",
    "prototypical_networks", "rbm_digits", "rbm_features", "rbm_image", "regularisation",
    "semantic_hashing", "seq2seq_translation", "sequence_models", "text_classification",
    "transfer_learning", "vae_latent_space", "vanishing_gradients", "word2vec",
)
for _app in APPS_WITH_FIT:
    SURVEY[f"apps/{_app}.py"] = [f"apps/{_app}.py", "--output", "{tmp}/out"]
SURVEY_SKIPPED = {
    "apps/backprop_by_hand.py": "NumPy backpropagation by hand, no input pipeline",
    "apps/pooling_and_convolution.py": "no training (filters applied to images)",
    "apps/tiny_example.py": "one network, one example, by hand",
    "apps/universal_approximation.py": "fits a 1-D function by hand, no input pipeline",
}


class _Measured(BaseException):
    """Raised after the last measured `fit` to stop the program (apps catch `Exception`)."""


def _time_chunks(model, dataset, steps, chunks, warm):
    """One `fit` of `warm + chunks * steps` steps on `dataset` (one iterator throughout, as
    in training); the seconds of each of the `chunks` runs of `steps` after the first `warm`
    (tracing, and a pipeline's start: a first batch that makes a whole epoch, say)."""
    import keras

    marks = {}

    class Clock(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            marks[batch + 1] = time.perf_counter()  # steps done so far

    model.fit(dataset, steps_per_epoch=warm + chunks * steps, epochs=1, verbose=0,
              shuffle=False, callbacks=[Clock()])
    done = sorted(marks)

    def at(step):  # the first mark at or after `step` steps (executions run several)
        return marks[next(mark for mark in done if mark >= step)]

    return [at(warm + (chunk + 1) * steps) - at(warm + chunk * steps)
            for chunk in range(chunks)]


def measure_fit(model, fit_args, fit_kwargs, *, steps, rounds, seconds):
    """Times `rounds` runs of `steps` training steps of `model` (None: as many as take about
    `seconds`) on the pipeline `fit(*fit_args, **fit_kwargs)` would read, and as many on the
    same batches cached; returns a dict of figures."""
    from keras.src.trainers.data_adapters import get_data_adapter

    names = ("x", "y", "batch_size", "epochs", "verbose", "callbacks", "validation_split",
             "validation_data", "shuffle", "class_weight", "sample_weight")
    given = dict(zip(names, fit_args))
    given.update(fit_kwargs)
    x, y = given.get("x"), given.get("y")
    sample_weight = given.get("sample_weight")
    if given.get("validation_split"):  # as fit does: the split comes off the end, unshuffled
        from keras.src.trainers.data_adapters.array_slicing import train_validation_split
        (x, y, sample_weight), _ = train_validation_split(
            (x, y, sample_weight), validation_split=given["validation_split"])
    adapter = get_data_adapter(
        x=x, y=y, sample_weight=sample_weight,
        batch_size=given.get("batch_size") or (None if _is_dataset(x) else 32),
        steps_per_epoch=None, shuffle=False if _is_dataset(x) else given.get("shuffle", True),
        class_weight=given.get("class_weight"))
    real = adapter.get_tf_dataset().repeat()
    execution = int(getattr(model, "steps_per_execution", 1) or 1)
    warm = execution * max(1, -(-5 // execution))  # whole executions
    if steps is None:  # enough steps for about `seconds` a timing
        (estimate,) = _time_chunks(model, real, warm, 1, warm)  # also traces the step
        steps = int(min(MAX_STEPS, max(MIN_STEPS, round(seconds * warm / estimate))))
    steps = execution * max(1, -(-steps // execution))
    cached = real.take(steps).cache()
    for _ in cached:  # fill the cache before any clock starts
        pass
    cached = cached.repeat()
    real_times, cached_times = [], []
    for half in (rounds - rounds // 2, rounds // 2):  # real, cached, real, cached
        if half:
            real_times += _time_chunks(model, real, steps, half, warm)
            cached_times += _time_chunks(model, cached, steps, half, warm)
    best_real, best_cached = min(real_times), min(cached_times)
    return {
        "model": model.name,
        "steps": steps,
        "steps_per_execution": execution,
        "real_ms_per_step": round(1000 * best_real / steps, 3),
        "cached_ms_per_step": round(1000 * best_cached / steps, 3),
        "wait_share": round(max(0.0, 1 - best_cached / best_real), 4),
        "real_seconds": [round(t, 3) for t in real_times],
        "cached_seconds": [round(t, 3) for t in cached_times],
    }


def _is_dataset(x) -> bool:
    import tensorflow as tf

    return isinstance(x, tf.data.Dataset) or not hasattr(x, "__len__")


def run_measured(program: list[str], *, steps, rounds: int, fits: int,
                 seconds: float = 1.5) -> list[dict]:
    """Runs `program` (a script path and its arguments, or `-m module ...`) in this process
    with `keras.Model.fit` wrapped; returns the figures of its first `fits` calls of `fit`."""
    import keras

    measured: list[dict] = []
    original_fit = keras.Model.fit
    timing = []  # non-empty while our own timing fits run

    def fit(self, *args, **kwargs):
        if timing or len(measured) >= fits:
            return original_fit(self, *args, **kwargs)
        timing.append(True)
        try:
            figures = measure_fit(self, args, kwargs, steps=steps, rounds=rounds,
                                  seconds=seconds)
        finally:
            timing.clear()
        figures["fit"] = len(measured) + 1
        measured.append(figures)
        print(f"input_wait: fit {figures['fit']} ({figures['model']}): real "
              f"{figures['real_ms_per_step']} ms/step, cached {figures['cached_ms_per_step']} "
              f"ms/step, wait share {100 * figures['wait_share']:.1f} %", flush=True)
        if len(measured) >= fits:
            raise _Measured
        return original_fit(self, *args, **kwargs)

    keras.Model.fit = fit
    saved_argv = sys.argv
    try:
        if program[0] == "-m":
            sys.argv = [program[1], *program[2:]]
            runpy.run_module(program[1], run_name="__main__", alter_sys=True)
        else:
            sys.argv = list(program)
            runpy.run_path(program[0], run_name="__main__")
    except _Measured:
        pass
    except SystemExit as stop:
        if stop.code not in (0, None):
            raise
    finally:
        keras.Model.fit = original_fit
        sys.argv = saved_argv
    return measured


def machine() -> str:
    model = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.partition(":")[2].strip()
                break
    except OSError:
        pass
    return f"{model}, {os.cpu_count()} cores"


def survey(args) -> dict:
    """Runs every SURVEY entry in its own process (the fresh start a user's run has)."""
    rows = {}
    for name, program in SURVEY.items():
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp) / "figures.json"
            timing = ["--steps", str(args.steps)] if args.steps else ["--seconds",
                                                                      str(args.seconds)]
            command = [sys.executable, __file__, *timing, "--rounds", str(args.rounds),
                       "--fits", str(args.fits), "--output", str(out), "--",
                       *[part.format(tmp=tmp) for part in program]]
            start = time.perf_counter()
            done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False)
            seconds = time.perf_counter() - start
            if done.returncode != 0 or not out.exists():
                tail = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["?"]
                rows[name] = {"error": f"exit {done.returncode}: {tail[0]}"}
            else:
                rows[name] = json.loads(out.read_text())["fits"]
            for fit in rows[name] if isinstance(rows[name], list) else []:
                fit["process_seconds"] = round(seconds, 1)
        print(f"{name}: {_summary(rows[name])}", flush=True)
    return rows


def _summary(fits) -> str:
    if isinstance(fits, dict):
        return fits["error"]
    if not fits:
        return "no fit called"
    return "; ".join(f"{f['model']} {100 * f['wait_share']:.1f} % "
                     f"({f['real_ms_per_step']} / {f['cached_ms_per_step']} ms)" for f in fits)


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    program = []
    if "--" in argv:
        split = argv.index("--")
        argv, program = argv[:split], argv[split + 1:]
    parser = ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=None,
                        help="training steps per timing (default: about --seconds' worth)")
    parser.add_argument("--seconds", type=float, default=1.5,
                        help="the length of a timing when --steps is not given (default 1.5)")
    parser.add_argument("--rounds", type=int, default=5, help="alternating timings of each")
    parser.add_argument("--fits", type=int, default=1, help="how many fit calls to measure")
    parser.add_argument("--survey", action="store_true",
                        help="measure every app and keras-dl train configuration")
    parser.add_argument("--output", default=None, help="write the figures as JSON here")
    args = parser.parse_args(argv)
    if not args.seconds > 0:
        parser.error(f"--seconds must be a positive number, got {args.seconds}")
    for name in ("steps", "rounds", "fits"):
        if getattr(args, name) is not None and getattr(args, name) < 1:
            parser.error(f"--{name} must be a positive integer, got {getattr(args, name)}")
    if args.survey == bool(program):
        parser.error("give either --survey or a program after --, e.g. "
                     "-- apps/lenet5_fashion_mnist.py")
    if program[:1] == ["-m"] and len(program) < 2:
        parser.error("-m needs a module, e.g. -- -m keras_dl.cli train lenet5")
    if program and program[0] != "-m" and not Path(program[0]).is_file():
        parser.error(f"no such program {program[0]!r}; give a script path or -m MODULE")
    result = {"machine": machine(), "rounds": args.rounds, "bar": BAR}
    if args.survey:
        result["runs"] = survey(args)
        result["skipped"] = SURVEY_SKIPPED
    else:
        if program[0] == "-m":  # the module runs from the repository root, as in its docs
            os.chdir(ROOT)
        result["program"] = program
        result["fits"] = run_measured(program, steps=args.steps, rounds=args.rounds,
                                      fits=args.fits, seconds=args.seconds)
    if args.output:
        Path(args.output).parent.mkdir(parents=True, exist_ok=True)
        Path(args.output).write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
