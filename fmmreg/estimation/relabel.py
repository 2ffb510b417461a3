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
    gamma, _ = lik.unpack(theta)
    means = [round(float(m), 10) for m in class_means(lik, theta)]
    if len(set(means)) == len(means):
        # no tie: the shares (a pass over all rows) would not change the order
        return sorted(range(lik.k), key=lambda j: means[j])
    shares = (lik.w / lik.w.sum()) @ np.exp(lik.membership.log_prior(gamma))
    return sorted(range(lik.k), key=lambda j: (means[j], -shares[j]))


def class_means(lik: MixtureLikelihood, theta: np.ndarray) -> np.ndarray:
    """Each class's weighted sample average of its fitted mean of the response, shape (K,).

    Large data go by row chunks, in the likelihood's threads (a pass over
    each class's design: 0.7 s at n = 1e7, K = 3, in one thread).
    """
    _, comps = lik.unpack(theta)

    def part(rows: slice | None) -> np.ndarray:
        sub = lik if rows is None else lik.subset(rows)  # its families carry the rows' offsets
        return np.array([sub.w @ fam.mean(X, th) for fam, X, th in zip(sub.families, sub.designs, comps)])

    total = np.sum(lik._map_chunks(part), axis=0) if lik._chunked() else part(None)
    return total / lik.w.sum()
