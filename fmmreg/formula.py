"""Formulas and data to arrays: the only module that touches formulaic.

Rows with a missing value in any variable used by any formula (component,
class membership, weights) are dropped once, for all parts together, as
Stata does; rows where a transform gives a non-finite value (``np.log(0)``)
are dropped too. The formulaic ``ModelSpec`` of every part is kept so that
new data are encoded exactly the same way (categorical levels,
interactions, transforms).

Before encoding, the columns are checked with the rules of
:mod:`fmmreg.datacheck` (text columns, ``±inf``, duplicated names, the event
of a binary response); any error while encoding is an :class:`FMMError`
naming the formula, never a formulaic or numpy traceback.
"""

from __future__ import annotations

import ast
import itertools
import re
import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from formulaic import Formula, model_matrix

from fmmreg.datacheck import (
    MIN_ROWS_PER_LEVEL,
    BinaryCoding,
    ColumnSummary,
    binary_coding,
    check_duplicate_columns,
    check_infinite,
    check_text_column,
    is_boolean,
    is_text,
    many_levels,
    user_stacklevel,
)
from fmmreg.exceptions import DataWarning, FMMError

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
    #: Data columns the families read besides the response (``ComponentFamily.data_columns``), by name.
    columns: dict[str, np.ndarray] = field(default_factory=dict)
    #: how a boolean / text / categorical response of a binary family was coded 0/1
    #: (``coding.label`` is ``"insurance = yes"``); None for a numeric response
    response_coding: BinaryCoding | None = None
    #: extra per-row variables (offsets, exposures) of the rows used, by key
    extra: dict[str, np.ndarray] = field(default_factory=dict)
    #: positions (0-based) in the input data of the rows used, aligned with ``index``
    rows: np.ndarray | None = None
    #: design column name -> :class:`TermLabel`, for every formula's columns
    term_labels: dict[str, TermLabel] = field(default_factory=dict)

    @property
    def event(self) -> str | None:
        """``"insurance = yes"``: the outcome a binary family's probability is of."""
        return None if self.response_coding is None else self.response_coding.label


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
        raise FMMError(f"could not parse {what} {formula!r}: {_plain(exc)}") from None
    has_lhs = hasattr(f, "lhs")
    if needs_lhs and not has_lhs:
        raise FMMError(f"{what} {formula!r} has no response; write it as 'y ~ x1 + x2'")
    if not needs_lhs and has_lhs:
        raise FMMError(f"{what} {formula!r} must not have a response; write it as '~ z1 + z2'")
    return f


def _text_hint(columns: set[str], text_columns: set[str]) -> str:
    text = sorted(columns & text_columns)
    if not text:
        return ""
    return f" (text column(s) {', '.join(map(repr, text))}: convert them with pd.to_numeric or use C(...))"


def _matrix(spec_or_formula, data: pd.DataFrame, what: str = "formula", text_columns: frozenset = frozenset()):
    """Encode with formulaic; its errors become an :class:`FMMError` naming ``what``."""
    try:
        if isinstance(spec_or_formula, Formula):
            return model_matrix(spec_or_formula, data, na_action="ignore", context=FORMULA_FUNCTIONS)
        return spec_or_formula.get_model_matrix(data, na_action="ignore")
    except Exception as exc:  # formulaic, pandas and numpy raise many types for bad data
        hint = _text_hint(set(getattr(spec_or_formula, "required_variables", ())), set(text_columns))
        raise FMMError(f"could not encode the {what} on the data: {type(exc).__name__}: {_plain(exc)}{hint}") from None


def _as_design(mm, order: list[int], what: str) -> np.ndarray:
    """The model matrix's columns in ``order`` as one column-major float array.

    Column by column from the frame: one copy, no row-major interleaving
    (the engine reads designs column by column).
    """
    try:
        if isinstance(mm, pd.DataFrame):
            out = np.empty((len(mm), len(order)), order="F")
            for j, i in enumerate(order):
                out[:, j] = mm.iloc[:, i].to_numpy(dtype=float)
            return out
        return np.asfortranarray(np.asarray(mm, dtype=float)[:, order])
    except (TypeError, ValueError) as exc:
        raise FMMError(f"{what} could not be converted to numbers: {exc}") from None


