"""LeNet-5 (modern) on Fashion-MNIST: keras_dl's `keras-dl train` path against PyTorch on the CPU.

The same network on both sides (zero-pad 2, conv 6@5 ReLU, max-pool 2, conv 16@5 ReLU, max-pool
2, conv 120@5 ReLU, dense 84 ReLU, dense 10; 61,706 parameters), Adam 1e-3, batch 128, the same
54,000 training / 6,000 validation images. Contenders:

- `keras_dl`: `keras_dl.training.train("lenet5", ...)`, the recipe behind `keras-dl train`, at
  the same constant rate as PyTorch and otherwise with its defaults (float32, 32 batches per
  compiled call of `fit`, its tf.data pipeline, its callbacks, checkpoints and run directory);
- `keras_dl_bf16`: the same with `precision="mixed_bfloat16"`;
- `keras_dl_spe1`, `keras_dl_bf16_spe1`: those two with `steps_per_execution=1`
  (`keras-dl train --steps-per-execution 1`: a return to Python after every batch, Keras'
  own default and this path's before 2026-12-08);
- `torch`: PyTorch eager (CPU build), the usual loop: a shuffled index each epoch, batches
  sliced from one preloaded tensor, `zero_grad` / `backward` / `step`.

Every contender runs in its own process (so memory is its own and no thread pool is shared), in
turn, the order reversed every other round. A run trains `--epochs` epochs; training samples/s
is the median over the epochs after the first (the first includes tracing and warm-up), timed
from the epoch's start to its last training batch (validation excluded). Inference samples/s is
the second of two passes over the 10,000 test images at batch 1,024. Memory: the process's peak
resident set (ru_maxrss), its resident set once data and framework are loaded (before the model
is built), and the difference, the memory training itself adds. Reported: the median over
rounds of each figure, and keras_dl / torch ratios.

    pip install torch        # optional, for this benchmark only; on Linux the CPU build is
                             # pip install torch --index-url https://download.pytorch.org/whl/cpu
    python bench/lenet_vs_pytorch.py [--rounds 3] [--epochs 3] [--limit 60000]
        [--contenders keras_dl,keras_dl_bf16,torch] [--threads N] [--output FILE]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from keras_dl.cli_inputs import ArgumentParser  # one-line usage errors, exit 2

CONTENDERS = ("keras_dl", "keras_dl_bf16", "keras_dl_spe1", "keras_dl_bf16_spe1", "torch")
SPE1 = "_spe1"  # a contender name's suffix: one batch per compiled call
BATCH = 128
INFERENCE_BATCH = 1024
LEARNING_RATE = 1e-3
PARAMETERS = 61706
CPU_FLAGS = ("avx2", "avx512f", "avx512_bf16", "amx_bf16", "amx_tile")


def machine() -> dict:
    """The CPU's model name and the vector / matrix flags that decide these figures."""
    model, flags = platform.processor() or platform.machine(), set()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            key, _, value = line.partition(":")
            if key.strip() == "model name":
                model = value.strip()
            elif key.strip() == "flags":
                flags = set(value.split())
    except OSError:
        pass
    return {"cpu": model, "cores": os.cpu_count(),
            "flags": [flag for flag in CPU_FLAGS if flag in flags]}


def rss_mib() -> float:
    """This process's resident set now, MiB."""
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def split(limit):
    from keras_dl import data

    x, y = data.load_numpy("fashion_mnist", "train", limit=limit)
    x_fit, y_fit, x_val, y_val = data.train_validation_split(x, y, 0.1, seed=0)
    x_test, y_test = data.load_numpy("fashion_mnist", "test")
    return x_fit, y_fit, x_val, y_val, x_test, y_test


# === one contender, in its own process ==========================================================


