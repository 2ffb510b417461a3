"""Stata's ``margins`` after a mixture fit: predictive margins and marginal effects.

A margin is a weighted sample average of a prediction,
``m = (1/W) sum_i w_i g(x_i, z_i; theta)``, with ``g`` one of

- ``E(y | class k, x) = mu_k(x)``, a class's mean (``kind="mu"``, class k);
- ``E(y | x, z) = sum_k pi_k(z) mu_k(x)``, the marginal mean
  (``kind="mu"``, ``"marginal"``);
- ``pi_k(z)``, a class probability (``kind="classpr"``),

evaluated on the estimation sample after fixing some variables (``at=``) or
on one synthetic observation at the covariate means (``atmeans=True``).
Effects are taken with respect to *variables*, not design columns: the
sample is re-encoded with the formulas' stored specifications
(:func:`fmmreg.postestimation.predict.encode_newdata`) after moving a
variable, so ``I(age**2)``, interactions, transforms and a variable that
appears in both a component formula and the class formula are handled by
the formulas themselves (as Stata's ``margins`` does numerically):

- continuous variable: ``dm/dv`` by the fourth-order central difference
  over ``v + t h`` (``t = -2, -1, 1, 2``), ``h = 1e-3`` times the sample
  standard deviation of ``v``; truncation error ``O(h^4)``: on a three-class
  Poisson mixture with ``I(x**2)`` and ``x`` in the class formula the AMEs
  were within 2e-12 (relative) of the analytic ones, where the two-point
  rule gave 1e-7 at this step and 1e-9 at a step of 1e-4 (measured for
  issue 13); the points of one effect are encoded in one formulaic call;
- factor variable (``C(x)`` terms, categorical, string or boolean columns,
  or variables named in ``factors=``): the discrete change
  ``m(v = level) - m(v = base)`` for each non-base level, as Stata reports
  ``i.x``.

The derivative of each margin with respect to the parameters is analytic
given the encoded designs (the family's mean-index derivatives, the
multinomial-logit derivatives of ``pi``), and differences of margins carry
their gradients along, so ``Var(m) = G V G'`` with ``V = res.cov_params()``
is exact up to the same stencil error.

At means (Stata ``atmeans``) a continuous variable is set to its weighted
mean and a factor enters through its level proportions: the design rows of
the synthetic observation are the proportion-weighted average of the rows
encoded at each level, as Stata puts the means of the indicators into the
design.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats

from fmmreg.estimation.linalg import weighted_sum
from fmmreg.exceptions import FMMError
from fmmreg.formula import FORMULA_FUNCTIONS, family_columns
from fmmreg.offsets import OffsetSpec
from fmmreg.postestimation.hypothesis import covariance
from fmmreg.postestimation.predict import check_common_response, encode_newdata, mean_index_derivatives
from fmmreg.reporting.coeftable import CoefRow, column_header, table_latex, table_markdown, table_text
from fmmreg.reporting.export import TextReport
from fmmreg.reporting.formatting import stata_g, thousands

KINDS = ("mu", "classpr")
#: Offsets and weights of the fourth-order central difference ``f'(v) ~ sum_t c_t f(v + t h) / h``.
STENCIL = ((-2.0, 1.0 / 12.0), (-1.0, -8.0 / 12.0), (1.0, 8.0 / 12.0), (2.0, -1.0 / 12.0))
#: Step of the derivative, in standard deviations of the variable.
RELATIVE_STEP = 1e-3
#: Rows per formulaic call when several moved copies of the sample are encoded together.
STACK_ROWS = 200_000
_PERCENTILE = re.compile(r"^p(\d{1,2}(\.\d+)?)$")


# ------------------------------------------------------------------ variables
@dataclass
class Variable:
    """A data column the model reads, and how margins treats it."""

    name: str
    factor: bool
    levels: list = field(default_factory=list)
    base: object = None
    in_x: bool = False
    in_z: bool = False
    #: classes (1-based) whose component formula reads the variable
    x_classes: set[int] = field(default_factory=set)

    def moves(self, target: Target) -> bool:
        """Whether ``target``'s prediction depends on this variable at all."""
        if target.kind == "classpr":
            return self.in_z
        if target.cls is None:
            return self.in_z or bool(self.x_classes)
        return target.cls in self.x_classes


def _data_variables(spec) -> list[str]:
    """Data columns a formulaic ModelSpec reads, in the order of its terms."""
    data = set(spec.variables_by_source.get("data", set())) - set(FORMULA_FUNCTIONS)
    out: list[str] = []
    for names in spec.term_variables.values():
        for v in sorted(set(names) & data):
            if v not in out:
                out.append(v)
    return out + sorted(data - set(out))


