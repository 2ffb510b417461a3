"""Formulas and data to arrays: the only module that touches formulaic.

Rows with a missing value in any variable used by any formula (component,
class membership, weights) are dropped once, for all parts together, as
Stata does; rows where a transform gives a non-finite value (``np.log(0)``)
are dropped too. The formulaic ``ModelSpec`` of every part is kept so that
new data are encoded exactly the same way (categorical levels,
interactions, transforms).
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from formulaic import Formula, model_matrix

from fmmreg.exceptions import FMMError

INTERCEPT = "Intercept"


def cbind(*columns) -> np.ndarray:
    """R's ``cbind`` for a two-column response: ``cbind(deaths, total - deaths) ~ x``."""
    return np.column_stack(columns)


#: Functions a formula may call besides formulaic's transforms (not data columns).
FORMULA_FUNCTIONS = {"cbind": cbind}


@dataclass(frozen=True)
class TermLabel:
    """What a design column is, for the reports: its variable and, for a factor, its level.

    ``variable`` is what Stata prints as the row (``income``) or as the header
    of a factor block (``health`` for ``health[T.poor]``, ``region`` for
    ``C(region)[T.west]``, ``health#c.chronic`` for an interaction);
    ``level`` is the category label of a factor column (``poor``,
    ``poor#west``) and ``None`` otherwise.
    """

    variable: str
    level: str | None = None


@dataclass
class Design:
    """Arrays and labels of a mixture model, ready for the engine."""

    y: np.ndarray
    yname: str
    designs: list[np.ndarray]
    xnames: list[list[str]]
    x_specs: list
    Z: np.ndarray
    znames: list[str]
    z_spec: object | None
    weights: np.ndarray | None
    index: pd.Index
    n_dropped: int
    formulas: list[str] = field(default_factory=list)
    class_formula: str | None = None
    #: extra per-row variables (offsets, exposures) of the rows used, by key
    extra: dict[str, np.ndarray] = field(default_factory=dict)
    #: positions (0-based) in the input data of the rows used, aligned with ``index``
    rows: np.ndarray | None = None
    #: design column name -> :class:`TermLabel`, for every formula's columns
    term_labels: dict[str, TermLabel] = field(default_factory=dict)


def _factor_variable(expr: str) -> str:
    """``C(region, contr.sum)`` -> ``region``; any other expression unchanged."""
    if not (expr.startswith("C(") and expr.endswith(")")):
        return expr
    inner, depth = expr[2:-1], 0
    for i, ch in enumerate(inner):
        depth += ch in "([{"
        depth -= ch in ")]}"
        if ch == "," and depth == 0:
            return inner[:i].strip()
    return inner.strip()