def _as_float(mm, what: str) -> np.ndarray:
    try:
        return np.asarray(mm, dtype=float)
    except (TypeError, ValueError) as exc:
        raise FMMError(f"{what} could not be converted to numbers: {exc}") from None


_ANSI = re.compile(r"\x1b\[[0-9;]*m")


def _plain(exc: Exception) -> str:
    """An exception's message without the terminal colour codes formulaic puts in it."""
    return _ANSI.sub("", str(exc))


# ------------------------------------------------------------ column roles
_QUOTED = re.compile(r"`([^`]*)`")


def _expression_uses(expr: str, columns: set[str]) -> dict[str, str]:
    """Columns a Python factor reads: ``"categorical"`` as ``C(col)``, else ``"expression"``."""
    quoted: dict[str, str] = {}

    def unquote(m: re.Match) -> str:
        key = f"_fmmreg_quoted_{len(quoted)}"
        quoted[key] = m.group(1)
        return key

    try:
        tree = ast.parse(_QUOTED.sub(unquote, expr), mode="eval")
    except SyntaxError:
        return {c: "expression" for c in columns if c in expr}
    uses: dict[str, str] = {}

    def visit(node: ast.AST, inside_c: bool) -> None:
        if isinstance(node, ast.Name):
            name = quoted.get(node.id, node.id)
            if name in columns and uses.get(name) != "expression":
                uses[name] = "categorical" if inside_c else "expression"
            return
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "C" and node.args:
            visit(node.args[0], True)
            for other in node.args[1:] + [kw.value for kw in node.keywords]:
                visit(other, False)
            return
        for child in ast.iter_child_nodes(node):
            visit(child, False)

    visit(tree, False)
    return uses


def _column_roles(terms, columns: set[str]) -> dict[str, set[str]]:
    """How each column is used: ``"bare"``, ``"categorical"`` (``C(col)``) or ``"expression"``."""
    roles: dict[str, set[str]] = {}
    for term in terms:
        for factor in term.factors:
            method = getattr(factor.eval_method, "value", factor.eval_method)
            if method == "literal":
                continue
            if method == "lookup":
                uses = {factor.expr: "bare"} if factor.expr in columns else {}
            else:
                uses = _expression_uses(factor.expr, columns)
            for c, how in uses.items():
                roles.setdefault(c, set()).add(how)
    return roles


def _factors(part):
    """Every factor of a parsed formula (its sides, terms, nested parts)."""
    if hasattr(part, "factors"):  # a term
        yield from part.factors
    elif hasattr(part, "lhs") or hasattr(part, "rhs"):
        for side in (getattr(part, "lhs", None), getattr(part, "rhs", None)):
            if side is not None:
                yield from _factors(side)
    else:
        for item in part:
            yield from _factors(item)


def formula_variables(formula, columns) -> set[str]:
    """Data columns a parsed formula reads.

    formulaic's ``required_variables`` leaves out the arguments of stateful
    transforms (``center(x)``, ``scale(x)``, ``poly(x, 2)``, ``bs(x, df=3)``),
    so the columns named in every Python-evaluated factor are added.
    """
    out = set(formula.required_variables) - set(FORMULA_FUNCTIONS)
    cols = set(columns)
    for factor in _factors(formula):
        if getattr(factor.eval_method, "value", factor.eval_method) == "python":
            out |= set(_expression_uses(factor.expr, cols))
    return out


#: formulaic transforms that learn a state from the data they first see (Q only quotes a name)
STATEFUL_TRANSFORMS = frozenset({"bs", "cc", "cr", "cs", "center", "poly", "scale", "standardize"})