def _categorical_variables(spec) -> dict[str, tuple[list, object]]:
    """Variables a spec encodes as categorical: name -> (levels, base level)."""
    data = set(spec.variables_by_source.get("data", set()))
    by_factor = {str(f): set(v) & data for f, v in spec.factor_variables.items()}
    out: dict[str, tuple[list, object]] = {}
    for factor, (kind, state) in getattr(spec, "encoder_state", {}).items():
        if getattr(kind, "value", kind) != "categorical" or "categories" not in state:
            continue
        names = by_factor.get(str(factor), set())
        if len(names) != 1:
            continue
        levels = list(state["categories"])
        contrasts = state.get("contrasts")
        base = getattr(getattr(contrasts, "contrasts", None), "base", None)
        out.setdefault(names.pop(), (levels, base if base in levels else levels[0]))
    return out


def model_variables(res, factors: Sequence[str] = (), sample: pd.DataFrame | None = None) -> dict[str, Variable]:
    """Every data variable of the component and class formulas, in formula order.

    A variable is a factor when a formula encodes it as categorical, when
    its column is boolean, string or categorical, or when it is named in
    ``factors``; the levels of a declared numeric factor are its distinct
    sample values.
    """
    d = res.model.design
    out: dict[str, Variable] = {}
    cats: dict[str, tuple[list, object]] = {}
    specs = [(d.x_specs[j], k) for k, j in enumerate(res.class_map, start=1)]
    specs += [(d.z_spec, None)] if d.z_spec is not None else []
    for spec, cls in specs:
        for name in _data_variables(spec):
            var = out.setdefault(name, Variable(name, False))
            if cls is None:
                var.in_z = True
            else:
                var.in_x = True
                var.x_classes.add(cls)
        for name, lv in _categorical_variables(spec).items():
            cats.setdefault(name, lv)
    unknown = [f for f in factors if f not in out]
    if unknown:
        raise FMMError(f"factors={unknown} are not variables of the model; its variables are {', '.join(out)}")
    for name, var in out.items():
        if name in cats:
            var.factor, (var.levels, var.base) = True, cats[name]
        elif sample is not None and (name in factors or _non_numeric(sample[name])):
            levels = sorted(pd.unique(sample[name].dropna()).tolist())
            if len(levels) < 2:
                raise FMMError(f"factor variable {name!r} takes a single value in the sample; it has no effect")
            var.factor, var.levels, var.base = True, levels, levels[0]
    return out


def _non_numeric(col: pd.Series) -> bool:
    return bool(
        pd.api.types.is_bool_dtype(col)
        or isinstance(col.dtype, pd.CategoricalDtype)
        or pd.api.types.is_object_dtype(col)
        or pd.api.types.is_string_dtype(col)
    )


# ---------------------------------------------------------------- scenarios
@dataclass
class Scenario:
    """One ``at`` setting: fixed values, and for ``atmeans`` the means and factor proportions."""

    number: int
    fixed: dict[str, object]
    atmeans: bool = False
    means: dict[str, float] = field(default_factory=dict)
    proportions: dict[str, dict] = field(default_factory=dict)

    def legend(self) -> list[str]:
        lines = [f"{k} = {_show(v)}" for k, v in self.fixed.items()]
        lines += [f"{k} = {_show(v)} (mean)" for k, v in self.means.items()]
        for k, props in self.proportions.items():
            lines.append(f"{k}: " + ", ".join(f"{_show(lv)} = {_show(p)}" for lv, p in props.items()) + " (mean)")
        return lines


def _show(v) -> str:
    if isinstance(v, (float, np.floating)):
        return stata_g(float(v))
    return str(v)


def _weighted_quantile(x: np.ndarray, w: np.ndarray, q: float) -> float:
    """Stata's (``summarize, detail``) percentile: the first sorted ``x_i`` with cumulative
    weight above ``q W``, the mean of ``x_i`` and ``x_{i+1}`` when it equals ``q W`` exactly."""
    order = np.argsort(x, kind="stable")
    xs, cw = x[order], np.cumsum(w[order])
    target = q * cw[-1]
    i = int(np.searchsorted(cw, target, side="left"))
    i = min(i, len(xs) - 1)
    if np.isclose(cw[i], target, rtol=1e-12, atol=0.0) and i + 1 < len(xs):
        return float(0.5 * (xs[i] + xs[i + 1]))
    return float(xs[i])


