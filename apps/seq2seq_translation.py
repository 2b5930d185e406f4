"""Sequence-to-sequence translation of dates written by people into ISO 8601: exact-match
accuracy of greedy and beam-search decoding, without attention and with Luong's and
Bahdanau's, and where the attention looks.

The data is `dates_to_iso` (20,000 / 2,000 / 2,000 distinct source strings such as
"Thu, 4 Mar 2021", "the 4th of March 2021" or "04.03.2021", each with its answer
"2021-03-04"; `keras_dl.data.translation`). Each model is the registered `seq2seq` (a
character-level LSTM encoder-decoder, 128 units) trained by `keras_dl.training.train`, the
path `keras-dl train seq2seq --dataset dates_to_iso` takes, with teacher forcing; it is then
tested by decoding the 2,000 test sources: greedy, and beam search of width 4. A translation
counts only when every character is right.

The issue's bar: at least 99 % exact match on the test set with attention, and beam search
never worse than greedy on the same model (it takes greedy's translation as one of its
candidates, so it never returns one the model scores lower: the app counts the test sources
where beam's log-probability is below greedy's, which must be none).

Writes `attention.png` (the attention weights of a few test sources, source characters ×
output characters, for each attention), `results.json` and one run directory per model to
`apps/output/seq2seq_translation/`. The default run trains three models for 12 epochs each:
about 30 minutes on 2 busy CPU cores; `--quick` trains on 300 pairs for 1 epoch (a smoke
run, nothing near the bar).

    python apps/seq2seq_translation.py [--epochs 12] [--quick]
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import matplotlib

from keras_dl.cli_inputs import ArgumentParser, positive_int

matplotlib.use("Agg")

from keras_dl.quiet import quiet_tensorflow  # noqa: E402

quiet_tensorflow()

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from keras_dl import data  # noqa: E402
from keras_dl.models.seq2seq_decoding import attention_weights, decode  # noqa: E402
from keras_dl.training import train  # noqa: E402

DATASET = "dates_to_iso"
ATTENTIONS = {"no attention": "none", "Luong (multiplicative)": "luong",
              "Bahdanau (additive)": "bahdanau"}
BAR = {"exact_match_with_attention": 0.99, "beam_never_worse_than_greedy": True,
       "source": "issue 30's quality bar (the dataset is generated: there is no published "
                 "figure on it)"}
BEAM_WIDTH = 4
FIGURE_EXAMPLES = ("Thursday, March 4, 2021", "the 23rd of September 1999", "04.03.2021")


def parse_args(argv=None):
    parser = ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=positive_int, default=12,
                        help="training epochs of each model (default 12)")
    parser.add_argument("--batch-size", type=positive_int, default=128)
    parser.add_argument("--units", type=positive_int, default=128)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--quick", action="store_true",
                        help="300 training pairs, 1 epoch, 16 units: a smoke run")
    parser.add_argument("--output", default="apps/output/seq2seq_translation")
    return parser.parse_args(argv)


def train_one(attention, args, output):
    """The trained model and its test scores (greedy and beam exact match)."""
    settings = {"epochs": 1, "limit": 300} if args.quick else {"epochs": args.epochs}
    result = train("seq2seq", dataset=DATASET, run_dir=output / f"run_{attention}",
                   overwrite=True, verbose=0 if args.quick else 2, seed=args.seed,
                   batch_size=args.batch_size, learning_rate=3e-3,
                   builder_kwargs={"attention": attention,
                                   "units": 16 if args.quick else args.units}, **settings)
    return result


def beam_against_greedy(model, sources):
    """How the two decodings compare on `sources`: the log-probabilities the model gives
    their translations, and the sources where beam's is below greedy's."""
    greedy, greedy_scores = decode(model, sources, mode="greedy", with_scores=True)
    beam, beam_scores = decode(model, sources, mode="beam", beam_width=BEAM_WIDTH,
                               with_scores=True)
    worse = int(np.sum(beam_scores < greedy_scores - 1e-4))
    return {"mean_log_probability_greedy": float(np.mean(greedy_scores)),
            "mean_log_probability_beam": float(np.mean(beam_scores)),
            "sources_where_beam_scores_below_greedy": worse,
            "sources_where_beam_and_greedy_differ": int(sum(g != b for g, b in zip(greedy,
                                                                                    beam)))}


def plot_attention(models, path):
    """Attention weights (output characters × source characters) of a few sources."""
    fig, axes = plt.subplots(len(models), len(FIGURE_EXAMPLES),
                             figsize=(4.2 * len(FIGURE_EXAMPLES), 3.2 * len(models)),
                             squeeze=False)
    for row, (label, model) in enumerate(models.items()):
        for col, (source, output, weights) in enumerate(attention_weights(model,
                                                                          FIGURE_EXAMPLES)):
            ax = axes[row, col]
            ax.imshow(weights, cmap="viridis", aspect="auto", vmin=0, vmax=1)
            ax.set_xticks(range(len(source)), [c if c != " " else "␣" for c in source],
                          fontsize=7)
            ax.set_yticks(range(len(output)), [c if c != "[END]" else "$" for c in output],
                          fontsize=7)
            ax.set_title(f"{label}\n{''.join(source)!r}", fontsize=8)
    fig.suptitle("Attention weights: output character (rows) over source characters")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv=None):
    args = parse_args(argv)
    output = Path(args.output)
    output.mkdir(parents=True, exist_ok=True)
    sources, _ = data.load_numpy(DATASET, "test", limit=300 if args.quick else None)
    results, attending = {}, {}
    for label, attention in ATTENTIONS.items():
        started = time.perf_counter()
        run = train_one(attention, args, output)
        metrics = run.metrics
        results[label] = {
            "attention": attention,
            "exact_match_greedy": metrics["test_exact_match_greedy"],
            "exact_match_beam": metrics["test_exact_match_beam"],
            "character_accuracy_greedy": metrics["test_character_accuracy"],
            "test_loss": metrics["test_loss"],
            "epochs_run": metrics["epochs_run"],
            "parameters": int(run.model.count_params()),
            "seconds": round(time.perf_counter() - started, 1),
            **beam_against_greedy(run.model, sources),
        }
        if attention != "none":
            attending[label] = run.model
        found = results[label]
        print(f"{label:24s} exact match: greedy {found['exact_match_greedy']:.4f}, beam "
              f"{found['exact_match_beam']:.4f}; beam below greedy on "
              f"{found['sources_where_beam_scores_below_greedy']} sources")
    plot_attention(attending, output / "attention.png")
    best = max(results[label]["exact_match_beam"] for label in attending)
    record = {
        "dataset": DATASET, "quick": args.quick, "epochs": 1 if args.quick else args.epochs,
        "batch_size": args.batch_size, "beam_width": BEAM_WIDTH, "results": results,
        "bar": BAR,
        "bar_met": {
            "exact_match_with_attention": best >= BAR["exact_match_with_attention"],
            "beam_never_worse_than_greedy": all(
                r["sources_where_beam_scores_below_greedy"] == 0
                and r["exact_match_beam"] >= r["exact_match_greedy"] for r in results.values()),
        },
    }
    (output / "results.json").write_text(json.dumps(record, indent=2) + "\n")
    met = {key: "met" if value else "NOT met" for key, value in record["bar_met"].items()}
    print(f"bar (issue 30): >= {BAR['exact_match_with_attention']:.0%} exact match with "
          f"attention: ours {best:.4f} ({met['exact_match_with_attention']}); beam never "
          f"worse than greedy: {met['beam_never_worse_than_greedy']}")
    print(f"attention.png and results.json in {output}")
    return record


if __name__ == "__main__":
    main()