def stateful_transforms(formula) -> set[str]:
    """Names of the stateful transforms (``center``, ``poly``, ``bs``, ...) a parsed formula calls."""
    out: set[str] = set()
    for factor in _factors(formula):
        if getattr(factor.eval_method, "value", factor.eval_method) != "python":
            continue
        try:
            tree = ast.parse(_QUOTED.sub("_", factor.expr), mode="eval")
        except SyntaxError:
            continue
        out |= {
            n.func.id
            for n in ast.walk(tree)
            if isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and n.func.id in STATEFUL_TRANSFORMS
        }
    return out


def _lookup_response(lhs) -> str | None:
    """The column name when the response is one bare column, else None."""
    factors = [fa for term in lhs for fa in term.factors]
    if len(factors) == 1 and getattr(factors[0].eval_method, "value", factors[0].eval_method) == "lookup":
        return factors[0].expr
    return None


def _row_values(values, n: int, what: str) -> np.ndarray:
    """Per-row values given as an array (weights, an offset): a writable float copy.

    NaN is a missing value (its row is dropped); ``±inf`` is an error.
    """
    try:
        if isinstance(values, (pd.Series, pd.Index)):
            arr = values.to_numpy(dtype=float, na_value=np.nan).copy()
        else:
            arr = np.array(values, dtype=float)  # a copy: pandas 3 hands out read-only views
    except (TypeError, ValueError) as exc:
        raise FMMError(f"{what} could not be read as numbers: {exc}") from None
    if arr.shape != (n,):
        raise FMMError(f"{what} must have one value per row of data ({n}), got shape {arr.shape}")
    inf = np.isinf(arr)
    if inf.any():
        raise FMMError(
            f"{what} given as an array holds {int(inf.sum())} infinite value(s) (first at position "
            f"{int(np.flatnonzero(inf)[0])}); "
            "fix them, or set them to NaN to drop those rows"
        )
    return arr


def _check_columns(
    sub: pd.DataFrame, roles: dict[str, set[tuple[str, str]]], summary: ColumnSummary | None = None
) -> dict[str, pd.Series]:
    """Text columns used bare must be categorical; returns the columns to replace in the working frame.

    A column of pandas' ``string`` dtype (missing value ``pd.NA``) becomes
    ``object``: formulaic reads that dtype as numbers, ``object`` and
    pandas 3's default ``str`` as categorical.
    """
    changes = {}
    for c, uses in roles.items():
        col = sub[c]
        if not is_text(col):
            continue
        bare = sorted(place for place, how in uses if how == "bare")
        if bare:
            check_text_column(col, c, bare[0], counts=_counts(summary, c))
        if isinstance(col.dtype, pd.StringDtype) and getattr(col.dtype, "na_value", pd.NA) is pd.NA:
            changes[c] = col.astype(object)
    return changes


def _counts(summary: ColumnSummary | None, column: str) -> pd.Series | None:
    return None if summary is None else summary.text_counts.get(column)


def _warn_many_levels(specs, n: int) -> None:
    seen = set()
    for spec in specs:
        for factor, (kind, state) in getattr(spec, "encoder_state", {}).items():
            if getattr(kind, "value", kind) != "categorical" or "categories" not in state:
                continue
            levels = len(state["categories"])
            if many_levels(levels, n) and str(factor) not in seen:
                seen.add(str(factor))
                warnings.warn(
                    f"{str(factor)!r} is categorical with {levels} levels in {n} rows ({n / levels:.1f} rows per "
                    f"level, fewer than {MIN_ROWS_PER_LEVEL}): every class estimates {levels - 1} coefficients for it; "
                    "check that it is meant to be categorical, or merge rare levels",
                    DataWarning,
                    stacklevel=user_stacklevel(),
                )