def run_keras_dl(args, precision, steps_per_execution=None):
    from keras_dl.quiet import quiet_tensorflow

    quiet_tensorflow()
    import keras

    from keras_dl.training import train

    x_fit, _, _, _, x_test, _ = split(args.limit)
    loaded = rss_mib()

    class Timer(keras.callbacks.Callback):
        """Each epoch's training time: from its start to its last training batch."""

        def __init__(self):
            super().__init__()
            self.seconds, self.start, self.last = [], None, None

        def on_epoch_begin(self, epoch, logs=None):
            self.start = self.last = time.perf_counter()

        def on_train_batch_end(self, batch, logs=None):
            self.last = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            self.seconds.append(self.last - self.start)

    timer = Timer()
    with tempfile.TemporaryDirectory() as run_dir:
        result = train("lenet5", dataset="fashion_mnist", run_dir=run_dir, epochs=args.epochs,
                       batch_size=BATCH, optimizer="adam", learning_rate=LEARNING_RATE,
                       lr_schedule="constant", patience=args.epochs, limit=args.limit,
                       precision=precision, seed=0, verbose=0, extra_callbacks=[timer],
                       builder_kwargs={"modern": True},
                       **({"steps_per_execution": steps_per_execution}
                          if steps_per_execution else {}))
    model = result.model
    assert model.count_params() == PARAMETERS, model.count_params()
    inference = []
    for _ in range(2):
        start = time.perf_counter()
        model.predict(x_test, batch_size=INFERENCE_BATCH, verbose=0)
        inference.append(time.perf_counter() - start)
    return {"epoch_seconds": timer.seconds, "train_samples": len(x_fit),
            "inference_seconds": inference[-1], "test_samples": len(x_test),
            "test_accuracy": result.metrics["test_accuracy"], "loaded_rss_mib": loaded}


def torch_lenet5():
    from torch import nn

    return nn.Sequential(
        nn.ZeroPad2d(2),
        nn.Conv2d(1, 6, 5), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(16, 120, 5), nn.ReLU(),
        nn.Flatten(),
        nn.Linear(120, 84), nn.ReLU(),
        nn.Linear(84, 10),
    )


def run_torch(args):
    import torch

    x_fit, y_fit, _, _, x_test, y_test = split(args.limit)
    # NHWC with one channel is NCHW in the same memory: no copy
    x_fit = torch.from_numpy(x_fit).reshape(-1, 1, 28, 28)
    y_fit = torch.from_numpy(y_fit.astype("int64"))
    x_test = torch.from_numpy(x_test).reshape(-1, 1, 28, 28)
    y_test = torch.from_numpy(y_test.astype("int64"))
    loaded = rss_mib()
    torch.manual_seed(0)
    model = torch_lenet5()
    assert sum(p.numel() for p in model.parameters()) == PARAMETERS
    optimizer = torch.optim.Adam(model.parameters(), lr=LEARNING_RATE)
    loss_fn = torch.nn.CrossEntropyLoss()
    epoch_seconds = []
    for _ in range(args.epochs):
        model.train()
        start = time.perf_counter()
        order = torch.randperm(len(x_fit))
        for first in range(0, len(x_fit), BATCH):
            index = order[first:first + BATCH]
            optimizer.zero_grad(set_to_none=True)
            loss = loss_fn(model(x_fit[index]), y_fit[index])
            loss.backward()
            optimizer.step()
        epoch_seconds.append(time.perf_counter() - start)
    model.eval()
    inference = []
    with torch.inference_mode():
        for _ in range(2):
            start = time.perf_counter()
            predictions = [model(x_test[first:first + INFERENCE_BATCH]).argmax(1)
                           for first in range(0, len(x_test), INFERENCE_BATCH)]
            inference.append(time.perf_counter() - start)
    accuracy = float((torch.cat(predictions) == y_test).float().mean())
    return {"epoch_seconds": epoch_seconds, "train_samples": len(x_fit),
            "inference_seconds": inference[-1], "test_samples": len(x_test),
            "test_accuracy": accuracy, "loaded_rss_mib": loaded,
            "torch": torch.__version__, "torch_threads": torch.get_num_threads()}


def child(args):
    """Run one contender and print its figures as one JSON line."""
    if args.threads:
        os.environ["OMP_NUM_THREADS"] = str(args.threads)
    if args.child == "torch":
        import torch

        if args.threads:
            torch.set_num_threads(args.threads)
        figures = run_torch(args)
    else:
        if args.threads:
            import tensorflow as tf

            tf.config.threading.set_intra_op_parallelism_threads(args.threads)
        figures = run_keras_dl(
            args, "mixed_bfloat16" if args.child.startswith("keras_dl_bf16") else "float32",
            1 if args.child.endswith(SPE1) else None)
    rates = [figures["train_samples"] / s for s in figures["epoch_seconds"][1:]]
    figures.update(train_samples_per_second=statistics.median(rates),
                   inference_samples_per_second=figures["test_samples"]
                   / figures["inference_seconds"],
                   peak_rss_mib=peak_rss_mib())
    figures["training_rss_mib"] = figures["peak_rss_mib"] - figures["loaded_rss_mib"]
    print("RESULT " + json.dumps(figures))


# === the driver ==================================================================================


