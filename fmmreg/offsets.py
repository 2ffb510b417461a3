"""``offset=`` and ``exposure=``: per-class offsets of the first linear index.

Stata's ``poisson y x, exposure(t)`` fits ``log mu = x'b + log t``;
``offset(o)`` adds ``o`` with its coefficient fixed at 1. In fmmreg both are
options of :class:`~fmmreg.FMM`: a column name or an array (one value per row
of the data), or a list with one entry per class (``None`` for a class
without). A single value applies to every class with one linear index;
classes without a linear index (``pointmass``) are skipped.

The arrays reach the engine through :attr:`fmmreg.formula.Design.extra` (rows
with a missing offset are dropped with the rest, listwise) and are bound to
the families (:meth:`ComponentFamily.with_offset`). Predictions on new data
read the same columns from the new data.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from fmmreg.exceptions import FMMError


@dataclass(frozen=True)
class OffsetSpec:
    """One class's offset: ``kind`` is ``"offset"`` or ``"exposure"``; ``source`` a column name or values."""

    kind: str
    source: object
    #: given for this class in a per-class list (not broadcast to every class)
    per_class: bool = False

    @property
    def key(self) -> str:
        """Key of the values in ``Design.extra`` (shared by classes with the same source)."""
        return f"{self.kind}:{self.source}" if isinstance(self.source, str) else f"{self.kind}:array{id(self.source)}"

    @property
    def label(self) -> str:
        return f"{self.kind} {self.source!r}" if isinstance(self.source, str) else f"{self.kind}="

    def transform(self, values: np.ndarray) -> np.ndarray:
        """The offset from the raw values: ``log t`` for an exposure (which must be > 0)."""
        values = np.asarray(values, dtype=float)
        if self.kind == "offset":
            return values
        bad = np.isfinite(values) & (values <= 0)
        if bad.any():
            raise FMMError(
                f"{self.label} has {int(bad.sum())} value(s) <= 0 (e.g. {float(values[bad][0]):g}); "
                "an exposure must be positive (it enters as log(exposure))"
            )
        return np.log(values)


def _per_class(value, k: int, what: str) -> tuple[list, bool]:
    """One entry per class, and whether the user gave them per class.

    A list or tuple whose entries are ``None``, column names or arrays is per
    class (its length must be ``k``); any other value (a column name, an
    array, a list of numbers) applies to every class.
    """
    if isinstance(value, (list, tuple)) and any(v is None or isinstance(v, str) or np.ndim(v) == 1 for v in value):
        if len(value) != k:
            raise FMMError(f"{what}= as a list needs one entry per class ({k}), got {len(value)}")
        return list(value), True
    return [value] * k, False


def _as_source(value, what: str):
    if value is None or isinstance(value, str):
        return value
    arr = np.asarray(value.to_numpy() if isinstance(value, pd.Series) else value, dtype=float)
    if arr.ndim != 1:
        raise FMMError(f"{what}= must be a column name or a 1-D array, got shape {arr.shape}")
    return arr


def resolve_offsets(offset, exposure, k: int) -> list[OffsetSpec | None]:
    """One :class:`OffsetSpec` (or ``None``) per class, in the model's class order.

    Raises
    ------
    FMMError
        When a class gets both an offset and an exposure, or a per-class list
        has the wrong length.
    """
    if offset is None and exposure is None:
        return [None] * k
    offs, offs_per_class = _per_class(offset, k, "offset")
    exps, exps_per_class = _per_class(exposure, k, "exposure")
    specs: list[OffsetSpec | None] = []
    for j, (off, exp) in enumerate(zip(offs, exps), start=1):
        if off is not None and exp is not None:
            raise FMMError(f"class {j}: give offset= or exposure=, not both (exposure t is the offset log t)")
        if off is not None:
            specs.append(OffsetSpec("offset", _as_source(off, "offset"), offs_per_class))
        elif exp is not None:
            specs.append(OffsetSpec("exposure", _as_source(exp, "exposure"), exps_per_class))
        else:
            specs.append(None)
    return specs


def check_offset_families(specs: list[OffsetSpec | None], families: list) -> list[OffsetSpec | None]:
    """Keep the offsets of families with one linear index (after the response check set their levels).

    A broadcast offset skips a class with no linear index (``pointmass``).

    Raises
    ------
    FMMError
        An offset for a family with several linear indices (``mlogit``), or
        given explicitly for a family with none.
    """
    out: list[OffsetSpec | None] = []
    for j, (s, fam) in enumerate(zip(specs, families), start=1):
        if s is not None and not fam.accepts_offset:
            if fam.n_linear == 0 and not s.per_class:
                out.append(None)  # a point mass has no index: nothing to offset
                continue
            raise FMMError(
                f"class {j}: family {fam.name!r} has {fam.n_linear} linear indices, so {s.kind}= does not apply; "
                f"give {s.kind}= as a list with None for this class"
            )
        out.append(s)
    return out


def extra_columns(specs: list[OffsetSpec | None]) -> dict[str, object]:
    """The per-row variables :func:`fmmreg.formula.build_design` must extract (by key)."""
    return {s.key: s.source for s in specs if s is not None}


def offset_arrays(specs: list[OffsetSpec | None], extra: dict[str, np.ndarray]) -> list[np.ndarray | None]:
    """Offsets of the rows used, one per class (``log`` of an exposure)."""
    cache: dict[str, np.ndarray] = {}
    out = []
    for s in specs:
        if s is None:
            out.append(None)
        else:
            if s.key not in cache:
                cache[s.key] = np.ascontiguousarray(s.transform(extra[s.key]))
            out.append(cache[s.key])
    return out


def newdata_offsets(specs: list[OffsetSpec | None], data: pd.DataFrame) -> list[np.ndarray | None]:
    """Offsets of new data for predictions: the same columns, read from ``data``.

    A value that is missing gives NaN (that row's prediction is NaN).

    Raises
    ------
    FMMError
        When the offset was given as an array (new data cannot supply it) or
        the column is absent from ``data``.
    """
    out = []
    for s in specs:
        if s is None:
            out.append(None)
            continue
        if not isinstance(s.source, str):
            raise FMMError(
                f"the model's {s.kind} was given as an array, so new data cannot supply it; fit with "
                f"{s.kind}='column' to predict on new data, or predict with nooffset=True"
            )
        if s.source not in data.columns:
            raise FMMError(f"newdata lacks column {s.source!r}, the model's {s.kind}")
        values = pd.to_numeric(data[s.source], errors="coerce").to_numpy(dtype=float)
        out.append(s.transform(values))
    return out