@dataclass
class _Sample:
    """The rows margins averages over, with their weights and the model's variables."""

    frame: pd.DataFrame
    w: np.ndarray
    variables: dict[str, Variable]
    in_sample: bool
    #: the model's offset / exposure columns (column name -> spec), carried with the rows
    offsets: dict[str, OffsetSpec] = field(default_factory=dict)

    def offset_mean(self, name: str) -> float:
        """The column value whose offset is the weighted mean offset (``atmeans``).

        An exposure enters as ``log t``, so its "mean" is ``exp(mean(log t))``.
        """
        spec = self.offsets[name]
        mean = float(self.w @ spec.transform(self.frame[name].to_numpy(dtype=float)) / self.w.sum())
        return float(np.exp(mean)) if spec.kind == "exposure" else mean

    def statistic(self, name: str, stat: str) -> float:
        x = self.frame[name].to_numpy(dtype=float)
        if stat == "mean":
            return float(self.w @ x / self.w.sum())
        if stat == "median":
            return _weighted_quantile(x, self.w, 0.5)
        if stat == "min":
            return float(x.min())
        if stat == "max":
            return float(x.max())
        m = _PERCENTILE.match(stat)
        if m:
            return _weighted_quantile(x, self.w, float(m.group(1)) / 100)
        raise FMMError(
            f"at value {stat!r} for {name!r} is not a number or a statistic; use a number, 'mean', 'median', "
            "'min', 'max' or 'p#' (percentile, e.g. 'p25')"
        )

    def proportions(self, name: str) -> dict:
        var = self.variables[name]
        col = self.frame[name]
        return {lv: float(self.w[(col == lv).to_numpy()].sum() / self.w.sum()) for lv in var.levels}

    def step(self, name: str) -> float:
        x = self.frame[name].to_numpy(dtype=float)
        mean = self.w @ x / self.w.sum()
        sd = float(np.sqrt(self.w @ (x - mean) ** 2 / self.w.sum()))
        return RELATIVE_STEP * (sd if sd > 0 else max(abs(mean), 1.0))


def _offset_columns(res) -> dict[str, OffsetSpec]:
    """The offset / exposure columns of the fitted classes; arrays cannot be re-read for new rows."""
    out: dict[str, OffsetSpec] = {}
    for spec in (res.model.offset_specs[j] for j in res.class_map):
        if spec is None:
            continue
        if not isinstance(spec.source, str):
            raise FMMError(
                f"margins re-evaluates the model on moved data, so it needs the {spec.kind} as a column: "
                f"refit with {spec.kind}='column name' instead of an array"
            )
        out[spec.source] = spec
    return out


def _sample(res, data: pd.DataFrame | None, factors: Sequence[str]) -> _Sample:
    model = res.model
    variables = model_variables(res, factors)
    offsets = _offset_columns(res)
    names = list(dict.fromkeys([*variables, *offsets]))
    # the families' own columns (a failure indicator, a limit) travel with the rows like the offsets: the
    # moved copies are complete observations of the model, and data= is cut to the rows the fit could use
    family_cols = [c for c in family_columns(res.families) if c not in names]
    if data is None:
        data = getattr(model, "data", None)
        rows = getattr(model.design, "rows", None)
        if data is None or rows is None:
            raise FMMError("the model does not hold its data; pass the estimation data as data=")
        names += family_cols
        missing = [v for v in names if v not in data.columns]
        if missing or (len(rows) and rows.max() >= len(data)):
            raise FMMError(
                "the data the model was fitted on has changed since the fit (columns or rows are gone); "
                "pass the data as data="
            )
        frame = data.iloc[rows][names]
        frame = frame.set_axis(model.design.index, axis=0)
        w = np.asarray(res.lik.w, dtype=float)
        in_sample = True
    else:
        if not isinstance(data, pd.DataFrame):
            raise FMMError(f"data must be a pandas DataFrame, got {type(data).__name__}")
        missing = [v for v in names if v not in data.columns]
        if missing:
            raise FMMError(f"data lacks the model variable(s) {missing}")
        # a mean does not read them, so new data need not have them; where present, a missing value
        # drops the row as in the fit
        names += [c for c in family_cols if c in data.columns]
        frame = data[names].dropna()
        if len(frame) == 0:
            raise FMMError("data has no complete row of the model's variables")
        w = np.ones(len(frame))
        in_sample = False
    variables = model_variables(res, factors, frame)
    return _Sample(frame, w, variables, in_sample, offsets)