def _checked_columns(
    sub: pd.DataFrame,
    parsed: dict,
    cf,
    lhs_vars: set[str],
    wcol: str | None,
    families,
    missing_y_ok: bool,
    other_roles: dict[str, str],
    infinite_ok: set[str] = frozenset(),
    summary: ColumnSummary | None = None,
) -> tuple[pd.DataFrame, BinaryCoding | None]:
    """The checks of :mod:`fmmreg.datacheck` on the rows used, before encoding.

    Returns the working frame (a new one when a column had to be recoded:
    a binary response coded 0/1, string dtypes as ``object``) and the coding
    of the response. ``summary`` holds the counts of all rows used when
    ``sub`` holds only some of them (a Dask fit).
    """
    binary = bool(families) and all(getattr(f, "binary", False) for f in families)
    family = families[0].name if families else "gaussian"
    required = set(sub.columns)
    first = next(iter(parsed.values()))
    roles: dict[str, set[tuple[str, str]]] = {}
    for terms, place in [(p.rhs, "regressor") for p in parsed.values()] + (
        [] if cf is None else [(cf, "class formula variable")]
    ):
        for c, hows in _column_roles(terms, required).items():
            roles.setdefault(c, set()).update((place, how) for how in hows)
    what = other_roles | {c: sorted(roles[c])[0][0] for c in roles} | {v: "response" for v in lhs_vars}
    if wcol is not None:
        what[wcol] = "weights"
    checked = (required - lhs_vars if missing_y_ok else required) - set(infinite_ok)
    check_infinite(sub, sorted(checked), what, summary)
    changes = _check_columns(sub, roles, summary)
    coding = None
    yvar = _lookup_response(first.lhs)
    if yvar is not None:
        col = sub[yvar]
        categorical = isinstance(col.dtype, pd.CategoricalDtype)
        if binary and (is_text(col) or is_boolean(col) or categorical):
            coding = binary_coding(col, yvar, family)
            changes[yvar] = pd.Series(coding.encode(col), index=sub.index)
        elif is_text(col):
            check_text_column(col, yvar, "response", labels_ok=False, counts=_counts(summary, yvar))
        elif categorical:
            raise FMMError(
                f"response {yvar!r} is categorical; family {family!r} needs numbers: convert it "
                f"(e.g. df[{yvar!r}].cat.codes for outcome codes)"
            )
    for v, hows in _column_roles(first.lhs, lhs_vars - {yvar}).items():
        if not is_text(sub[v]) or hows == {"expression"}:  # I(status == "yes") ~ x reads text legitimately
            continue
        if binary and "categorical" in hows:
            raise FMMError(
                f"write the response {v!r} without C(): family {family!r} codes a text or categorical "
                f"response itself (the event is the second level), as in '{v} ~ x'"
            )
        check_text_column(sub[v], v, "response", labels_ok=False, counts=_counts(summary, v))
    if wcol is not None and is_text(sub[wcol]):
        check_text_column(sub[wcol], wcol, "weights", labels_ok=False, counts=_counts(summary, wcol))
    return (sub.assign(**changes) if changes else sub), coding


def _finite_rows(y: np.ndarray, yname: str, designs: list, missing_y_ok: bool) -> np.ndarray | None:
    """Rows where every encoded value is finite, or None when all are.

    Raw ``±inf`` was refused before encoding, so a non-finite value here
    comes from a transform (``np.log(0)``): such rows are dropped like
    missing values, as Stata does, with a :class:`DataWarning` naming the terms.
    """
    finite = np.ones(len(y), dtype=bool)
    culprits: list[str] = []
    if not missing_y_ok:
        ok = np.isfinite(y) if y.ndim == 1 else np.isfinite(y).all(axis=1)
        if not ok.all():
            culprits.append(f"the response {yname!r}")
        finite &= ok
    for X, names in designs:
        ok = np.isfinite(X)
        culprits += [names[j] for j in np.flatnonzero(~ok.all(axis=0))]
        finite &= ok.all(axis=1)
    if finite.all():
        return None
    terms = ", ".join(dict.fromkeys(culprits))
    if not finite.any():
        raise FMMError(f"no usable rows: {terms} is not finite in every row (e.g. the log of 0)")
    warnings.warn(
        f"{int((~finite).sum())} row(s) dropped because {terms} is not finite there (e.g. the log of 0); "
        "they count as missing, as in Stata",
        DataWarning,
        stacklevel=user_stacklevel(),
    )
    return finite


