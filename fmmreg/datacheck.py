"""Checks of the user's columns before they are encoded: text, infinities, duplicates, binary events.

Pure pandas/numpy (formula.py decides which columns play which role). The
rules, also listed in the README ("Errors and warnings"):

- **Text columns** (object or string dtype). Used bare as a regressor or in
  the class formula, a column of labels only (``"north"``/``"south"``) is a
  categorical variable, as in R; a text column where some value reads as a
  number (``"3.5"``, or an export's ``"."`` next to numbers) is an
  :class:`FMMError` naming the column and the values that do not read as
  numbers; so is a label column with so many distinct values that it looks
  like an identifier or free text (more than ``max(20, n/2)``). ``C(col)``
  always makes a categorical variable. A text response is an error except
  for a binary family (see below).
- **Many levels**: a categorical variable with fewer than
  ``MIN_ROWS_PER_LEVEL`` rows per level on average (and more than two
  levels) is a warning naming it.
- **Infinite values** (``±inf``) in a used column are an :class:`FMMError`
  naming the column and the count (as R's ``lm``); NaN is a missing value
  and drops its row, as in Stata. The response of a family whose missing
  ends are meaningful (``intreg``: open interval ends) may hold ``±inf``, and
  so may a data column a family reads where it gives ``±inf`` a meaning (a
  tobit or truncreg limit column: no limit in that row;
  ``ComponentFamily.infinite_data_roles``).
- **Binary families** (logit, probit, cloglog, Bernoulli GLMs) accept a
  boolean, text or categorical response: the event (coded 1) is ``True``,
  or the second level (categorical order, else sorted order), as R's
  ``glm``; more than two levels is an error.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass

import numpy as np
import pandas as pd

from fmmreg.exceptions import FMMError

#: A factor with fewer rows per level than this (on average) gets a warning.
MIN_ROWS_PER_LEVEL = 5


def user_stacklevel() -> int:
    """``stacklevel`` of a warning that points at the first caller outside fmmreg."""
    package = os.path.dirname(os.path.abspath(__file__))
    frame, level = sys._getframe(1), 1
    while frame is not None and os.path.abspath(frame.f_code.co_filename).startswith(package + os.sep):
        frame, level = frame.f_back, level + 1
    return level


def is_text(col: pd.Series) -> bool:
    """Object or string dtype (not categorical, not boolean)."""
    return bool(pd.api.types.is_object_dtype(col.dtype) or pd.api.types.is_string_dtype(col.dtype)) and not (
        isinstance(col.dtype, pd.CategoricalDtype)
    )


def is_boolean(col: pd.Series) -> bool:
    return bool(pd.api.types.is_bool_dtype(col.dtype))


def _show(values) -> str:
    return ", ".join(repr(v.item() if hasattr(v, "item") else v) for v in values)


def _reads_as_number(values: pd.Series) -> np.ndarray:
    """Which values are numbers, or strings that parse as numbers."""
    out = np.zeros(len(values), dtype=bool)
    for i, v in enumerate(values):
        if isinstance(v, (bool, np.bool_)):
            continue
        if isinstance(v, (int, float, np.integer, np.floating)):
            out[i] = True
        elif isinstance(v, str):
            try:
                float(v)
                out[i] = True
            except ValueError:
                pass
    return out


def many_levels(n_levels: int, n: int) -> bool:
    """More levels than the data can estimate one coefficient each for."""
    return n_levels > 2 and n_levels * MIN_ROWS_PER_LEVEL > n


@dataclass(frozen=True)
class ColumnSummary:
    """What the checks need of the rows used when those rows are not in one frame.

    A Dask DataFrame's partitions are checked one by one; these statistics,
    summed over all partitions, make the checks count all rows, so their
    errors are those of the same data in memory (see
    :mod:`fmmreg.distributed.plan`).
    """

    #: text columns: the count of each distinct value, in order of first appearance
    text_counts: dict
    #: numeric columns: the number of ``±inf`` values and the labels of the first three rows with one
    infinite: dict


def check_text_column(
    col: pd.Series, name: str, role: str, labels_ok: bool = True, counts: pd.Series | None = None
) -> None:
    """Raise when a text column used bare cannot be a categorical variable.

    Parameters
    ----------
    col : Series
        The column's values in the rows used (missing values removed).
    name : str
        Column name, for the message.
    role : str
        ``"regressor"``, ``"class formula variable"``, ``"response"`` or
        ``"weights"``, for the message.
    labels_ok : bool
        Whether a column of labels may be a categorical variable (a
        regressor, a binary response); else any text is an error.
    counts : Series, optional
        The count of each distinct value of the rows used, in order of first
        appearance, when ``col`` holds only some of those rows
        (:class:`ColumnSummary`); by default ``col``'s own.
    """
    if counts is None:
        counts = col.dropna().value_counts(sort=False)
    uniq = np.asarray(counts.index, dtype=object)
    n = int(counts.sum())
    numeric = _reads_as_number(pd.Series(uniq, dtype=object))
    if numeric.any() or not labels_ok:
        not_numbers = uniq[~numeric]
        if len(not_numbers):
            bad = counts[~numeric].sort_values(ascending=False, kind="stable")
            shown = _show(bad.index[:3])
            what = f"values like {shown} cannot be read as numbers"
            if numeric.any():
                what += f" ({int(bad.sum())} of {n} rows; the others are numbers)"
        else:
            what = f"it holds numbers stored as text or objects (e.g. {_show(uniq[:3])})"
        use_c = f" or use C({name}) for a categorical variable" if role.endswith(("regressor", "variable")) else ""
        kind = "is text" if any(isinstance(v, str) for v in uniq) else "has dtype object"
        raise FMMError(
            f"column {name!r} ({role}) {kind}; {what} — convert it "
            f"(df[{name!r}] = pd.to_numeric(df[{name!r}], errors='coerce') makes them missing){use_c}"
        )
    n_levels = len(uniq)
    if n_levels > max(20, n / 2):
        raise FMMError(
            f"column {name!r} ({role}) is text with {n_levels} distinct values in {n} rows: it looks like an "
            f"identifier or free text, not a categorical variable (e.g. {_show(uniq[:3])}); drop it, or write "
            f"C({name}) if you really mean {n_levels} categories"
        )


def check_duplicate_columns(data: pd.DataFrame, used: set[str]) -> None:
    """Raise when a column the model uses appears more than once in ``data``."""
    dup = data.columns[data.columns.duplicated()]
    bad = sorted({str(c) for c in dup if c in used})
    if bad:
        counts = ", ".join(f"{c!r} ({int((data.columns == c).sum())} times)" for c in bad)
        raise FMMError(
            f"column name(s) {counts} appear more than once in data, so the model cannot tell which to use; "
            "rename them so every column name is unique"
        )


def infinite_values(data: pd.DataFrame, c) -> tuple[int, list]:
    """The number of ``±inf`` values of a numeric column and the labels of the first three rows with one."""
    col = data[c]
    if not pd.api.types.is_numeric_dtype(col.dtype) or is_boolean(col):
        return 0, []
    inf = np.isinf(col.to_numpy(dtype=float, na_value=np.nan))
    return int(inf.sum()), list(data.index[inf][:3])


def check_infinite(data: pd.DataFrame, columns, what: dict[str, str], summary: ColumnSummary | None = None) -> None:
    """Raise on ``±inf`` in any of ``columns`` (numeric ones), naming column and count.

    ``summary`` gives the counts when ``data`` holds only some of the rows used.
    """
    for c in columns:
        count, first = summary.infinite.get(c, (0, [])) if summary is not None else infinite_values(data, c)
        if count:
            rows = _show(first)
            raise FMMError(
                f"column {c!r} ({what.get(c, 'variable')}) has {count} infinite value(s) (±inf; rows "
                f"{rows}{' ...' if count > 3 else ''}); fmmreg does not drop them silently: fix them, or "
                f"set them to NaN (df[{c!r}].replace([np.inf, -np.inf], np.nan)) to drop those rows as missing"
            )


@dataclass(frozen=True)
class BinaryCoding:
    """How a boolean, text or categorical response becomes 0/1 for a binary family.

    ``levels`` are the two outcomes as the user wrote them, the event
    (coded 1) second.
    """

    column: str
    levels: tuple

    @property
    def event(self):
        return self.levels[1]

    @property
    def label(self) -> str:
        """``"insurance = yes"``: what the model's probability is of."""
        return f"{self.column} = {self.event}"

    def encode(self, col: pd.Series) -> np.ndarray:
        """0/1 (NaN where missing); a value outside the two outcomes is an error."""
        missing = col.isna().to_numpy()
        known = col.isin(list(self.levels)).to_numpy() | missing
        if not known.all():
            extra = pd.unique(col[~known].astype(object))
            raise FMMError(
                f"response {self.column!r} has value(s) {_show(extra[:5])} outside its two outcomes "
                f"{_show(self.levels)}"
            )
        out = (col == self.event).to_numpy(dtype=float, na_value=np.nan)
        out[missing] = np.nan
        return out


