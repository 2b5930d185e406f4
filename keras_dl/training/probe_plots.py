"""Figures of a run's probes: one PNG per recorded statistic, a curve per layer over epochs.

`plot_probes(run_dir)` reads the CSVs that `keras_dl.training.probes`' callbacks wrote into
`run_dir/probes/` and draws, for each statistic that has values (a tanh-free network has no
saturation curve), the per-layer curves over epochs (epoch 0: at initialisation). Gradient
norms and update ratios span orders of magnitude and are drawn on a log scale. matplotlib is
imported here only, through its object API (no pyplot state, no display needed).
"""

from __future__ import annotations

import csv
import os
import tempfile
from pathlib import Path

from keras_dl.training.probe_callbacks import PROBE_DIR

MAX_LEGEND = 12
# probe → the statistics drawn, with their axis label and whether the axis is logarithmic
STATISTICS = {
    "activations": {"mean": ("mean activation", False),
                    "std": ("activation standard deviation", False),
                    "saturated": ("share of saturated values", False),
                    "dead": ("share of dead units", False)},
    "gradients": {"gradient_norm": ("‖∂L/∂W‖ (validation batch)", True)},
    "weights": {"weight_norm": ("‖W‖", False),
                "update_ratio": ("‖ΔW‖/‖W‖ since the previous measurement", True),
                "step_update_ratio": ("‖ΔW‖/‖W‖ of one step", True)},
}


def read_probe_csv(path) -> dict[str, dict[str, list[tuple[int, float]]]]:
    """`{statistic: {layer: [(epoch, value), ...]}}` from one probe CSV, empty cells skipped."""
    series: dict[str, dict[str, list[tuple[int, float]]]] = {}
    with Path(path).open() as stream:
        for row in csv.DictReader(stream):
            for column, cell in row.items():
                if column in ("epoch", "layer"):
                    continue
                try:
                    value = float(cell or "")
                except ValueError:
                    continue  # an empty cell, or a name column (the activation function)
                layers = series.setdefault(column, {})
                layers.setdefault(row["layer"], []).append((int(row["epoch"]), value))
    return series


def recorded_probes(run_dir) -> dict[str, Path]:
    """The probe CSVs in `run_dir/probes/`, by probe name; ValueError (one line) when none."""
    run_dir = Path(run_dir)
    found = {name: run_dir / PROBE_DIR / f"{name}.csv" for name in STATISTICS}
    found = {name: path for name, path in found.items() if path.is_file()}
    if not found:
        raise ValueError(
            f"no probes recorded in {str(run_dir)!r} (no {PROBE_DIR}/activations.csv, "
            "gradients.csv or weights.csv); record them by training with probes: "
            "`keras-dl train ... --probe all` or keras_dl.training.probes.make_probes(...) "
            "as fit callbacks")
    return found


def plot_probes(run_dir, output_dir=None) -> list[Path]:
    """Draw every recorded probe statistic of `run_dir` as a PNG in `output_dir` (default
    `run_dir/probes/figures`), named `PROBE_STATISTIC.png`; return their paths."""
    probes = recorded_probes(run_dir)
    output_dir = Path(output_dir) if output_dir is not None else Path(run_dir) / PROBE_DIR / "figures"
    output_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for probe, path in probes.items():
        series = read_probe_csv(path)
        for statistic, (label, log_scale) in STATISTICS[probe].items():
            if statistic not in series:  # no layer has a value (e.g. no tanh or sigmoid)
                continue
            target = output_dir / f"{probe}_{statistic}.png"
            _draw(series[statistic], f"{probe}: {label}", label, log_scale, target)
            written.append(target)
    return written


def _draw(curves, title, label, log_scale, target: Path):
    """One figure: a line per layer (coloured by depth), markers at the measured epochs; a
    legend when it fits (≤ MAX_LEGEND layers), else the first and last layer named in the
    title. Saved atomically."""
    from matplotlib import colormaps
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    figure = Figure(figsize=(7, 4.2))
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    colours = colormaps["viridis"]
    names = list(curves)
    for depth, layer in enumerate(names):
        epochs, values = zip(*sorted(curves[layer]))
        axes.plot(epochs, values, marker="o", markersize=3, label=layer,
                  color=colours(depth / max(len(names) - 1, 1)))
    if log_scale and all(v > 0 for points in curves.values() for _, v in points):
        axes.set_yscale("log")
    axes.xaxis.set_major_locator(MaxNLocator(integer=True))
    axes.set_xlabel("epoch (0: at initialisation)")
    axes.set_ylabel(label)
    if len(names) > MAX_LEGEND:
        title += f"\n(colour: depth, from {names[0]} (purple) to {names[-1]} (yellow))"
    axes.set_title(title, fontsize="medium")
    axes.grid(alpha=0.3)
    if len(names) <= MAX_LEGEND:
        axes.legend(fontsize="small")
    figure.tight_layout()
    handle, temporary = tempfile.mkstemp(prefix=f".{target.stem}.", suffix=".png",
                                         dir=target.parent)
    os.close(handle)
    try:
        figure.savefig(temporary, dpi=110)
        os.replace(temporary, target)
    finally:
        if os.path.exists(temporary):
            os.remove(temporary)