def _resolve_value(sample: _Sample, name: str, value):
    var = sample.variables[name]
    if var.factor:
        for lv in var.levels:
            if lv == value or str(lv) == str(value):
                return lv
        raise FMMError(f"at value {value!r} is not a level of factor {name!r}; its levels are {var.levels}")
    if isinstance(value, str):
        return sample.statistic(name, value)
    try:
        return float(value)
    except (TypeError, ValueError):
        raise FMMError(f"at value {value!r} for {name!r} must be a number or a statistic such as 'mean'") from None


def _scenarios(sample: _Sample, at, atmeans: bool) -> list[Scenario]:
    if isinstance(at, str):
        if at.strip().lower() != "means":
            raise FMMError(f"at={at!r} is not understood; use a dict such as {{'x': 1}} or at='means'")
        at, atmeans = None, True
    if at is None:
        specs: list[Mapping] = [{}]
    elif isinstance(at, Mapping):
        specs = [at]
    elif isinstance(at, Sequence) and all(isinstance(a, Mapping) for a in at):
        specs = list(at)
    else:
        raise FMMError("at must be a dict {variable: value or list of values}, a list of such dicts, or 'means'")
    out: list[Scenario] = []
    for spec in specs:
        unknown = [k for k in spec if k not in sample.variables]
        if unknown:
            raise FMMError(
                f"at= names {unknown}, not variables of the model; its variables are {', '.join(sample.variables)}"
            )
        grids = []
        for name, value in spec.items():
            values = list(value) if isinstance(value, (list, tuple, np.ndarray, pd.Series, range)) else [value]
            if not values:
                raise FMMError(f"at= gives no value for {name!r}")
            grids.append([(name, _resolve_value(sample, name, v)) for v in values])
        for combo in itertools.product(*grids) if grids else [()]:
            scen = Scenario(len(out) + 1, dict(combo), atmeans)
            if atmeans:
                for name, var in sample.variables.items():
                    if name in scen.fixed:
                        continue
                    if var.factor:
                        scen.proportions[name] = sample.proportions(name)
                    else:
                        scen.means[name] = sample.statistic(name, "mean")
                for name in sample.offsets:
                    if name not in scen.fixed and name not in sample.variables:
                        scen.means[name] = sample.offset_mean(name)
            out.append(scen)
    return out


# ----------------------------------------------------------------- targets
@dataclass(frozen=True)
class Target:
    """A prediction to average: class ``cls``'s mean or probability, or the marginal mean (``cls=None``)."""

    kind: str
    cls: int | None

    @property
    def label(self):
        return "marginal" if self.cls is None else self.cls

    @property
    def title(self) -> str:
        return "Marginal" if self.cls is None else f"Class {self.cls}"


def _targets(res, kind: str, classes) -> list[Target]:
    if kind not in KINDS:
        raise FMMError(f"kind={kind!r} is not known; use 'mu' (means) or 'classpr' (class probabilities)")
    common = len({fam.modelled_response(res.yname) for fam in res.families}) == 1  # not a cure model
    if classes is None:
        picked: list = list(range(1, res.k + 1)) + (["marginal"] if kind == "mu" and res.k > 1 and common else [])
    elif isinstance(classes, (str, int, np.integer)):
        picked = [classes]
    else:
        picked = list(classes)
    out = []
    for c in picked:
        if isinstance(c, str) and c.lower() == "marginal":
            if kind != "mu":
                raise FMMError("classes='marginal' is the marginal mean; it needs kind='mu'")
            check_common_response(res, "the marginal mean")
            out.append(Target(kind, None))
        elif isinstance(c, (int, np.integer)) and not isinstance(c, bool) and 1 <= c <= res.k:
            out.append(Target(kind, int(c)))
        else:
            raise FMMError(f"classes must hold class labels 1..{res.k} or 'marginal', got {c!r}")
    if not out:
        raise FMMError("classes= selects no prediction")
    return out


# --------------------------------------------------------------- evaluation
@dataclass
class _Arrays:
    designs: list[np.ndarray]
    Z: np.ndarray
    w: np.ndarray
    #: offset of each class's first linear index on these rows (None: no offset)
    offsets: list[np.ndarray | None] | None = None