#: How a message names a family's data column, by its role (``ComponentFamily.data_columns``).
_ROLE_TEXT = {
    "failure": "failure indicator",
    "entry": "entry time",
    "lower": "lower limit",
    "upper": "upper limit",
    "response": "response",
    "endog": "endogenous regressor",
}


def family_columns(families) -> dict[str, tuple[str, bool]]:
    """The data columns the families read: ``{column: (what it is, may hold ±inf)}``.

    ``what`` names the role and the family for messages (``"failure
    indicator of family 'weibull'"``); a column may hold ``±inf`` only when
    every family reading it gives the role a meaning for it
    (:attr:`ComponentFamily.infinite_data_roles`: a tobit limit column's
    ``-inf`` is "no limit in this row").
    """
    out: dict[str, tuple[str, bool]] = {}
    for fam in families:
        for role, col in fam.data_columns().items():
            what = f"{_ROLE_TEXT.get(role, role)} of family {fam.name!r}"
            inf_ok = role in getattr(fam, "infinite_data_roles", ())
            if col in out:
                what, inf_ok = out[col][0], out[col][1] and inf_ok
            out[col] = (what, inf_ok)
    return out


def data_column(data: pd.DataFrame, name: str, what: str = "read by a component family") -> np.ndarray:
    """One data column a family reads (a limit, a failure indicator), as floats.

    Numbers, or booleans as 0/1; missing values stay NaN (the caller drops or
    marks those rows). Text and categorical columns are an :class:`FMMError`
    naming the column and its role ``what``: a failure indicator ``"yes"`` or
    a limit ``"3.5"`` is not guessed at.
    """
    col = data[name]
    if is_boolean(col):
        return col.astype("Float64").to_numpy(dtype=float, na_value=np.nan)
    if not pd.api.types.is_numeric_dtype(col.dtype):
        raise FMMError(
            f"column {name!r} ({what}) must hold numbers or booleans, got dtype {col.dtype} "
            f"(e.g. {col.dropna().iloc[0]!r}); convert it, e.g. df[{name!r}] = pd.to_numeric(df[{name!r}])"
            if col.notna().any()
            else f"column {name!r} ({what}) has no values"
        )
    return col.to_numpy(dtype=float, na_value=np.nan)


