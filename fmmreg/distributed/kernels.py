"""Numpy kernels run on one encoded partition; their results are summed over partitions.

Every kernel takes an :class:`~fmmreg.distributed.plan.EncodedPartition` and
returns a value (a float, an array, or a tuple/list of them) whose sum over
partitions is the quantity of the whole data; an empty partition returns
``None``, the identity of :func:`add`. The work is done by the in-memory
engine's code (:class:`~fmmreg.estimation.mixture.MixtureLikelihood`, the
families, :class:`~fmmreg.estimation.membership.Membership`), so a sum over
partitions is the in-memory quantity up to the order of floating-point
additions. No Dask here: these run inside Dask tasks.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from fmmreg.estimation import vce as _vce
from fmmreg.estimation.linalg import weighted_cross
from fmmreg.families import Gaussian
from fmmreg.postestimation.predict import mean_gradient


def add(*items):
    """Element-wise sum of kernel results (``None`` is zero); tuples and lists are summed per entry."""
    items = [x for x in items if x is not None]
    if not items:
        return None
    first = items[0]
    if isinstance(first, (tuple, list)):
        return type(first)(add(*parts) for parts in zip(*items))
    total = first
    for x in items[1:]:
        total = total + x
    return total


def closed_form_gaussian(fam) -> bool:
    """True when the class's M-step is the Gaussian's weighted least squares (no override)."""
    return isinstance(fam, Gaussian) and type(fam).mstep is Gaussian.mstep


def on_raw(part: pd.DataFrame, encode_plan, kernel, *args):
    """``kernel`` on a raw partition, encoded here (the encoded arrays live only as long as the task)."""
    from fmmreg.distributed.plan import encode_partition

    return kernel(encode_partition(part, encode_plan), *args)


# ------------------------------------------------------------------ likelihood
def loglike(enc, class_map, theta):
    if enc.n == 0:
        return None
    with np.errstate(all="ignore"):
        return enc.likelihood(class_map).loglike(theta)


def score_hessian(enc, class_map, theta, hessian):
    if enc.n == 0:
        return None
    with np.errstate(all="ignore"):
        return enc.likelihood(class_map).score_hessian(theta, hessian)


def em_statistics(enc, class_map, theta):
    """Log likelihood and the sufficient statistics of one generalised EM step at ``theta``.

    Per class ``k`` with weights ``c = w t_k``: for a Gaussian class
    ``(X'CX, X'C r, r'Cr, sum c)`` with ``r = y - offset - X b`` (weighted
    least squares around the current ``b``); for any other class the
    gradient and Hessian of ``Q_k = sum_i c_i log f_ik`` at the current
    parameters; ``None`` for a class without parameters. Membership: ``w't``
    (constant shares) or the gradient and Hessian of the soft-label logit.
    """
    if enc.n == 0:
        return None
    lik = enc.likelihood(class_map)
    with np.errstate(all="ignore"):
        ll, tau, _ = lik.estep(theta)
        gamma, comps = lik.unpack(theta)
        classes = []
        for k, (fam, y, X, th) in enumerate(zip(lik.families, lik.ys, lik.designs, comps)):
            c = lik.w * tau[:, k]
            if fam.n_params(X.shape[1]) == 0:
                classes.append(None)
            elif closed_form_gaussian(fam):
                r = fam._net_response(y) - X @ th[: X.shape[1]]
                classes.append((weighted_cross(X, c, X), X.T @ (c * r), float(c @ (r * r)), float(c.sum())))
            else:
                _, grad, hess = fam.weighted_objective(y, X, c, th, order=2)
                classes.append((grad, hess))
        mem = lik.membership
        if lik.k == 1:
            membership = None
        elif mem.constant_only:
            membership = (lik.w @ tau,)
        else:
            membership = mem._grad_hess(tau, lik.w, np.exp(mem.log_prior(gamma)))
    return (ll, classes, membership)


# -------------------------------------------------------------- after the fit
def fit_statistics(enc, class_map, theta):
    """Sums for the tables after the fit, at ``theta`` (classes in ``class_map`` order).

    Returns ``[W, n, sum w mu_k, sum w pi_k, sum w t_k, sum t_k, entropy,
    lcprob gradient sums (K x n_mem), lcmean gradient sums (K x n_params)]``
    (see :func:`fmmreg.postestimation.estat.lcprob` / ``lcmean`` for the
    formulas they enter).
    """
    if enc.n == 0:
        return None
    lik = enc.likelihood(class_map)
    w = lik.w
    k, q = lik.k, lik.membership.q
    with np.errstate(all="ignore"):
        gamma, comps = lik.unpack(theta)
        pi = np.exp(lik.membership.log_prior(gamma))
        tau = lik.estep(theta)[1]
        wsum = float(w.sum())
        means = np.empty(k)
        mean_grad = np.zeros((k, lik.n_params))
        for j, (fam, X, th, sl) in enumerate(zip(lik.families, lik.designs, comps, lik.comp_slices)):
            # mean_gradient divides by the partition's weight sum: multiply it back (zero-weight partitions add 0)
            m, g = mean_gradient(fam, X, th, w) if wsum > 0 else (0.0, 0.0)
            means[j], mean_grad[j, sl] = m * wsum, g * wsum
        prob_grad = np.zeros((k, lik.n_mem))
        Z = lik.membership.Z
        for b, c in enumerate(lik.membership.others):
            for j in range(k):
                prob_grad[j, b * q : (b + 1) * q] = Z.T @ (w * pi[:, j] * ((j == c) - pi[:, c]))
        t = np.where(tau > 0, -tau * np.log(tau), 0.0)
        entropy = float(w @ t.sum(axis=1))
    return [wsum, float(lik.n), means, w @ pi, w @ tau, tau.sum(axis=0), entropy, prob_grad, mean_grad]


def final_statistics(enc, class_map, theta):
    """:func:`score_hessian` and :func:`fit_statistics` at ``theta`` in one pass (the fit's last point)."""
    if enc.n == 0:
        return None
    return (score_hessian(enc, class_map, theta, True), fit_statistics(enc, class_map, theta))


def score_cross(enc, class_map, theta, weight_kind):
    """``sum_i m_i g_i g_i'`` with the multipliers of :func:`fmmreg.weighting.meat_weights` (``None``: ``w_i``)."""
    if enc.n == 0:
        return None
    from fmmreg.weighting import meat_weights

    lik = enc.likelihood(class_map)
    m = lik.w if weight_kind == "opg" else meat_weights(weight_kind, lik.w)
    with np.errstate(all="ignore"):
        return _vce.score_cross(lik, theta, m)


def cluster_sums(part: pd.DataFrame, encode_plan, cluster: str, class_map, theta):
    """Cluster sums ``s_g = sum_{i in g} w_i g_i`` of one raw partition, as a frame indexed by cluster.

    The partition is encoded here (it must hold the model's columns and
    ``cluster``), so the cluster ids and the rows used come from the same
    rows whatever partitions Dask forms. Also returns the number of rows used
    with a missing cluster and, per cluster, whether a row has a non-zero
    weight (column ``_weighted``).
    """
    from fmmreg.distributed.plan import encode_partition

    enc = encode_partition(part, encode_plan)
    if enc.n == 0:
        return (0, None)
    values = part[cluster].to_numpy()[enc.rows]
    missing = pd.isna(values)
    if missing.any():
        return (int(missing.sum()), None)
    lik = enc.likelihood(class_map)
    sums = []
    for rows, block in _vce._blocks(lik):
        with np.errstate(all="ignore"):
            wg = block.score_obs(theta) * block.w[:, None]
        frame = pd.DataFrame(wg)
        frame["_weighted"] = (block.w != 0).astype(float)
        sums.append(frame.groupby(values[rows], sort=False).sum())
    return (0, pd.concat(sums).groupby(level=0, sort=False).sum())


def add_cluster_sums(*items):
    """Combine :func:`cluster_sums` results: missing counts add, cluster sums add by cluster."""
    missing = sum(m for m, _ in items)
    frames = [f for _, f in items if f is not None]
    if missing or not frames:
        return (missing, None)
    return (0, pd.concat(frames).groupby(level=0, sort=False).sum())


# --------------------------------------------------------------- predictions
def predict_rows(part: pd.DataFrame, encode_plan, proxy, options, meta):
    """In-sample predictions of one raw partition: the in-memory :func:`predict` on its rows used."""
    from fmmreg.distributed.plan import encode_partition
    from fmmreg.postestimation.predict import predict

    enc = encode_partition(part, encode_plan)
    if enc.n == 0:
        return meta
    res = proxy.for_partition(enc)
    with np.errstate(all="ignore"):
        out = predict(res, None, **options)
    return proxy.rename(out, options["kind"])


def predict_newdata(part: pd.DataFrame, proxy, options):
    """Predictions on one partition of new data (missing values give NaN, as in memory)."""
    from fmmreg.postestimation.predict import predict

    # Dask stores text as pandas' "string" dtype (missing value pd.NA), which formulaic reads as
    # numbers; the fit's encoding turns it into object (fmmreg.formula._check_columns), so must this
    text = {c: part[c].astype(object) for c in part.columns if _is_na_string(part[c].dtype)}
    with np.errstate(all="ignore"):
        out = predict(proxy, part.assign(**text) if text else part, **options)
    return proxy.rename(out, options["kind"])


def _is_na_string(dtype) -> bool:
    return isinstance(dtype, pd.StringDtype) and getattr(dtype, "na_value", pd.NA) is pd.NA
