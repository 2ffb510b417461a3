"""Formulas and data to arrays: the only module that touches formulaic.

Rows with a missing value in any variable used by any formula (component,
class membership, weights) are dropped once, for all parts together, as
Stata does; rows where a transform gives a non-finite value (``np.log(0)``)
are dropped too. The formulaic ``ModelSpec`` of every part is kept so that
new data are encoded exactly the same way (categorical levels,
interactions, transforms).
"""

from __future__ import annotations

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
    #: Data columns the families read besides the response (``ComponentFamily.data_columns``), by name.
    columns: dict[str, np.ndarray] = field(default_factory=dict)


def _intercept_last(names: list[str]) -> list[int]:
    """Column order that puts the intercept last, as Stata prints ``_cons``."""
    order = [i for i, n in enumerate(names) if n != INTERCEPT]
    return order + [i for i, n in enumerate(names) if n == INTERCEPT]


def _parse(formula: str, what: str, needs_lhs: bool) -> Formula:
    if not isinstance(formula, str):
        raise TypeError(f"{what} must be a string formula such as 'y ~ x1 + x2', got {type(formula).__name__}")
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


def data_column(data: pd.DataFrame, name: str) -> np.ndarray:
    """One data column a family reads (a limit, a failure indicator), as floats.

    Booleans become 0/1; missing values stay NaN (the caller drops or marks
    those rows).
    """
    col = data[name]
    if col.dtype == bool or str(col.dtype) == "boolean":
        col = col.astype("float64")
    try:
        return np.asarray(pd.to_numeric(col), dtype=float)
    except (TypeError, ValueError) as exc:
        raise FMMError(
            f"data column {name!r}, read by a component family, must be numeric (got dtype {col.dtype}): {exc}"
        ) from exc


def build_design(
    formulas: list[str],
    data: pd.DataFrame,
    class_formula: str | None = None,
    weights: str | np.ndarray | pd.Series | None = None,
    families: list | None = None,
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
        drop a row. The columns a family declares in ``data_columns()`` are
        read into ``Design.columns`` (their missing values drop the row).
    """
    if families:
        # a family may add terms its own indices need (ivregress: the excluded instruments)
        formulas = [fam.extend_formula(f) for f, fam in zip(formulas, families)]
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

    extra = sorted({c for f in families or [] for c in f.data_columns().values()})
    required: set[str] = set(extra)
    for p in parsed.values():
        required |= set(p.required_variables) - set(FORMULA_FUNCTIONS)
    if cf is not None:
        required |= set(cf.required_variables)
    wcol = None
    if isinstance(weights, str):
        wcol = weights
        required.add(weights)
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

    lhs_vars: set[str] = set()
    for p in parsed.values():
        lhs_vars |= set(p.lhs.required_variables)
    listwise = sorted(required - lhs_vars) if missing_y_ok else sorted(required)
    keep = data[listwise].notna().all(axis=1).to_numpy()
    if w_all is not None:
        keep &= np.isfinite(w_all)
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
    columns = {c: data_column(sub, c) for c in extra}

    if missing_y_ok:
        finite = np.ones(len(y), dtype=bool)
    else:
        finite = np.isfinite(y) if y.ndim == 1 else np.isfinite(y).all(axis=1)
    for X, _, _ in xs.values():
        finite &= np.isfinite(X).all(axis=1)
    finite &= np.isfinite(Z).all(axis=1)
    index = sub.index
    if not finite.all():
        y = y[finite]
        xs = {f: (X[finite], names, spec) for f, (X, names, spec) in xs.items()}
        Z = Z[finite]
        w = None if w is None else w[finite]
        columns = {c: v[finite] for c, v in columns.items()}
        index = index[finite]
    if w is not None and np.any(w < 0):
        raise ValueError("weights must be non-negative")

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
        columns=columns,
    )


def encode_new(spec, data: pd.DataFrame, names: list[str], what: str) -> np.ndarray:
    """Replay a stored ModelSpec on new data, columns in the fitted order."""
    try:
        mm = spec.get_model_matrix(data, na_action="ignore")
    except Exception as exc:
        raise ValueError(f"could not encode new data for the {what}: {exc}") from exc
    frame = pd.DataFrame(np.asarray(mm, dtype=float), columns=list(mm.model_spec.column_names))
    return frame[names].to_numpy()