def _level_text(value) -> str:
    """Category label as printed: ``1.0 -> '1'``, strings unchanged."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def term_labels(spec) -> dict[str, TermLabel]:
    """Column name -> :class:`TermLabel` from a formulaic ``ModelSpec``.

    Every column of every (scoped) term is enumerated from the encoder
    state (categories and contrasts, as formulaic names them) and matched
    by name, so the labels describe exactly the columns of the design.
    Columns that cannot be matched (multi-column transforms such as
    splines) are labelled by their own name.
    """
    if spec is None:
        return {}
    state = spec.encoder_state
    out: dict[str, TermLabel] = {}
    for structure in spec.structure:
        for scoped in structure.scoped_terms:
            parts = []  # one list of (column piece, variable, level) per factor
            for sf in scoped.factors:
                expr = str(sf.factor.expr)
                kind, info = state.get(expr, (None, {}))
                contrasts = info.get("contrasts") if isinstance(info, dict) else None
                if contrasts is None or getattr(kind, "value", kind) != "categorical":
                    parts.append([(expr, expr, None)])
                    continue
                levels = list(contrasts.levels)
                coding = contrasts.contrasts
                fmt = coding.get_factor_format(levels, reduced_rank=sf.reduced)
                fields = coding.get_coding_column_names(levels, reduced_rank=sf.reduced)
                var = _factor_variable(expr)
                parts.append([(fmt.format(name=expr, field=f), var, _level_text(f)) for f in fields])
            if not parts:
                continue
            interaction = len(parts) > 1
            for combo in itertools.product(*parts):
                name = ":".join(piece for piece, _, _ in combo)
                names = [var if lvl is not None or not interaction else f"c.{var}" for _, var, lvl in combo]
                levels = [lvl for _, _, lvl in combo if lvl is not None]
                out[name] = TermLabel("#".join(names), "#".join(levels) if levels else None)
    for name in spec.column_names:
        out.setdefault(name, TermLabel(name))
    return out


def _intercept_last(names: list[str]) -> list[int]:
    """Column order that puts the intercept last, as Stata prints ``_cons``."""
    order = [i for i, n in enumerate(names) if n != INTERCEPT]
    return order + [i for i, n in enumerate(names) if n == INTERCEPT]


_OFFSET_TERM = re.compile(r"\boffset\s*\(")


def _parse(formula: str, what: str, needs_lhs: bool) -> Formula:
    if not isinstance(formula, str):
        raise TypeError(f"{what} must be a string formula such as 'y ~ x1 + x2', got {type(formula).__name__}")
    if _OFFSET_TERM.search(formula):
        # formulaic has no offset() term (its coefficient would be estimated)
        raise FMMError(
            f"{what} {formula!r} has an offset(...) term, which formulas cannot express; remove it and pass "
            "offset='column' (or exposure='column' for log(column)) to fmm()/FMM()"
        )
    try:
        f = Formula(formula)
    except Exception as exc:  # formulaic raises several parser errors
        raise ValueError(f"could not parse {what} {formula!r}: {exc}") from exc
    has_lhs = hasattr(f, "lhs")
    if needs_lhs and not has_lhs:
        raise ValueError(f"{what} {formula!r} has no response; write it as 'y ~ x1 + x2'")
    if not needs_lhs and has_lhs:
        raise ValueError(f"{what} {formula!r} must not have a response; write it as '~ z1 + z2'")
    return f


def _matrix(spec_or_formula, data: pd.DataFrame):
    if isinstance(spec_or_formula, Formula):
        return model_matrix(spec_or_formula, data, na_action="ignore", context=FORMULA_FUNCTIONS)
    return spec_or_formula.get_model_matrix(data, na_action="ignore")


def _as_float(mm, what: str) -> np.ndarray:
    try:
        return np.asarray(mm, dtype=float)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{what} could not be converted to numbers: {exc}") from exc


def build_design(
    formulas: list[str],
    data: pd.DataFrame,
    class_formula: str | None = None,
    weights: str | np.ndarray | pd.Series | None = None,
    families: list | None = None,
    extra: dict[str, object] | None = None,
) -> Design:
    """Encode the component formulas (one per class) and the class formula.

    Parameters
    ----------
    formulas : list of str
        One ``y ~ x`` formula per class; identical formulas share one array.
    data : DataFrame
        Never modified.
    class_formula : str, optional
        ``~ z`` formula of the membership logit; ``None`` means constant shares.
    weights : str or array, optional
        Frequency weights: a column name of ``data`` or an array of length n.
    families : list of ComponentFamily, optional
        One per class. A family with ``intercept = False`` gets its class
        design without the intercept column; when every family has
        ``response_missing_ok`` the response's own missing values do not
        drop a row.
    extra : dict, optional
        Further per-row variables (offsets, exposures) by key: a column name
        of ``data`` or an array of length n. Rows where one is missing are
        dropped with the rest; ``Design.extra`` holds their values (float).
    """
    extra = dict(extra or {})
    intercepts = [getattr(f, "intercept", True) for f in families] if families else [True] * len(formulas)
    missing_y_ok = bool(families) and all(getattr(f, "response_missing_ok", False) for f in families)
    if not isinstance(data, pd.DataFrame):
        raise TypeError(f"data must be a pandas DataFrame, got {type(data).__name__}")
    parsed = {f: _parse(f, "formula", True) for f in dict.fromkeys(formulas)}
    lhs = {str(p.lhs) for p in parsed.values()}
    if len(lhs) > 1:
        raise ValueError(
            f"every class must model the same response, got {sorted(lhs)}; use one response in all formulas"
        )
    cf = None if class_formula is None else _parse(class_formula, "class_formula", False)

    required: set[str] = set()
    for p in parsed.values():
        required |= set(p.required_variables) - set(FORMULA_FUNCTIONS)
    if cf is not None:
        required |= set(cf.required_variables)
    wcol = None
    if isinstance(weights, str):
        wcol = weights
        required.add(weights)
    required |= {v for v in extra.values() if isinstance(v, str)}
    missing = sorted(v for v in required if v not in data.columns)
    if missing:
        raise ValueError(
            f"variable(s) {', '.join(map(repr, missing))} not found in data; "
            f"available columns: {', '.join(map(str, data.columns[:20]))}{' ...' if data.shape[1] > 20 else ''}"
        )
    if not isinstance(weights, (str, type(None))):
        w_all = np.asarray(weights, dtype=float)
        if w_all.shape != (len(data),):
            raise ValueError(f"weights must have one value per row of data ({len(data)}), got shape {w_all.shape}")
    else:
        w_all = None
    extra_all = {}
    for key, v in extra.items():
        if not isinstance(v, str):
            arr = np.asarray(v, dtype=float)
            if arr.shape != (len(data),):
                raise FMMError(
                    f"{key.split(':')[0]} must have one value per row of data ({len(data)}), got {arr.shape}"
                )
            extra_all[key] = arr

    lhs_vars: set[str] = set()
    for p in parsed.values():
        lhs_vars |= set(p.lhs.required_variables)
    listwise = sorted(required - lhs_vars) if missing_y_ok else sorted(required)
    keep = data[listwise].notna().all(axis=1).to_numpy()
    if w_all is not None:
        keep = keep & np.isfinite(w_all)  # to_numpy() may be read-only (copy-on-write)
    for arr in extra_all.values():
        keep = keep & np.isfinite(arr)
    sub = data.loc[keep]
    if len(sub) == 0:
        raise ValueError("no complete rows: every row has a missing value in some variable of the model")

    y = None
    xs: dict[str, tuple[np.ndarray, list[str], object]] = {}
    for f, p in parsed.items():
        mm = _matrix(p, sub)
        if y is None:
            y = _as_float(mm.lhs, f"response {str(p.lhs)!r}")
            yname = str(p.lhs)
            if y.shape[1] == 1:
                y = y[:, 0]
            else:
                yname = str(p.lhs)
        names = list(mm.rhs.model_spec.column_names)
        order = _intercept_last(names)
        xs[f] = (_as_float(mm.rhs, f"design of {f!r}")[:, order], [names[i] for i in order], mm.rhs.model_spec)
    if cf is None:
        Z, znames, zspec = np.ones((len(sub), 1)), [INTERCEPT], None
    else:
        mm = _matrix(cf, sub)
        names = list(mm.model_spec.column_names)
        order = _intercept_last(names)
        Z, znames, zspec = _as_float(mm, "class_formula design")[:, order], [names[i] for i in order], mm.model_spec
    if wcol is not None:
        w = _as_float(sub[wcol], f"weights column {wcol!r}")
    elif w_all is not None:
        w = w_all[keep]
    else:
        w = None
    ex = {
        key: extra_all[key][keep] if key in extra_all else _as_float(sub[v], f"column {v!r}")
        for key, v in extra.items()
    }

    if missing_y_ok:
        finite = np.ones(len(y), dtype=bool)
    else:
        finite = np.isfinite(y) if y.ndim == 1 else np.isfinite(y).all(axis=1)
    for X, _, _ in xs.values():
        finite &= np.isfinite(X).all(axis=1)
    finite &= np.isfinite(Z).all(axis=1)
    index = sub.index
    rows = np.flatnonzero(keep)
    if not finite.all():
        y = y[finite]
        xs = {f: (X[finite], names, spec) for f, (X, names, spec) in xs.items()}
        Z = Z[finite]
        w = None if w is None else w[finite]
        ex = {key: v[finite] for key, v in ex.items()}
        index = index[finite]
        rows = rows[finite]
    # the weights' own checks depend on their kind (fmmreg.weighting)

    # one array object per distinct (formula, intercept) pair: the engine and
    # the Hessian reuse it
    shared: dict[tuple[str, bool], tuple[np.ndarray, list[str]]] = {}
    for f, icpt in zip(formulas, intercepts):
        if (f, icpt) not in shared:
            X, names, _ = xs[f]
            cols = [i for i, n in enumerate(names) if icpt or n != INTERCEPT]
            shared[(f, icpt)] = (np.ascontiguousarray(X[:, cols]), [names[i] for i in cols])
    keys = list(zip(formulas, intercepts))
    return Design(
        y=y,
        yname=yname,
        designs=[shared[key][0] for key in keys],
        xnames=[shared[key][1] for key in keys],
        x_specs=[xs[f][2] for f in formulas],
        Z=np.ascontiguousarray(Z),
        znames=znames,
        z_spec=zspec,
        weights=w,
        index=index,
        n_dropped=int(len(data) - len(index)),
        formulas=list(formulas),
        class_formula=class_formula,
        extra=ex,
        rows=rows,
        term_labels={k: v for spec in [*(x[2] for x in xs.values()), zspec] for k, v in term_labels(spec).items()},
    )


def encode_new(spec, data: pd.DataFrame, names: list[str], what: str) -> np.ndarray:
    """Replay a stored ModelSpec on new data, columns in the fitted order."""
    try:
        mm = spec.get_model_matrix(data, na_action="ignore")
    except Exception as exc:
        raise ValueError(f"could not encode new data for the {what}: {exc}") from exc
    frame = pd.DataFrame(np.asarray(mm, dtype=float), columns=list(mm.model_spec.column_names))
    return frame[names].to_numpy()
