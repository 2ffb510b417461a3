"""Predictions after a mixture fit, in sample or on new data (Stata's ``predict``).

New data are encoded by replaying the formulaic ``ModelSpec`` stored at fit
time (:func:`fmmreg.formula.encode_new`), so categorical levels, contrasts
and stateful transforms are exactly those of the estimation sample. Only the
parts a prediction needs are encoded: ``classpr`` needs the class formula's
variables only, ``mu``/``eta`` the component covariates only, and
``classposteriorpr``, ``density`` and ``scores`` also the response.

Rows of ``newdata`` with a missing value in a needed variable get NaN
predictions (they are not dropped, so the result aligns with ``newdata``).
"""

from __future__ import annotations

import copy
import dataclasses
import re
import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd

from fmmreg import formula as _formula
from fmmreg.estimation.linalg import logsumexp_rows, weighted_sum
from fmmreg.estimation.mixture import MixtureLikelihood
from fmmreg.exceptions import FMMError
from fmmreg.families import Gaussian, GLMFamily
from fmmreg.families.base import class_responses
from fmmreg.formula import _parse, encode_new, encode_response
from fmmreg.offsets import newdata_offsets
from fmmreg.postestimation import survival as _survival
from fmmreg.postestimation.survival import SURVIVAL_KINDS

KINDS = ("mu", "eta", "classpr", "classposteriorpr", "density", "scores") + SURVIVAL_KINDS
_NEEDS = {
    "survival": {"y", "x"},
    "hazard": {"y", "x"},
    "median": {"x"},
    "mu": {"x"},
    "eta": {"x"},
    "classpr": {"z"},
    "classposteriorpr": {"y", "x", "z"},
    "density": {"y", "x"},
    "scores": {"y", "x", "z"},
}
_NAN_ONLY = re.compile(r"\{\s*((np\.float64\()?nan\)?|None|<NA>)\s*\}")


# ------------------------------------------------------------ mean derivatives
def mean_index_derivatives(fam, eta: np.ndarray, anc: np.ndarray) -> np.ndarray:
    """Derivatives of the class mean with respect to each index, shape (n, m).

    Columns follow the family's indices: ``n_linear`` linear predictors, then
    the ancillary parameters. Analytic for the Gaussian and GLM families (or a
    family's own ``mean_index_derivatives``); otherwise central differences on
    the indices, which are exact to about 1e-10 relative.
    """
    n = eta.shape[0]
    m = fam.n_linear + fam.n_ancillary
    hook = getattr(fam, "mean_index_derivatives", None)
    if callable(hook):
        return np.asarray(hook(eta, anc), dtype=float)
    if isinstance(fam, Gaussian):
        d = np.zeros((n, m))
        d[:, 0] = 1.0
        return d
    if isinstance(fam, GLMFamily):
        d = np.zeros((n, m))
        d[:, 0] = fam.sm_family.link.inverse_deriv(eta[:, 0])
        return d
    d = np.empty((n, m))
    for e in range(fam.n_linear):
        h = 1e-5 * np.maximum(1.0, np.abs(eta[:, e]))
        up, dn = eta.copy(), eta.copy()
        up[:, e] += h
        dn[:, e] -= h
        d[:, e] = (fam.mean_from_index(up, anc) - fam.mean_from_index(dn, anc)) / (2 * h)
    for a in range(fam.n_ancillary):
        h = 1e-5 * max(1.0, abs(anc[a]))
        up, dn = np.array(anc, dtype=float), np.array(anc, dtype=float)
        up[a] += h
        dn[a] -= h
        d[:, fam.n_linear + a] = (fam.mean_from_index(eta, up) - fam.mean_from_index(eta, dn)) / (2 * h)
    return d


def mean_gradient(fam, X: np.ndarray, params: np.ndarray, w: np.ndarray) -> tuple[float, np.ndarray]:
    """Weighted sample-average mean of one class and its gradient in the class parameters.

    Notes
    -----
    ``M = (1/W) sum_i w_i mu(t_i)``; ``dM/db_e = (1/W) sum_i w_i (dmu_i/dt_ie) D_e,i``
    with ``D_e`` the design of index ``e`` (``X`` or a constant).
    """
    eta, anc = fam.indices(X, params)
    mu = fam.mean_from_index(eta, anc)
    wsum = float(w.sum())
    d = mean_index_derivatives(fam, eta, anc)
    parts = [weighted_sum(D, w * d[:, e]) for e, D in enumerate(fam.designs(X))]
    grad = np.concatenate(parts) / wsum if parts else np.zeros(0)
    return float(w @ mu) / wsum, grad