class _Evaluator:
    """Encodes scenarios and evaluates the targets' margins with their parameter gradients."""

    def __init__(self, res, sample: _Sample, targets: list[Target]):
        self.res = res
        self.sample = sample
        self.targets = targets
        self.lik = res.lik
        self.gamma, self.comps = self.lik.unpack(res.theta)

    # ------------------------------------------------------------- encoding
    def _frame(self, scen: Scenario, override: Mapping[str, object]) -> pd.DataFrame:
        base = self.sample.frame.iloc[:1] if scen.atmeans else self.sample.frame
        values = {**scen.means, **scen.fixed, **override}
        return base.assign(**values) if values else base

    def _encode(self, frames: list[pd.DataFrame], parts: set[str], what: str) -> list[tuple]:
        """``(designs, Z)`` of each frame; frames are stacked into few formulaic calls.

        formulaic's cost is mostly per call (~50 ms), so the stencil points or
        factor levels of one effect are encoded together, in batches of at
        most :data:`STACK_ROWS` rows.
        """
        out: list[tuple] = []
        batch: list[pd.DataFrame] = []

        def flush():
            if not batch:
                return
            stacked = pd.concat(batch, ignore_index=True) if len(batch) > 1 else batch[0]
            with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
                enc = encode_newdata(self.res, stacked, parts)
            if enc.missing is not None and enc.missing.any():
                raise FMMError(
                    f"the formulas are not defined at {what} for some rows "
                    "(a transform such as log or sqrt left its domain); choose other at= values"
                )
            start = 0
            for f in batch:
                stop = start + len(f)
                designs = None if enc.designs is None else _split_designs(enc.designs, start, stop)
                offsets = None if enc.offsets is None else [None if o is None else o[start:stop] for o in enc.offsets]
                out.append((designs, None if enc.Z is None else enc.Z[start:stop], offsets))
                start = stop
            batch.clear()

        rows = 0
        for f in frames:
            if batch and rows + len(f) > STACK_ROWS:
                flush()
                rows = 0
            batch.append(f)
            rows += len(f)
        flush()
        return out

    def arrays(
        self,
        scen: Scenario,
        overrides: list[Mapping[str, object]],
        parts: set[str],
        base: _Arrays | None,
        what: str,
    ) -> list[_Arrays]:
        """Designs and membership design of a scenario under each override.

        Parts not in ``parts`` come from ``base``. Factors at their means
        (``atmeans``) enter through the proportion-weighted average of the
        rows encoded at each level combination: the design is multilinear in
        the indicators of distinct factors, so this is the design at the
        means.
        """
        pieces: list[tuple[int, float, pd.DataFrame]] = []
        for i, override in enumerate(overrides):
            frame = self._frame(scen, override)
            mixed = {k: v for k, v in scen.proportions.items() if k not in override}
            if not mixed:
                pieces.append((i, 1.0, frame))
                continue
            for combo in itertools.product(*[list(p.items()) for p in mixed.values()]):
                weight = float(np.prod([p for _, p in combo]))
                if weight > 0.0:
                    pieces.append((i, weight, frame.assign(**{n: lv for n, (lv, _) in zip(mixed, combo)})))
        encoded = self._encode([f for _, _, f in pieces], parts, what)
        designs: list = [None] * len(overrides)
        Zs: list = [None] * len(overrides)
        offsets: list = [None] * len(overrides)
        for (i, weight, _), (d_c, z_c, o_c) in zip(pieces, encoded):
            if d_c is not None:
                scaled = d_c if weight == 1.0 else [weight * x for x in d_c]
                designs[i] = scaled if designs[i] is None else [a + x for a, x in zip(designs[i], scaled)]
            if o_c is not None:
                # the offset columns are not moved by factor levels: the weighted sum is the offset itself
                o_w = [None if o is None else weight * o for o in o_c]
                offsets[i] = o_w if offsets[i] is None else [a if a is None else a + o for a, o in zip(offsets[i], o_w)]
            if z_c is not None:
                Zs[i] = weight * z_c if Zs[i] is None else Zs[i] + weight * z_c
        w = np.ones(1) if scen.atmeans else self.sample.w
        out = []
        for d_i, z_i, o_i in zip(designs, Zs, offsets):
            if base is not None:
                o_i = base.offsets if d_i is None else o_i
                d_i = base.designs if d_i is None else d_i
                z_i = base.Z if z_i is None else z_i
            out.append(_Arrays(d_i, z_i, w, o_i))
        return out

    # ----------------------------------------------------------- margins
    def evaluate(self, arr: _Arrays) -> tuple[np.ndarray, np.ndarray]:
        """Margins of the targets (T,) and their gradients in the parameters (T, P)."""
        lik, res = self.lik, self.res
        w, Z = arr.w, arr.Z
        W = float(w.sum())
        q = lik.membership.q
        pi = np.exp(lik.membership.log_prior(self.gamma, Z))
        values = np.zeros(len(self.targets))
        jac = np.zeros((len(self.targets), lik.n_params))
        mus, dmus = [], []
        if any(t.kind == "mu" for t in self.targets):
            # the families bound to these rows' offsets (lik.families carry the estimation rows')
            offsets = arr.offsets or [None] * res.k
            families = [fam.with_offset(off) for fam, off in zip(res.families, offsets)]
            for fam, X, th in zip(families, arr.designs, self.comps):
                eta, anc = fam.indices(X, th)
                mus.append(fam.mean_from_index(eta, anc))
                dmus.append(mean_index_derivatives(fam, eta, anc))
        for row, t in enumerate(self.targets):
            if t.kind == "classpr":
                k = t.cls - 1
                values[row] = w @ pi[:, k] / W
                for b, j in enumerate(lik.membership.others):
                    c = w * pi[:, k] * ((k == j) - pi[:, j])
                    jac[row, b * q : (b + 1) * q] = weighted_sum(Z, c) / W
            elif t.cls is not None:
                k = t.cls - 1
                values[row] = w @ mus[k] / W
                jac[row, lik.comp_slices[k]] = self._mean_jacobian(k, arr.designs[k], dmus[k], w) / W
            else:
                mbar = sum(pi[:, k] * mus[k] for k in range(res.k))
                values[row] = w @ mbar / W
                for k in range(res.k):
                    jac[row, lik.comp_slices[k]] = self._mean_jacobian(k, arr.designs[k], dmus[k], w * pi[:, k]) / W
                for b, j in enumerate(lik.membership.others):
                    jac[row, b * q : (b + 1) * q] = weighted_sum(Z, w * pi[:, j] * (mus[j] - mbar)) / W
        return values, jac

    def _mean_jacobian(self, k: int, X: np.ndarray, dmu: np.ndarray, c: np.ndarray) -> np.ndarray:
        """``sum_i c_i d mu_ik / d theta_k``."""
        fam = self.lik.families[k]
        parts = [weighted_sum(D, c * dmu[:, e]) for e, D in enumerate(fam.designs(X))]
        return np.concatenate(parts) if parts else np.zeros(0)


