"""Class order: the deterministic default and user relabelling.

Default order (documented in the README): when every class has the same
family and the same formula, classes are sorted by their sample-average
fitted mean of the response, ascending (class 1 = lowest mean, like
"low users" first); ties are broken by the class share. Hybrid models keep
the order in which the user listed the classes.
"""

from __future__ import annotations

import numpy as np

from fmmreg.estimation.mixture import MixtureLikelihood
from fmmreg.exceptions import FMMError


def permute_theta(lik: MixtureLikelihood, theta: np.ndarray, order: list[int]) -> np.ndarray:
    """Parameters after relabelling: new class ``j`` is old class ``order[j]`` (0-based).

    The membership logit is re-based on the class that takes the base
    position ``b`` (class 1 unless ``class_base`` says otherwise):
    ``g_new_j = g_old_order[j] - g_old_order[b]``.
    """
    gamma, comps = lik.unpack(theta)
    base = lik.membership.base
    full = np.insert(gamma, base, 0.0, axis=1)
    new_full = full[:, order] - full[:, [order[base]]]
    return lik.pack(np.delete(new_full, base, axis=1), [comps[o] for o in order])


def relabel_matrix(lik: MixtureLikelihood, order: list[int]) -> np.ndarray:
    """The linear map ``A`` with ``permute_theta(theta) = A @ theta``.

    Relabelling is linear in the parameters, so scores and Hessians carry
    over exactly: ``g_new = A^{-T} g``, ``H_new = A^{-T} H A^{-1}``.
    """
    eye = np.eye(lik.n_params)
    return np.column_stack([permute_theta(lik, eye[:, i], order) for i in range(lik.n_params)])


def check_order(order, k: int) -> list[int]:
    """Validate a 1-based relabelling and return it 0-based."""
    try:
        order = [int(o) for o in order]
    except (TypeError, ValueError) as exc:
        raise FMMError(f"relabel order must be a list of class labels 1..{k}, got {order!r}") from exc
    if sorted(order) != list(range(1, k + 1)):
        raise FMMError(f"relabel order must be a permutation of 1..{k}, got {order}")
    return [o - 1 for o in order]


def canonical_order(lik: MixtureLikelihood, theta: np.ndarray) -> list[int]:
    """0-based order sorting classes by mean fitted response, then share.

    For models whose classes share one family and formula; the caller keeps
    hybrid models in the user's order.
    """
    gamma, comps = lik.unpack(theta)
    w = lik.w / lik.w.sum()
    means = [round(float(w @ fam.mean(X, th)), 10) for fam, X, th in zip(lik.families, lik.designs, comps)]
    if len(set(means)) == len(means):
        # no tie: the shares (a pass over all rows) would not change the order
        return sorted(range(lik.k), key=lambda j: means[j])
    shares = w @ np.exp(lik.membership.log_prior(gamma))
    return sorted(range(lik.k), key=lambda j: (means[j], -shares[j]))