def check_common_response(res, what: str) -> None:
    """Raise when the classes model different variables: a mean over classes then mixes units.

    A cure model's cured class is a point mass on the failure indicator,
    the other classes model the analysis time; their "marginal mean" is no
    quantity at all (use the survival predictions or the per-class means).
    """
    names = list(dict.fromkeys(fam.modelled_response(res.yname) for fam in res.families))
    if len(names) > 1:
        raise FMMError(
            f"the classes model different variables ({', '.join(map(repr, names))}), so {what} averages "
            "unlike quantities; ask for the classes' own means (cls=, classes=) or, for survival classes, "
            "kind='survival' / 'median'"
        )


# ------------------------------------------------------------------ encoding
@dataclass
class PredictData:
    """Arrays a prediction works on (class order of the results)."""

    index: pd.Index
    #: the response array of each class (with its family's data columns)
    ys: list[np.ndarray] | None = None
    designs: list[np.ndarray] | None = None
    Z: np.ndarray | None = None
    missing: np.ndarray | None = None
    #: offsets of each class (results' class order), or None
    offsets: list[np.ndarray | None] | None = None

    def families(self, res) -> list:
        """The classes' families bound to these rows' offsets."""
        offsets = self.offsets or [None] * res.k
        return [fam.with_offset(off) for fam, off in zip(res.families, offsets)]


def in_sample(res, nooffset: bool = False) -> PredictData:
    """The estimation sample's arrays."""
    lik = res.lik
    offsets = None if nooffset else lik.offsets
    return PredictData(res.model.design.index, list(lik.ys), list(lik.designs), lik.membership.Z, None, offsets)


def _check_levels(spec, data: pd.DataFrame, what: str) -> bool:
    """Raise on unseen categorical levels; return False if a factor could not be checked."""
    all_checked = True
    for factor, (kind, state) in getattr(spec, "encoder_state", {}).items():
        if getattr(kind, "value", kind) != "categorical" or "categories" not in state:
            continue
        factor = str(factor)
        if factor in data.columns:
            cols = [factor]
        else:
            cols = [t for t in dict.fromkeys(re.findall(r"[A-Za-z_][A-Za-z0-9_]*", factor)) if t in data.columns]
        if len(cols) != 1:
            all_checked = False
            continue
        known = list(state["categories"])
        values = pd.unique(data[cols[0]].dropna())
        unseen = [v.item() if hasattr(v, "item") else v for v in values if v not in known]
        if unseen:
            raise FMMError(
                f"newdata column {cols[0]!r} has level(s) {unseen[:10]} not seen in the estimation sample "
                f"(term {factor!r} of the {what}; known levels: {known})"
            )
    return all_checked


def _encode(spec, data: pd.DataFrame, names: list[str], what: str) -> np.ndarray:
    checked = _check_levels(spec, data, what)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = encode_new(spec, data, names, what)
    for w in caught:
        msg = str(w.message)
        if w.category.__name__ == "DataMismatchWarning" or "nominated levels" in msg:
            if not checked and not _NAN_ONLY.search(msg):
                raise FMMError(f"newdata has a level not seen in the estimation sample ({what}): {msg}")
        else:
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    return out


def _variables(spec_or_formula) -> set[str]:
    """Data columns a spec or formula reads (functions of the formula context excluded)."""
    return set(spec_or_formula.required_variables) - set(getattr(_formula, "FORMULA_FUNCTIONS", {}))


def _require(data: pd.DataFrame, variables: set[str], what: str) -> None:
    missing = sorted(v for v in variables if v not in data.columns)
    if missing:
        raise FMMError(
            f"newdata lacks column(s) {', '.join(map(repr, missing))} needed by the {what}; "
            f"it has: {', '.join(map(str, data.columns[:20]))}{' ...' if data.shape[1] > 20 else ''}"
        )