def binary_coding(col: pd.Series, name: str, family: str) -> BinaryCoding:
    """The event coding of a boolean, text or categorical response (R's ``glm`` rule).

    ``col`` holds the rows used. The event is ``True``; for a categorical
    column the second of its observed levels in category order; for text
    the second in sorted order.
    """
    values = col.dropna()
    if is_boolean(col) or (len(values) and all(isinstance(v, (bool, np.bool_)) for v in values)):
        return BinaryCoding(name, (False, True))
    if isinstance(col.dtype, pd.CategoricalDtype):
        present = set(values.unique())
        levels = [c for c in col.cat.categories if c in present]
    else:
        levels = sorted(np.asarray(pd.unique(values), dtype=object), key=str)
    if len(levels) > 2:
        raise FMMError(
            f"response {name!r} has {len(levels)} outcomes ({_show(levels[:6])}{' ...' if len(levels) > 6 else ''}); "
            f"family {family!r} models a binary event: recode it to two outcomes, or use family 'mlogit' "
            "on numeric codes"
        )
    if len(levels) < 2:
        raise FMMError(
            f"response {name!r} takes only the value {_show(levels)} in the rows used: the outcome does not vary, "
            f"so family {family!r} cannot be estimated"
        )
    if is_text(col):
        check_text_column(col, name, "response")  # "0"/"1" stored as text: convert, do not guess
    return BinaryCoding(name, tuple(v.item() if hasattr(v, "item") else v for v in levels))