def run_contender(name, args):
    command = [sys.executable, __file__, "--child", name, "--contenders", name,
               "--epochs", str(args.epochs)]
    if args.limit:
        command += ["--limit", str(args.limit)]
    if args.threads:
        command += ["--threads", str(args.threads)]
    done = subprocess.run(command, capture_output=True, text=True)
    lines = [line for line in done.stdout.splitlines() if line.startswith("RESULT ")]
    if done.returncode or not lines:
        raise RuntimeError(f"{name} failed (exit {done.returncode}):\n{done.stderr[-3000:]}")
    return json.loads(lines[-1][len("RESULT "):])


SUMMARISED = ("train_samples_per_second", "inference_samples_per_second", "peak_rss_mib",
              "loaded_rss_mib", "training_rss_mib", "test_accuracy")


def main(argv=None):
    parser = ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=3,
                        help="epochs per run; the first is warm-up (at least 2)")
    parser.add_argument("--limit", type=int, default=None, help="training images (default: all)")
    parser.add_argument("--contenders", default=",".join(CONTENDERS),
                        help=f"comma-separated, from {', '.join(CONTENDERS)}")
    parser.add_argument("--threads", type=int, default=None,
                        help="intra-op threads for every contender (default: each framework's)")
    parser.add_argument("--output", default=None, help="also write the report here (JSON)")
    parser.add_argument("--child", choices=CONTENDERS, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.rounds < 1:
        parser.error(f"--rounds must be a positive integer, got {args.rounds}")
    if args.epochs < 2:
        parser.error(f"--epochs must be at least 2 (the first is warm-up), got {args.epochs}")
    if args.limit is not None and args.limit < 10 * BATCH:
        parser.error(f"--limit must be at least {10 * BATCH} training images, got {args.limit}")
    if args.threads is not None and args.threads < 1:
        parser.error(f"--threads must be a positive integer, got {args.threads}")
    contenders = args.contenders.split(",")
    for name in contenders:
        if name not in CONTENDERS:
            parser.error(f"unknown contender {name!r}; allowed: {', '.join(CONTENDERS)}")
    if "torch" in contenders:
        try:
            import torch  # noqa: F401
        except ImportError:
            parser.error("the torch contender needs PyTorch: pip install torch")
    if args.child:
        child(args)
        return 0

    runs = {name: [] for name in contenders}
    for round_ in range(args.rounds):
        for name in contenders if round_ % 2 == 0 else contenders[::-1]:
            runs[name].append(run_contender(name, args))
            figures = runs[name][-1]
            print(f"round {round_ + 1} {name:20} train {figures['train_samples_per_second']:7.0f}"
                  f" samples/s  inference {figures['inference_samples_per_second']:7.0f}"
                  f" samples/s  peak RSS {figures['peak_rss_mib']:6.0f} MiB  test accuracy "
                  f"{figures['test_accuracy']:.4f}", flush=True)
    summary = {name: {key: statistics.median(run[key] for run in values) for key in SUMMARISED}
               for name, values in runs.items()}
    if "torch" in summary:
        for name in contenders:
            if name != "torch":
                summary[name]["vs_torch"] = {
                    key: summary[name][key] / summary["torch"][key]
                    for key in ("train_samples_per_second", "inference_samples_per_second",
                                "peak_rss_mib", "training_rss_mib")}
    import keras
    import tensorflow as tf

    report = {"machine": machine(), "tensorflow": tf.__version__, "keras": keras.__version__,
              "settings": {"rounds": args.rounds, "epochs": args.epochs, "limit": args.limit,
                           "threads": args.threads, "batch": BATCH,
                           "learning_rate": LEARNING_RATE},
              "summary": summary, "runs": runs}
    if "torch" in runs:
        report["torch"] = runs["torch"][0]["torch"]
        report["torch_threads"] = runs["torch"][0]["torch_threads"]
    print(f"{'median':20} {'train samples/s':>16} {'inference samples/s':>20} "
          f"{'peak RSS MiB':>13} {'of it training':>15}   vs torch (train / infer / peak / "
          f"training memory)")
    for name, figures in summary.items():
        ratios = figures.get("vs_torch")
        versus = (" / ".join(f"{ratios[k]:.2f}×" for k in ratios) if ratios else "")
        print(f"{name:20} {figures['train_samples_per_second']:16.0f} "
              f"{figures['inference_samples_per_second']:20.0f} "
              f"{figures['peak_rss_mib']:13.0f} {figures['training_rss_mib']:15.0f}   {versus}")
    print(f"machine: {report['machine']['cpu']}, {report['machine']['cores']} cores, "
          f"flags {' '.join(report['machine']['flags']) or 'none of ' + ', '.join(CPU_FLAGS)}")
    if args.output:
        Path(args.output).write_text(json.dumps(report, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
