"""Determinism: on CPU, the same seed gives the same weights and metrics, for every task.

Each task (`keras_dl.tasks`) has one case below: its cheapest registered model, configured
so that every source of randomness the task uses is exercised (dropout, input noise,
augmentation, batch-norm recalibration, corruption, Gibbs sampling, the VAE's sampler, greedy
pre-training). Each case is trained three times through `keras_dl.training.train`:

- run A, in this test process, with seed 3 (after whatever the suite ran before it);
- run B, in a fresh Python process (its own hash seed, no state shared with this one), with
  seed 3;
- run C, in this process, with seed 4.

A and B must agree exactly: every variable of the model (`np.array_equal`, non-trainable
ones such as batch-norm statistics, persistent chains and seed-generator states included),
`history.csv` byte for byte and `metrics.json` but for its wall-clock time. C must differ
from A, or the comparison could not fail. The fresh process trains every case of the default
suite at once, started when the first case asks for it and running beside this process.

Bugs caught: a random draw not tied to the run's seed (an unseeded initializer, shuffle,
augmentation, noise or sampler), state carried from one run to the next in a process (a
global counter or generator not reset by the seed), an order that depends on Python's hash
seed, and the seed not reaching some part of the run at all (then C equals A).
"""

import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from keras_dl import registry, tasks, training

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SEED, OTHER_SEED = 3, 4
TIMEOUT = 300  # seconds for the fresh process to train every case

COMMON = {"dataset": "digits", "epochs": 2, "batch_size": 32, "limit": 160, "verbose": 0}

# task -> (model, builder_kwargs, other settings): the cheapest model of the task, with its
# random parts switched on
CASES = {
    "classification": ("mlp", {"hidden_units": [16], "batch_norm": True, "dropout": 0.25,
                               "input_noise": 0.1},
                       {"augment": "flip,translate=0.125"}),
    "classification_with_aux": ("googlenet", {"width_multiplier": 0.0625}, {}),
    "pretrained_classification": ("dbn", {"hidden_units": [6, 4]}, {"pretrain_epochs": 1}),
    "reconstruction": ("denoising_autoencoder", {"code_size": 3, "hidden_units": [6]}, {}),
    "unsupervised": ("rbm", {"units": 5}, {}),
    "variational_autoencoder": ("vae", {"latent_dim": 2, "hidden_units": [6]}, {}),
    "gan": ("gan", {"latent_dim": 4, "hidden_units": [8]}, {}),
    "image_translation": ("unet_translation", {"filters": 4, "depth": 2},
                          {"dataset": "fashion_mnist_edges", "limit": 64}),
    "image_translation_gan": ("pix2pix", {"filters": 4, "depth": 2},
                              {"dataset": "fashion_mnist_edges", "limit": 64}),
    "domain_adaptation": ("dann", {"features": "mlp", "feature_units": [8], "label_units": [8]},
                          {"dataset": "moons_shift"}),
    # a fresh source (dropout in the trunk, off in its inference mode; the head's on), one
    # head epoch then fine-tuning, on a few-labels class view
    "transfer": ("transfer", {"source": "mlp", "source_kwargs": {"hidden_units": [8],
                                                                 "dropout": 0.25},
                              "head_units": [4], "dropout": 0.25, "head_epochs": 1},
                 {"dataset": "digits:classes=0-4,per_class=20,seed=1"}),
    # the alternating rule (each task's batches shuffled by the seed, the heads in turn),
    # dropout in the trunk
    "multitask": ("multitask", {"trunk_kwargs": {"hidden_units": [8], "dropout": 0.25},
                                "mode": "alternating"},
                  {"dataset": "fashion_mnist_groups"}),
    # episodes drawn from the seed (new ones each epoch), batch norm in the embedding
    "episodic": ("prototypical_network",
                 {"filters": 4, "blocks": 2, "train_ways": 3, "test_ways": 2, "shots": 1,
                  "queries": 1, "test_queries": 1, "episodes_per_epoch": 3,
                  "validation_episodes": 2, "test_episodes": 5},
                 {"dataset": "fewshot_rotations"}),
    # the vocabulary and idf learnt from the training split (its order ties broken the same
    # in every process), dropout
    "text_classification": ("bow_classifier", {"output_mode": "tf_idf", "ngrams": 2,
                                               "max_tokens": 400, "hidden_units": [8],
                                               "dropout": 0.25},
                            {"dataset": "pang_lee_polarity", "limit": 120}),
    # both vocabularies learnt from the training pairs, teacher-forced batches, and the test
    # split decoded greedily and by beam search
    "translation": ("seq2seq", {"units": 8, "embedding_dim": 4, "max_target_length": 10,
                                "attention": "bahdanau"},
                    {"dataset": "dates_to_iso", "limit": 120}),
    # the vocabulary and counts from the training documents, sub-sampling, shrunk windows,
    # noise words and the shuffle drawn from the seed each epoch, the held-out examples once
    "word_embedding": ("word2vec", {"dimension": 8, "window": 2, "negatives": 2,
                                    "vocabulary_size": 300, "min_count": 2},
                       {"dataset": "wiki_sample", "limit": 12, "batch_size": 512}),
}
# GoogLeNet's training model (three heads, nine inception modules) takes ~12 s to trace on
# 2 cores, per run; the GANs' and DANN's cases add two networks or a dataset to build each: they
# run with the apps (-m apps), outside the default suite's budget
LONG = {"classification_with_aux", "gan", "image_translation", "image_translation_gan",
        "domain_adaptation", "multitask",  # multitask: Fashion-MNIST to load, ~10 s a run
        "episodic",  # fewshot_rotations to make from Fashion-MNIST and the digits
        "transfer", "text_classification",  # trained in tests/test_transfer.py, test_text_models.py
        "translation",
        "word_embedding"}  # its test split decoded greedily and by beam search: graphs traced a run