def build_design(
    formulas: list[str],
    data: pd.DataFrame,
    class_formula: str | None = None,
    weights: str | np.ndarray | pd.Series | None = None,
    families: list | None = None,
    extra: dict[str, object] | None = None,
    column_summary: ColumnSummary | None = None,
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
        drop a row; when every family is ``binary`` a boolean, text or
        categorical response is coded 0/1 (:func:`fmmreg.datacheck.binary_coding`).
        The columns a family declares in ``data_columns()`` are read into
        ``Design.columns`` (their missing values drop the row; ``±inf`` only
        where the family gives it a meaning, :attr:`ComponentFamily.infinite_data_roles`).
    extra : dict, optional
        Further per-row variables (offsets, exposures) by key: a column name
        of ``data`` or an array of length n. Rows where one is missing are
        dropped with the rest; ``Design.extra`` holds their values (float).
    column_summary : ColumnSummary, optional
        Counts of text values and ``±inf`` over all rows used, when ``data``
        holds only some of them (a Dask fit checks its partitions this way).

    Raises
    ------
    FMMError
        For any problem with the formulas or the data (see
        :mod:`fmmreg.datacheck` for the rules), naming the column.
    """
    extra = dict(extra or {})
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
        raise FMMError(f"every class must model the same response, got {sorted(lhs)}; use one response in all formulas")
    cf = None if class_formula is None else _parse(class_formula, "class_formula", False)

    fam_cols = family_columns(families or [])
    required: set[str] = set(fam_cols)
    for p in parsed.values():
        required |= formula_variables(p, data.columns)
    if cf is not None:
        required |= formula_variables(cf, data.columns)
    wcol = None
    if isinstance(weights, str):
        wcol = weights
        required.add(weights)
    required |= {v for v in extra.values() if isinstance(v, str)}
    missing = sorted(v for v in required if v not in data.columns)
    if missing:
        raise FMMError(
            f"variable(s) {', '.join(map(repr, missing))} not found in data; "
            f"available columns: {', '.join(map(str, data.columns[:20]))}{' ...' if data.shape[1] > 20 else ''}"
        )
    check_duplicate_columns(data, required)
    w_all = None if weights is None or isinstance(weights, str) else _row_values(weights, len(data), "weights")
    extra_all = {
        key: _row_values(v, len(data), key.split(":")[0]) for key, v in extra.items() if not isinstance(v, str)
    }
    other_roles = {v: key.split(":")[0] for key, v in extra.items() if isinstance(v, str)}  # offset, exposure
    other_roles |= {c: what for c, (what, _) in fam_cols.items()}
    formula_vars = {v for p in parsed.values() for v in formula_variables(p, data.columns)} | (
        set() if cf is None else formula_variables(cf, data.columns)
    )
    # a limit column may say "no limit in this row" with ±inf; in a formula a column may not
    infinite_ok = {c for c, (_, inf_ok) in fam_cols.items() if inf_ok and c not in formula_vars}

    lhs_vars: set[str] = set()
    for p in parsed.values():
        lhs_vars |= formula_variables(p.lhs, data.columns)
    listwise = sorted(required - lhs_vars) if missing_y_ok else sorted(required)
    keep = data[listwise].notna().all(axis=1).to_numpy()
    if w_all is not None:
        keep = keep & ~np.isnan(w_all)  # not in place: the mask may be a read-only view (pandas 3)
    for arr in extra_all.values():
        keep = keep & ~np.isnan(arr)
    # no row copy when every row is complete (the common case on large data)
    sub = data[sorted(required)] if keep.all() else data.loc[keep, sorted(required)]
    if len(sub) == 0:
        counts = data[listwise].isna().sum().sort_values(ascending=False)
        worst = ", ".join(f"{c!r} ({int(m)} of {len(data)})" for c, m in counts.items() if m)[:300]
        raise FMMError(
            "no complete rows: every row has a missing value in some variable of the model "
            f"(missing: {worst or 'weights'}); drop or fill those variables"
        )

    sub, coding = _checked_columns(
        sub, parsed, cf, lhs_vars, wcol, families, missing_y_ok, other_roles, infinite_ok, column_summary
    )
    text_columns = frozenset(c for c in required if is_text(data[c]))

    y = None
    xs: dict[str, tuple[np.ndarray, list[str], object]] = {}
    for f, p in parsed.items():
        mm = _matrix(p, sub, f"formula {f!r}", text_columns)
        if y is None:
            y = _as_float(mm.lhs, f"response {str(p.lhs)!r}")
            yname = str(p.lhs)
            if y.shape[1] == 1:
                y = y[:, 0]
        names = list(mm.rhs.model_spec.column_names)
        order = _intercept_last(names)
        xs[f] = (_as_design(mm.rhs, order, f"design of {f!r}"), [names[i] for i in order], mm.rhs.model_spec)
    if cf is None:
        Z, znames, zspec = np.ones((len(sub), 1)), [INTERCEPT], None
    else:
        mm = _matrix(cf, sub, f"class_formula {class_formula!r}", text_columns)
        names = list(mm.model_spec.column_names)
        order = _intercept_last(names)
        Z, znames, zspec = _as_design(mm, order, "class_formula design"), [names[i] for i in order], mm.model_spec
    _warn_many_levels([spec for _, _, spec in xs.values()] + [zspec], len(sub))
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
    columns = {c: data_column(sub, c, fam_cols[c][0]) for c in fam_cols}

    finite = _finite_rows(y, yname, [(X, names) for X, names, _ in xs.values()] + [(Z, znames)], missing_y_ok)
    index = sub.index
    rows = np.flatnonzero(keep)
    if finite is not None:
        y = y[finite]
        xs = {f: (np.asfortranarray(X[finite]), names, spec) for f, (X, names, spec) in xs.items()}
        Z = np.asfortranarray(Z[finite])
        w = None if w is None else w[finite]
        ex = {key: v[finite] for key, v in ex.items()}
        columns = {c: v[finite] for c, v in columns.items()}
        index = index[finite]
        rows = rows[finite]
    # the weights' own checks depend on their kind (fmmreg.weighting)

    # one array object per distinct (formula, intercept) pair: the engine and
    # the Hessian reuse it. Column-major: the engine's products X b, X'c and
    # its scaled columns read each column contiguously (2-3x faster than rows)
    shared: dict[tuple[str, bool], tuple[np.ndarray, list[str]]] = {}
    for f, icpt in zip(formulas, intercepts):
        if (f, icpt) not in shared:
            X, names, _ = xs[f]
            cols = [i for i, n in enumerate(names) if icpt or n != INTERCEPT]
            part = X if len(cols) == X.shape[1] else np.asfortranarray(X[:, cols])
            shared[(f, icpt)] = (part, [names[i] for i in cols])
    keys = list(zip(formulas, intercepts))
    return Design(
        y=y,
        yname=yname,
        designs=[shared[key][0] for key in keys],
        xnames=[shared[key][1] for key in keys],
        x_specs=[xs[f][2] for f in formulas],
        Z=np.asfortranarray(Z),
        znames=znames,
        z_spec=zspec,
        weights=w,
        index=index,
        n_dropped=int(len(data) - len(index)),
        formulas=list(formulas),
        class_formula=class_formula,
        response_coding=coding,
        extra=ex,
        rows=rows,
        term_labels={k: v for spec in [*(x[2] for x in xs.values()), zspec] for k, v in term_labels(spec).items()},
        columns=columns,
    )


def formula_columns(spec, formula: str, what: str = "class_formula entry") -> list[str]:
    """Columns of an encoded design (its ModelSpec ``spec``) that the terms of ``formula`` generate.

    Used for a ``class_formula`` list: the membership design is encoded once
    from the union of the entries, and each class uses the columns of its own
    entry's terms (the others are coefficients fixed at 0).
    """
    parsed = _parse(formula, what, False)
    slices = spec.term_slices
    names = list(spec.column_names)
    out: list[str] = []
    for term in parsed:
        if term not in slices:
            raise FMMError(f"{what} {formula!r}: term {str(term)!r} is not in the combined class formula")
        out += names[slices[term]]
    return out


def encode_new(spec, data: pd.DataFrame, names: list[str], what: str) -> np.ndarray:
    """Replay a stored ModelSpec on new data, columns in the fitted order."""
    try:
        mm = spec.get_model_matrix(data, na_action="ignore")
    except Exception as exc:
        raise FMMError(f"could not encode new data for the {what}: {_plain(exc)}") from None
    frame = pd.DataFrame(np.asarray(mm, dtype=float), columns=list(mm.model_spec.column_names))
    return frame[names].to_numpy()


def encode_response(design: Design, data: pd.DataFrame) -> np.ndarray:
    """The response of new data, coded as in the fit (a binary event as 0/1)."""
    lhs = _parse(design.formulas[0], "formula", True).lhs
    coding = design.response_coding
    if coding is not None:
        data = pd.DataFrame({coding.column: coding.encode(data[coding.column])}, index=data.index)
    what = f"response {design.yname!r}"
    y = _as_float(_matrix(lhs, data, what), what)
    return y[:, 0] if y.shape[1] == 1 else y