def _split_designs(designs: list[np.ndarray], start: int, stop: int) -> list[np.ndarray]:
    """Row slices of the class designs, keeping shared arrays shared."""
    cache: dict[int, np.ndarray] = {}
    return [cache.setdefault(id(X), X[start:stop]) for X in designs]


# ------------------------------------------------------------------ results
@dataclass(repr=False)
class Margins(TextReport):
    """Result of :meth:`FMMResults.margins`, printed in Stata's layout.

    Attributes
    ----------
    frame : DataFrame
        One row per margin or effect, indexed by ``class`` (1..K or
        ``"marginal"``), ``at`` (scenario number) and, for effects,
        ``variable`` and ``level`` (the factor level, ``""`` for a continuous
        variable); columns ``margin`` or ``dydx``, ``se``, ``z``, ``p``,
        ``ci_low``, ``ci_high``.
    cov : ndarray
        Delta-method covariance of all rows of ``frame``.
    jacobian : ndarray
        Derivatives of the rows with respect to the parameters.
    scenarios : list of Scenario
        The ``at`` settings, numbered as the ``at`` level.
    """

    frame: pd.DataFrame
    cov: np.ndarray
    jacobian: np.ndarray
    scenarios: list[Scenario]
    kind: str
    effects: bool
    yname: str
    nobs: float
    vce: str
    alpha: float = 0.05
    wrt: list[str] = field(default_factory=list)

    @property
    def column(self) -> str:
        return "dydx" if self.effects else "margin"

    def to_frame(self) -> pd.DataFrame:
        """Tidy table: the index levels as columns."""
        return self.frame.reset_index()

    def summary_frame(self) -> pd.DataFrame:
        return self.frame

    # --------------------------------------------------------------- text
    def _title(self) -> str:
        atmeans = any(s.atmeans for s in self.scenarios)
        if self.effects:
            return "Conditional marginal effects" if atmeans else "Average marginal effects"
        return "Adjusted predictions" if atmeans else "Predictive margins"

    def _expression(self) -> str:
        if self.kind == "classpr":
            return "Expression: Pr(class k), latent class probability"
        text = f"Expression: E({self.yname} | class k)"
        if "marginal" in self.frame.index.get_level_values("class"):
            text += f"; marginal: sum_k Pr(class k) E({self.yname} | class k)"
        return text

    def _rows(self) -> list[CoefRow]:
        rows: list[CoefRow] = []
        several = len(self.scenarios) > 1
        for n_block, (cls, block) in enumerate(self.frame.groupby(level="class", sort=False)):
            if n_block:
                rows.append(CoefRow(kind="rule"))
            rows.append(CoefRow("Marginal" if cls == "marginal" else f"Class {cls}", kind="header"))
            if not self.effects:
                if several:
                    rows.append(CoefRow("_at", kind="header"))
                for (_, at), r in block.iterrows():
                    rows.append(self._row(str(at) if several else "_cons", r))
                continue
            grouped = False  # the previous variable had a header and sub-rows
            for n_var, (var, vblock) in enumerate(block.groupby(level="variable", sort=False)):
                factor = any(lv != "" for lv in vblock.index.get_level_values("level"))
                if n_var and (factor or several or grouped):
                    rows.append(CoefRow(kind="blank"))
                grouped = factor or several
                if grouped:
                    rows.append(CoefRow(var, kind="header"))
                for (_, at, _, lv), r in vblock.iterrows():
                    label = str(lv) if lv != "" else var
                    if several:
                        label = f"{lv}#{at}._at" if lv != "" else f"{at}._at"
                    rows.append(self._row(label, r))
        return rows

    def _row(self, label: str, r: pd.Series) -> CoefRow:
        return CoefRow(label, r[self.column], r["se"], r["z"], r["p"], r["ci_low"], r["ci_high"])

    def as_text(self) -> str:
        first = "dy/dx" if self.effects else "Margin"
        lines = [
            "",
            f"{self._title():<48}Number of obs     = {thousands(self.nobs):>10}",
            f"Model VCE: {self.vce}",
            "",
            self._expression(),
        ]
        if self.effects:
            lines.append(f"dy/dx wrt:  {' '.join(self.wrt)}")
        legends = [s.legend() for s in self.scenarios]
        if any(legends):
            lines.append("")
            for s, leg in zip(self.scenarios, legends):
                prefix = f"{s.number}._at: " if len(self.scenarios) > 1 else "At: "
                for i, text in enumerate(leg):
                    lines.append((prefix if i == 0 else " " * len(prefix)) + text)
        lines.append("")
        head = column_header(first, self.alpha, above="            Delta-method")
        lines += table_text(head, self._rows())
        if self.effects and any(lv != "" for lv in self.frame.index.get_level_values("level")):
            lines.append("Note: dy/dx for factor levels is the discrete change from the base level.")
        return "\n".join(lines)

    def to_markdown(self) -> str:
        return table_markdown(self._rows(), "dy/dx" if self.effects else "Margin", self.alpha)

    def to_latex(self) -> str:
        return table_latex(self._rows(), "dy/dx" if self.effects else "Margin", self.alpha)