def encode_newdata(res, data: pd.DataFrame, need: set[str], nooffset: bool = False) -> PredictData:
    """Encode ``data`` for the parts in ``need`` (``"y"``, ``"x"``, ``"z"``).

    The model's ``offset``/``exposure`` columns are read from ``data`` too
    (unless ``nooffset``), for the parts that use the linear indices.
    """
    if not isinstance(data, pd.DataFrame):
        raise TypeError(f"newdata must be a pandas DataFrame, got {type(data).__name__}")
    d = res.model.design
    out = PredictData(data.index)
    used: set[str] = set()
    if "x" in need:
        cache: dict[tuple[int, tuple[str, ...]], np.ndarray] = {}
        designs = []
        for k, j in enumerate(res.class_map, start=1):
            spec, names = d.x_specs[j], d.xnames[j]
            req = _variables(spec)
            _require(data, req, f"formula of class {k} ({d.formulas[j]!r})")
            used |= req
            key = (id(spec), tuple(names))
            if key not in cache:
                cache[key] = _encode(spec, data, names, f"formula {d.formulas[j]!r}")
            designs.append(cache[key])
        out.designs = designs
        if not nooffset:
            specs = [res.model.offset_specs[j] for j in res.class_map]
            out.offsets = newdata_offsets(specs, data)
    if "z" in need:
        if d.z_spec is None:
            out.Z = np.ones((len(data), 1))
        else:
            req = _variables(d.z_spec)
            _require(data, req, f"class formula ({d.class_formula!r})")
            used |= req
            out.Z = _encode(d.z_spec, data, d.znames, f"class formula {d.class_formula!r}")
    y = None
    if "y" in need:
        lhs = _parse(d.formulas[0], "formula", True).lhs
        req = _variables(lhs)
        _require(data, req, f"response {d.yname!r}")
        used |= req
        y = encode_response(d, data)
        # the data columns the families read (failure indicator, limits, ...)
        fam_cols = _formula.family_columns(res.families)
        _require(data, set(fam_cols), "component families (data columns)")
        used |= set(fam_cols)
        columns = {c: _formula.data_column(data, c, what) for c, (what, _) in fam_cols.items()}
        out.ys = class_responses(res.families, y, columns)
    missing = np.zeros(len(data), dtype=bool)
    if used:
        missing |= data[sorted(used)].isna().any(axis=1).to_numpy()
    for arr in [y, out.Z] + list(out.designs or []) + list(out.offsets or []):
        if arr is not None:
            missing |= ~np.isfinite(arr).reshape(len(data), -1).all(axis=1)
    out.missing = missing
    if out.ys is not None and (~missing).any():
        seen = set()
        for fam, y_k in zip(res.families, out.ys):
            if id(fam) not in seen:
                seen.add(id(fam))
                _check_response(fam, y_k[~missing], d.yname)
    return out


def _check_response(fam, y: np.ndarray, yname: str) -> None:
    """The family's response check, without changing the fitted family.

    Families that learn their outcome levels from the data (ordinal,
    mlogit) keep them: new responses must lie among the fitted levels.
    """
    levels = getattr(fam, "levels", None)
    if levels is not None:
        extra = np.setdiff1d(np.unique(y), np.asarray(levels, dtype=float))
        if extra.size:
            raise FMMError(
                f"newdata response {yname!r} has value(s) {extra[:5].tolist()} outside the fitted outcomes "
                f"{np.asarray(levels).tolist()} of family {fam.name!r}"
            )
        return
    copy.deepcopy(fam).check_endog(y, yname)


# ---------------------------------------------------------------- predictions
def _per_class(res, pd_: PredictData, what: str) -> np.ndarray:
    gamma, comps = res.lik.unpack(res.theta)
    fams = pd_.families(res)
    cols = []
    ys = pd_.ys if pd_.ys is not None else [None] * len(fams)
    for fam, y, X, th in zip(fams, ys, pd_.designs, comps):
        if what == "eta":
            eta = fam.indices(X, th)[0]
            # first linear predictor (mlogit: the first non-base outcome); none for a point mass
            cols.append(eta[:, 0] if eta.shape[1] else np.full(X.shape[0], np.nan))
        elif what == "mu":
            cols.append(fam.mean(X, th))
        else:  # log density
            cols.append(fam.loglike_obs(y, X, th))
    return np.column_stack(cols)


def _log_prior(res, pd_: PredictData) -> np.ndarray:
    gamma, _ = res.lik.unpack(res.theta)
    return res.lik.membership.log_prior(gamma, pd_.Z)


def _posterior(res, pd_: PredictData) -> np.ndarray:
    a = _log_prior(res, pd_) + _per_class(res, pd_, "logf")
    return np.exp(a - logsumexp_rows(a)[:, None])