FRESH = textwrap.dedent("""
    import json, sys
    import numpy as np
    from keras_dl import training

    cases, out = json.loads(sys.argv[1]), sys.argv[2]
    for task, (model, settings) in cases.items():
        result = training.train(model, run_dir=f"{out}/{task}", **settings)
        np.savez(f"{out}/{task}.npz", *[v.numpy() for v in result.model.weights])
""")


def _settings(task, seed):
    model, builder_kwargs, extra = CASES[task]
    return model, {**COMMON, **extra, "builder_kwargs": builder_kwargs, "seed": seed}


def _train_here(task, run_dir, seed):
    model, settings = _settings(task, seed)
    return training.train(model, run_dir=run_dir, **settings)


def _weights(model):
    return [variable.numpy() for variable in model.weights]


def _metrics(run_dir):
    metrics = json.loads((run_dir / "metrics.json").read_text())
    del metrics["train_seconds"]  # wall-clock time
    return metrics


class FreshProcess:
    """One Python process training some cases with `SEED`, started on the first request."""

    def __init__(self, out_dir):
        self.out_dir = out_dir
        self.processes = {}  # frozenset of tasks -> Popen
        self.outputs = {}  # frozenset of tasks -> what the process printed

    def _start(self, group):
        cases = {task: _settings(task, SEED) for task in sorted(group)}
        env = dict(os.environ, PYTHONPATH=ROOT, TF_CPP_MIN_LOG_LEVEL="2")
        env.pop("PYTHONHASHSEED", None)  # its own hash seed
        self.processes[group] = subprocess.Popen(
            [sys.executable, "-c", FRESH, json.dumps(cases), str(self.out_dir)],
            env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)

    def start(self, task):
        group = frozenset({task} if task in LONG else set(CASES) - LONG)
        if group not in self.processes:
            self._start(group)
        return group

    def run(self, task):
        """`(weights, run_dir)` of `task`'s run in the fresh process (waits for it)."""
        group = self.start(task)
        process = self.processes[group]
        if group not in self.outputs:
            try:
                self.outputs[group] = process.communicate(timeout=TIMEOUT)[0]
            except subprocess.TimeoutExpired:
                process.kill()
                pytest.fail(f"the fresh process took over {TIMEOUT} s:\n"
                            f"{process.communicate()[0][-3000:]}")
        assert process.returncode == 0, (
            f"the fresh process failed:\n{self.outputs[group][-3000:]}")
        with np.load(self.out_dir / f"{task}.npz") as saved:
            weights = [saved[f"arr_{i}"] for i in range(len(saved.files))]
        return weights, self.out_dir / task

    def close(self):
        for process in self.processes.values():
            if process.poll() is None:
                process.kill()
                process.communicate()


@pytest.fixture(scope="module")
def fresh(tmp_path_factory):
    runner = FreshProcess(tmp_path_factory.mktemp("fresh"))
    yield runner
    runner.close()


def test_every_task_has_a_determinism_case():
    # a new task (registered, or named by a registered model) fails here until it has a case
    used = {registry.model_info(name).task for name in registry.list_models()}
    assert set(tasks.list_tasks()) | used == set(CASES)
    for task, (model, _, _) in CASES.items():
        assert tasks.for_model(model).name == task, model


def _check_task(task, tmp_path, fresh):
    fresh.start(task)  # trains beside this process from now on
    a = _train_here(task, tmp_path / "a", SEED)
    c = _train_here(task, tmp_path / "c", OTHER_SEED)
    b_weights, b_dir = fresh.run(task)
    paths = [variable.path for variable in a.model.weights]
    a_weights = _weights(a.model)
    assert len(a_weights) == len(b_weights), paths
    unequal = [path for path, wa, wb in zip(paths, a_weights, b_weights)
               if not np.array_equal(wa, wb)]
    assert not unequal, f"same seed, different values in a fresh process: {unequal}"
    assert (tmp_path / "a" / "history.csv").read_text() == (b_dir / "history.csv").read_text()
    assert _metrics(tmp_path / "a") == _metrics(b_dir)
    assert any(not np.array_equal(wa, wc) for wa, wc in zip(a_weights, _weights(c.model))), (
        "seeds 3 and 4 gave the same weights: the seed does not reach the run")
    assert (tmp_path / "a" / "history.csv").read_text() != (tmp_path / "c" / "history.csv"
                                                           ).read_text()


@pytest.mark.xdist_group("determinism")  # one fresh process for the module, on one worker
@pytest.mark.parametrize("task", sorted(set(CASES) - LONG))
def test_same_seed_same_run(task, tmp_path, fresh):
    _check_task(task, tmp_path, fresh)


@pytest.mark.apps
@pytest.mark.parametrize("task", sorted(LONG))
def test_same_seed_same_run_long(task, tmp_path, fresh):
    _check_task(task, tmp_path, fresh)