# --------------------------------------------------------------------- main
def _dydx_variables(sample: _Sample, dydx, kind: str) -> list[str]:
    if isinstance(dydx, str) and dydx.strip() in ("*", "_all", "all"):
        if kind == "classpr":
            return [n for n, v in sample.variables.items() if v.in_z]
        return list(sample.variables)
    names = [dydx] if isinstance(dydx, str) else list(dydx)
    unknown = [n for n in names if n not in sample.variables]
    if unknown:
        raise FMMError(
            f"dydx names {unknown}, not variables of the model; its variables are {', '.join(sample.variables)} "
            "(effects are with respect to variables, e.g. 'age' for age and I(age**2))"
        )
    return list(dict.fromkeys(names))


def _vce_label(res) -> str:
    for attr in ("cov_type", "vce"):
        value = getattr(res, attr, None)
        if isinstance(value, str) and value:
            return {"oim": "OIM", "opg": "OPG", "robust": "Robust", "cluster": "Robust"}.get(value.lower(), value)
    return "OIM"


def margins(
    res,
    dydx: str | Sequence[str] | None = None,
    at=None,
    atmeans: bool = False,
    classes=None,
    kind: str = "mu",
    factors: Sequence[str] = (),
    data: pd.DataFrame | None = None,
    alpha: float = 0.05,
) -> Margins:
    """Predictive margins and marginal effects; see :meth:`PostestimationMixin.margins`."""
    targets = _targets(res, kind, classes)
    if isinstance(factors, str):
        factors = [factors]
    sample = _sample(res, data, list(factors))
    scenarios = _scenarios(sample, at, atmeans)
    ev = _Evaluator(res, sample, targets)
    V = covariance(res)
    wrt = [] if dydx is None else _dydx_variables(sample, dydx, kind)

    values, jacs, index = [], [], []
    wrt_labels: list[str] = []
    for scen in scenarios:
        base = ev.arrays(scen, [{}], {"x", "z"}, None, "the at values")[0]
        if sample.in_sample and not scen.atmeans and not scen.fixed:
            _check_in_sample(res, base)
        if not wrt:
            v, j = ev.evaluate(base)
            values.append(v)
            jacs.append(j)
            index += [(t.label, scen.number) for t in targets]
            continue
        for name in wrt:
            var = sample.variables[name]
            parts = {p for p, used in (("x", var.in_x), ("z", var.in_z)) if used}
            if var.factor:
                others = [lv for lv in var.levels if lv != var.base]
                moved = ev.arrays(
                    scen, [{name: lv} for lv in [var.base, *others]], parts, base, f"the levels of {name}"
                )
                ref = ev.evaluate(moved[0])
                for lv, arr in zip(others, moved[1:]):
                    v, j = ev.evaluate(arr)
                    values.append(v - ref[0])
                    jacs.append(j - ref[1])
                    index += [(t.label, scen.number, name, str(lv)) for t in targets]
                    if scen.number == 1:
                        wrt_labels.append(f"{lv}.{name}")
                continue
            h = sample.step(name)
            point = scen.fixed.get(name, scen.means.get(name))
            center = sample.frame[name].to_numpy(dtype=float) if point is None else float(point)
            moved = ev.arrays(scen, [{name: center + t * h} for t, _ in STENCIL], parts, base, f"{name} +- 2h")
            v_acc, j_acc = 0.0, 0.0
            for (_, c), arr in zip(STENCIL, moved):
                v, j = ev.evaluate(arr)
                v_acc = v_acc + c * v
                j_acc = j_acc + c * j
            values.append(v_acc / h)
            jacs.append(j_acc / h)
            index += [(t.label, scen.number, name, "") for t in targets]
            if scen.number == 1:
                wrt_labels.append(name)
    est = np.concatenate(values)
    G = np.vstack(jacs)
    if wrt:
        # a prediction that does not read the variable has an effect of exactly 0
        # (the stencil would leave rounding noise of ~1e-14 with a meaningless z)
        fixed = np.array([not sample.variables[i[2]].moves(_target_of(i[0], targets)) for i in index])
        est[fixed] = 0.0
        G[fixed] = 0.0
    cov = G @ V @ G.T
    se = np.sqrt(np.clip(np.diag(cov), 0, None))
    zq = stats.norm.ppf(1 - alpha / 2)
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(se > 0, est / se, np.nan)
    names = ["class", "at"] + (["variable", "level"] if wrt else [])
    col = "dydx" if wrt else "margin"
    frame = pd.DataFrame(
        {
            col: est,
            "se": se,
            "z": z,
            "p": 2 * stats.norm.sf(np.abs(z)),
            "ci_low": est - zq * se,
            "ci_high": est + zq * se,
        },
        index=pd.MultiIndex.from_tuples(index, names=names),
    )
    order = _block_order(frame, targets)
    frame, cov, G = frame.iloc[order], cov[np.ix_(order, order)], G[order]
    nobs = res.nobs if sample.in_sample else float(sample.w.sum())
    return Margins(frame, cov, G, scenarios, kind, bool(wrt), res.yname, nobs, _vce_label(res), alpha, wrt_labels)


def _target_of(label, targets: list[Target]) -> Target:
    return next(t for t in targets if t.label == label)


def _block_order(frame: pd.DataFrame, targets: list[Target]) -> np.ndarray:
    """Rows grouped by class (in the targets' order), stable within a class."""
    labels = frame.index.get_level_values("class")
    rank = {t.label: i for i, t in enumerate(targets)}
    return np.argsort([rank[c] for c in labels], kind="stable")


def _check_in_sample(res, arr: _Arrays) -> None:
    """The re-encoded estimation sample must reproduce the fitted designs (the data may have changed)."""
    for X, X0 in zip(arr.designs, res.lik.designs):
        if X.shape != X0.shape or not np.allclose(X, X0, rtol=1e-10, atol=1e-12):
            raise FMMError(
                "the model's data changed after the fit (re-encoding it does not give the fitted design); "
                "pass the estimation data as data="
            )
