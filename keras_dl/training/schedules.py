"""Learning-rate annealing: the named schedules of `keras-dl train --lr-schedule`."""

from __future__ import annotations

import math

import keras

from keras_dl.settings import LR_SCHEDULES
from keras_dl.training.monitoring import monitor_mode

FINAL_LR_FRACTION = 0.01  # exponential and cosine annealing end at 1% of the initial rate
INVERSE_TIME_FINAL_FRACTION = 0.1  # 1/t annealing ends at 10% of the initial rate
ANNEALING_ALPHA, ANNEALING_BETA = 10.0, 0.75  # Ganin et al. 2016's μ_p = μ₀ / (1 + α p)^β


def _check_schedule(schedule):
    if schedule not in LR_SCHEDULES:
        raise ValueError(
            f"unknown learning-rate schedule {schedule!r}; allowed: {', '.join(LR_SCHEDULES)}"
        )


def annealed_learning_rate(schedule: str, initial: float, epoch: int, epochs: int) -> float:
    """The learning rate of `epoch` (0-based) out of `epochs` under a named schedule.

    - "constant": `η₀`.
    - "step": `η₀ / 2^⌊epoch / s⌋` with `s = max(1, epochs // 3)` (halved three times).
    - "exponential": `η₀ · r^epoch` with `r` chosen so the last epoch runs at 1% of `η₀`.
    - "cosine": `η₀ (f + (1 − f)(1 + cos(π epoch / epochs)) / 2)`, `f` = 1%
      (Loshchilov & Hutter 2017, without restarts).
    - "inverse_time": the 1/t decay `η₀ / (1 + epoch / τ)` of stochastic approximation
      (Robbins & Monro 1951: Σ η = ∞, Σ η² < ∞), with `τ = (epochs − 1) / 9` so the last
      epoch runs at 10% of `η₀`.

    - "annealing": `η₀ / (1 + α p)^β` with α = 10, β = 0.75 and p = epoch / epochs, the
      training progress: the schedule Ganin et al. 2016 (§5.2.2) train DANN with (they update
      it every step; here it moves once an epoch).

    Lecture 001: "Important to anneal stepsize η_k towards the end".
    """
    if schedule == "constant":
        return initial
    if schedule == "step":
        return initial * 0.5 ** (epoch // max(1, epochs // 3))
    if schedule == "exponential":
        return initial * FINAL_LR_FRACTION ** (epoch / max(1, epochs - 1))
    if schedule == "inverse_time":
        tau = max(1, epochs - 1) / (1 / INVERSE_TIME_FINAL_FRACTION - 1)
        return initial / (1 + epoch / tau)
    if schedule == "annealing":
        return initial / (1 + ANNEALING_ALPHA * epoch / epochs) ** ANNEALING_BETA
    if schedule == "cosine":
        f = FINAL_LR_FRACTION
        return initial * (f + (1 - f) * (1 + math.cos(math.pi * epoch / epochs)) / 2)
    _check_schedule(schedule)
    raise ValueError(f"schedule {schedule!r} depends on the monitored value, not on the epoch: "
                     "use learning_rate_callback")


def learning_rate_callback(schedule: str, initial: float, epochs: int, patience: int,
                           monitor: str = "val_loss"):
    """The Keras callback implementing `schedule` (`ReduceLROnPlateau` on `monitor` for
    "plateau")."""
    _check_schedule(schedule)
    if schedule == "plateau":
        return keras.callbacks.ReduceLROnPlateau(
            monitor=monitor, mode=monitor_mode(monitor), factor=0.5, patience=max(1, patience // 2),
            min_lr=initial * 1e-3
        )
    return keras.callbacks.LearningRateScheduler(
        lambda epoch, lr: annealed_learning_rate(schedule, initial, epoch, epochs)
    )