def predict(
    res,
    newdata: pd.DataFrame | None = None,
    kind: str = "mu",
    marginal: bool = False,
    weighting: str = "prior",
    cls: int | None = None,
    nooffset: bool = False,
) -> pd.DataFrame | pd.Series:
    """Predictions of a fitted mixture; see :meth:`PostestimationMixin.predict`."""
    from fmmreg.postestimation import grouped as _grouped  # imports this module

    if kind not in KINDS:
        raise FMMError(f"kind={kind!r} is not known; use one of {', '.join(KINDS)}")
    if weighting not in ("prior", "posterior"):
        raise FMMError(f"weighting must be 'prior' or 'posterior', got {weighting!r}")
    if marginal and kind not in ("mu", "eta", "density") + SURVIVAL_KINDS:
        raise FMMError(f"marginal=True applies to kind 'mu', 'eta', 'density' or a survival kind, not {kind!r}")
    if marginal and kind in ("density",) + SURVIVAL_KINDS and weighting == "posterior":
        raise FMMError(f"the marginal {kind} mixes the classes with prior probabilities; use weighting='prior'")
    if marginal and kind in ("mu", "eta"):
        check_common_response(res, f"the marginal {kind}")
    if cls is not None and (kind == "scores" or marginal):
        raise FMMError("cls= selects one class of a per-class prediction; not with marginal=True or scores")
    if cls is not None and cls not in range(1, res.k + 1):
        raise FMMError(f"cls must be a class label 1..{res.k}, got {cls!r}")
    need = set(_NEEDS[kind])
    if marginal:
        need |= {"z"} if weighting == "prior" else {"y", "x", "z"}
    # a grouped model's posterior belongs to the group: fmmreg.postestimation.grouped
    # encodes the group's rows itself (a row without a response still gets it)
    by_group = getattr(res.model, "panel", None) is not None
    if by_group and (kind == "classposteriorpr" or (marginal and weighting == "posterior")):
        need = set() if kind == "classposteriorpr" else {"x"}
    # nooffset drops the offset from the means and linear predictions only: densities,
    # posteriors and scores describe the observed outcome, which the fitted offset produced
    outcome_kind = kind in ("classposteriorpr", "density", "scores") or (marginal and weighting == "posterior")
    read_offsets = not nooffset or outcome_kind
    data = in_sample(res, not read_offsets) if newdata is None else encode_newdata(res, newdata, need, not read_offsets)
    mean_data = dataclasses.replace(data, offsets=None) if nooffset else data

    def posterior():
        return _grouped.posterior_rows(res, newdata) if by_group else _posterior(res, data)

    with np.errstate(invalid="ignore", over="ignore", divide="ignore", under="ignore"):
        if kind == "scores" and by_group:
            vals = _grouped.score_rows(res, data, newdata)
            columns = res.params.index
        elif kind == "scores":
            lik = MixtureLikelihood(data.ys, data.designs, data.Z, res.families, None, offsets=data.offsets)
            vals = lik.score_obs(res.theta)
            columns = res.params.index
        elif kind == "classpr":
            vals = np.exp(_log_prior(res, data))
        elif kind == "classposteriorpr":
            vals = posterior()
        elif kind == "density":
            vals = np.exp(_per_class(res, data, "logf"))
        elif kind in SURVIVAL_KINDS:
            comps = res.lik.unpack(res.theta)[1]
            fams = mean_data.families(res)
            if marginal:
                prior = np.exp(_log_prior(res, data))
                vals = _survival.marginal_values(kind, fams, data.designs, comps, data.ys, prior)
            else:
                vals = _survival.class_values(kind, fams, data.designs, comps, data.ys)
        else:
            vals = _per_class(res, mean_data, kind)
        if marginal and kind not in SURVIVAL_KINDS:
            p = np.exp(_log_prior(res, data)) if weighting == "prior" else posterior()
            vals = (p * vals).sum(axis=1)
    if data.missing is not None and data.missing.any():
        vals = np.array(vals, dtype=float)
        vals[data.missing] = np.nan
    if marginal:
        return pd.Series(vals, index=data.index, name=kind)
    if kind != "scores":
        columns = pd.Index(range(1, res.k + 1), name="Class")
    frame = pd.DataFrame(vals, index=data.index, columns=columns)
    if cls is not None:
        return frame[cls].rename(f"{kind}{cls}")
    return frame
