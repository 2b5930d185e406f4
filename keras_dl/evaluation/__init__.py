"""Measures that are not a Keras metric, one concept per module.

- `rbm_likelihood`: an RBM's free energy, exact `log Z` and log-likelihood (≤ 20 hidden
  units), pseudo-log-likelihood;
- `ais`: annealed importance sampling of `log Z` and the log-likelihood estimated with it
  (Salakhutdinov & Murray 2008);
- `jacobian`: an encoder's Jacobian `∂h/∂x` and its Frobenius norm, by autodiff;
- `elbo`: a VAE's evidence lower bound, by Monte Carlo;
- `retrieval`: precision@k of Hamming-distance retrieval with binary codes, and random-
  projection baseline codes (semantic hashing);
- `layer_statistics`: per-layer activation, gradient and weight statistics (the probes');
- `gradient_flow`, `variance`: gradient norms per layer and the variance of a deep network's
  activations (lecture 004's initialisation and vanishing-gradient experiments);
- `attacks`: adversarial examples (FGSM, the iterative method, PGD) and accuracy under attack;
- `generative`: the Fréchet distance between feature sets, mode coverage and label accuracy of
  generated images.
- `sample_scores`: samples drawn from a generator (a GAN's, or a VAE's decoder from the prior)
  and `SampleScorer`, all of `generative`'s measures of them in one classifier pass.

Layering: evaluation uses `keras_dl.layers`, `keras_dl.models` and `keras_dl.tasks` (how a
model's output is read), never `training`.
"""

from keras_dl.evaluation.ais import (
    AISResult,
    ais_log_partition,
    annealing_schedule,
    estimated_log_likelihood,
)
from keras_dl.evaluation.elbo import evidence_lower_bound
from keras_dl.evaluation.jacobian import encoder_jacobian, jacobian_frobenius_norm
from keras_dl.evaluation.rbm_likelihood import (
    MAX_EXACT_HIDDEN,
    exact_log_likelihood,
    exact_log_partition,
    free_energy,
    pseudo_log_likelihood,
    rbm_layer,
)
from keras_dl.evaluation.retrieval import hamming_precision_at_k, random_projection_codes

__all__ = [
    "AISResult",
    "MAX_EXACT_HIDDEN",
    "ais_log_partition",
    "annealing_schedule",
    "encoder_jacobian",
    "estimated_log_likelihood",
    "evidence_lower_bound",
    "exact_log_likelihood",
    "exact_log_partition",
    "free_energy",
    "hamming_precision_at_k",
    "jacobian_frobenius_norm",
    "pseudo_log_likelihood",
    "random_projection_codes",
    "rbm_layer",
]
