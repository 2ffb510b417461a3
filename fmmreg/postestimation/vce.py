"""The variance estimator of a fit: ``vce="oim" | "opg" | "robust" | "cluster"`` (Stata's ``vce()``).

:func:`resolve_vce` checks the option against the weights and turns a
``cluster=`` column or array into cluster codes of the rows used;
:func:`covariance` computes the matrix that ``cov_params()``, ``bse``, every
test, ``estat lcprob``/``lcmean``, margins and the summary read.

Small-sample factors are Stata's (``_robust`` after ``ml``):

- ``robust``: ``N / (N - 1)``, with ``N`` the number of observations
  (``sum w`` for frequency weights, the rows with a positive weight otherwise);
- ``cluster``: ``G / (G - 1)`` with ``G`` clusters (no ``(N - 1)/(N - k)``
  term, as for every ``ml`` model in Stata).

So at ``K = 1`` the robust covariance is statsmodels' ``cov_type="HC0"``
times ``N / (N - 1)``, and the cluster covariance is statsmodels'
``cov_type="cluster"`` with ``use_correction=False`` times ``G / (G - 1)``.

Grouped (panel) models (``group=``, :mod:`fmmreg.panel`): the groups are the
independent units, so ``"robust"`` is ``"cluster"`` with the groups as the
clusters (Stata's panel commands: ``vce(robust)`` is ``vce(cluster
panelvar)``), ``"opg"`` sums the group scores' outer products, and a
``cluster=`` variable must hold whole groups.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from fmmreg import weighting
from fmmreg.estimation.vce import cluster_score_cross, invert_information, sandwich, score_cross
from fmmreg.exceptions import FMMError

VCE_TYPES = ("oim", "opg", "robust", "cluster")

#: Stata's ``e(vcetype)``: the word printed above ``std. err.``.
VCE_LABELS = {"oim": "", "opg": "OPG", "robust": "Robust", "cluster": "Robust"}


@dataclass(frozen=True, eq=False)
class VCESpec:
    """A chosen variance estimator.

    Attributes
    ----------
    kind : {"oim", "opg", "robust", "cluster"}
        Stata's ``e(vce)``.
    groups : ndarray of int, optional
        Cluster code (0..G-1) of each row used, for ``"cluster"``.
    cluster_name : str, optional
        The cluster variable's name, for the summary's note.
    n_clusters : int, optional
        ``G``: clusters holding a row with a non-zero weight.
    """

    kind: str = "oim"
    groups: np.ndarray | None = None
    cluster_name: str | None = None
    #: clusters with at least one row of non-zero weight (the ``G`` of ``G / (G - 1)``)
    n_clusters: int | None = None

    @property
    def label(self) -> str:
        """``"Robust"``, ``"OPG"`` or ``""`` (Stata's ``e(vcetype)``)."""
        return VCE_LABELS[self.kind]

    @property
    def is_robust(self) -> bool:
        """True for sandwich estimators (the likelihood is then a pseudolikelihood)."""
        return self.kind in ("robust", "cluster")


OIM = VCESpec()


def _cluster_codes(model, cluster) -> tuple[np.ndarray, str | None, int]:
    design = model.design
    data = getattr(model, "data", None)
    if isinstance(cluster, str):
        if data is None or cluster not in data.columns:
            raise FMMError(f"cluster variable {cluster!r} not found in data; give a column name or an array")
        values = data[cluster].to_numpy()[design.rows]
        name = cluster
    else:
        name = cluster.name if isinstance(cluster, pd.Series) and isinstance(cluster.name, str) else None
        values = np.asarray(cluster.to_numpy() if isinstance(cluster, pd.Series) else cluster)
        n_data = len(data) if data is not None else len(values)
        if values.ndim != 1 or len(values) != n_data:
            raise FMMError(f"cluster= must have one value per row of data ({n_data}), got shape {values.shape}")
        values = values[design.rows]
    missing = pd.isna(values)
    if missing.any():
        raise FMMError(
            f"cluster variable {name or 'cluster='!r} is missing in {int(missing.sum())} of the rows used; "
            "drop those rows from data (or give them a cluster) before fitting"
        )
    codes, _ = pd.factorize(values, sort=True)
    w = model.design.weights
    n_clusters = len(np.unique(codes if w is None else codes[w != 0]))
    if n_clusters < 2:
        raise FMMError(f"cluster variable {name or 'cluster='!r} has {n_clusters} cluster(s); need at least 2")
    return codes.astype(np.intp), name, n_clusters


def resolve_vce(model, vce: str | None = None, cluster=None) -> VCESpec:
    """Check ``vce=`` and ``cluster=`` and return the :class:`VCESpec`.

    ``vce=None`` means ``"cluster"`` when ``cluster=`` is given, ``"robust"``
    with sampling weights and ``"oim"`` otherwise.

    Raises
    ------
    FMMError
        Unknown ``vce``, ``"cluster"`` without ``cluster=`` (or the reverse),
        ``"oim"``/``"opg"`` with ``pweights`` (Stata: sampling weights need a
        robust variance), or a cluster variable with missing values.
    """
    pweighted = model.weight_spec.kind == "pweight"
    if vce is None:
        vce = "cluster" if cluster is not None else ("robust" if pweighted else "oim")
    if not isinstance(vce, str) or vce.lower() not in VCE_TYPES:
        raise FMMError(f"vce={vce!r} is not known; use one of {', '.join(map(repr, VCE_TYPES))}")
    vce = vce.lower()
    if vce == "cluster" and cluster is None:
        raise FMMError("vce='cluster' needs cluster= (a column name of data or an array of cluster ids)")
    if vce != "cluster" and cluster is not None:
        raise FMMError(f"cluster= is given but vce={vce!r}; use vce='cluster' (or leave vce out)")
    if pweighted and vce in ("oim", "opg"):
        raise FMMError(
            f"vce={vce!r} is not allowed with pweights (sampling weights): their standard errors must be "
            "robust; use vce='robust' (the default with pweights) or vce='cluster'"
        )
    panel = getattr(model, "panel", None)
    if vce == "robust" and panel is not None:
        return panel.vce_spec(model)  # the groups are the units: Stata's vce(cluster panelvar)
    if vce != "cluster":
        return OIM if vce == "oim" else VCESpec(vce)
    codes, name, n_clusters = _cluster_codes(model, cluster)
    if panel is not None:
        panel.check_nested(codes, name)
    return VCESpec("cluster", codes, name, n_clusters)


def covariance(res, spec: VCESpec) -> np.ndarray:
    """The covariance of ``res.params`` under ``spec`` (see the module notes for the formulas)."""
    if spec.kind == "oim":
        return res._cov_oim
    lik, theta = res.lik, res.theta
    kind = res.model.weight_spec.kind
    w = lik.w
    if spec.kind == "opg":
        # frequency and importance weights: sum_i w_i g_i g_i', consistent with the OIM
        info = score_cross(lik, theta, w)
        what = "OPG (outer product of the scores)"
        cons = getattr(res, "constraints", None)
        if cons is not None:  # the free parameters' information, mapped back
            return cons.expand(invert_information(cons.reduce(info), what))
        return invert_information(info, what)
    if spec.kind == "robust":
        n = weighting.robust_n(kind, w)
        meat = score_cross(lik, theta, weighting.meat_weights(kind, w))
        return sandwich(res._cov_oim, meat, n / (n - 1.0))
    g = spec.n_clusters
    meat = cluster_score_cross(lik, theta, spec.groups, int(spec.groups.max()) + 1)
    return sandwich(res._cov_oim, meat, g / (g - 1.0))
