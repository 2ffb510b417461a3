"""The first pass over a Dask DataFrame and the encoding of one partition.

A formulaic ``ModelSpec`` learns the levels of every categorical term from
the data it first sees, so encoding each partition on its own would give
partitions with different columns. The first pass (:func:`scan_partition`)
therefore collects, from every partition, the complete rows that first show
each level of every column the formulas treat as categorical (text,
categorical and boolean columns, and columns inside ``C()``), plus a few
ordinary rows. These rows form the *prototype*: a small pandas frame with
every level of the whole data set. Each partition is then encoded as the
prototype followed by the partition, with the in-memory
:func:`fmmreg.formula.build_design` -- the same checks, listwise deletion and
encoding as in memory -- and the prototype's rows are cut off again
(:func:`encode_partition`). Every partition thus gets exactly the columns of
the in-memory design, and a level unseen in the first pass cannot occur.

Stateful transforms (``center()``, ``scale()``, splines ``bs()``,
``poly()``) learn a statistic of the data (a mean, knots) that the
prototype cannot supply; they are refused with an :class:`FMMError`
(compute the column first).
"""

from __future__ import annotations

import dataclasses
import re
import threading
import types
import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from fmmreg.datacheck import ColumnSummary, infinite_values, is_boolean, is_text
from fmmreg.estimation.mixture import MixtureLikelihood
from fmmreg.exceptions import DataWarning, FMMError
from fmmreg.formula import (
    Design,
    _column_roles,
    _parse,
    build_design,
    family_columns,
    formula_variables,
    stateful_transforms,
)
from fmmreg.offsets import offset_arrays
from fmmreg.weighting import check_weights

#: Ordinary complete rows each partition adds to the prototype besides the level rows.
HEAD_ROWS = 3
#: Distinct values of a column in one partition beyond which (if they are also more than half of
#: its rows) the column is treated as an identifier, not a categorical variable (see :func:`scan_partition`).
MAX_LEVELS = 10_000
#: The prototype's rows are repeated this many times, so that no text column of the
#: prototype looks like an identifier (more than half of its values distinct) to the checks.
PROTOTYPE_REPEAT = 3

_NOT_FINITE = re.compile(r"^\d+ row\(s\) dropped because (.*) is not finite there")
_NO_USABLE = re.compile(r"^no usable rows: (.*) is not finite in every row")
#: Serialises the warning capture of :func:`encode_partition` between threads.
_CAPTURE = threading.Lock()


@dataclass(frozen=True)
class ModelInputs:
    """What :func:`fmmreg.formula.build_design` needs besides the data, the same for every partition."""

    formulas: list[str]
    class_formula: str | None
    weight_source: str | None
    families: list
    extra: dict[str, str]

    def design(self, data: pd.DataFrame, summary: ColumnSummary | None = None) -> Design:
        return build_design(
            self.formulas,
            data,
            self.class_formula,
            self.weight_source,
            self.families,
            extra=dict(self.extra),
            column_summary=summary,
        )


@dataclass(frozen=True)
class Columns:
    """The columns of the model in a Dask DataFrame and how the first pass reads them."""

    #: every column a formula, the weights, an offset or a family reads (sorted)
    required: list[str]
    #: the columns whose missing values drop a row (all but the response for intreg)
    listwise: list[str]
    #: columns whose distinct values become design columns (collected from every partition)
    levels: list[str]
    #: columns a text check may read (bare in a formula, the response, the weights): their value counts
    #: are collected when they hold text
    text_checked: list[str]


def model_columns(inputs: ModelInputs, dtypes: pd.Series) -> Columns:
    """The columns :func:`build_design` reads, as it finds them.

    ``dtypes`` are the Dask DataFrame's column types: text, categorical and
    boolean columns and the columns a formula wraps in ``C()`` carry levels.
    """
    formulas = [fam.extend_formula(f) for f, fam in zip(inputs.formulas, inputs.families)]
    parsed = {f: _parse(f, "formula", True) for f in dict.fromkeys(formulas)}
    cf = None if inputs.class_formula is None else _parse(inputs.class_formula, "class_formula", False)
    stateful = set().union(*(stateful_transforms(p) for p in parsed.values()))
    stateful |= set() if cf is None else stateful_transforms(cf)
    if stateful:
        raise FMMError(
            f"{', '.join(sorted(stateful))}(...) in a formula learns its centring/basis from the data; on a Dask "
            "DataFrame it would be learned from one sample of partitions, not all rows: compute the column "
            "first (e.g. ddf['x_c'] = ddf['x'] - ddf['x'].mean()) and use it in the formula"
        )
    required = set(family_columns(inputs.families))
    lhs_vars: set[str] = set()
    for p in parsed.values():
        required |= formula_variables(p, dtypes.index)
        lhs_vars |= formula_variables(p.lhs, dtypes.index)
    if cf is not None:
        required |= formula_variables(cf, dtypes.index)
    if isinstance(inputs.weight_source, str):
        required.add(inputs.weight_source)
    required |= {v for v in inputs.extra.values() if isinstance(v, str)}
    missing_y_ok = all(getattr(f, "response_missing_ok", False) for f in inputs.families)
    listwise = sorted(required - lhs_vars) if missing_y_ok else sorted(required)
    categorical: set[str] = set()
    for terms in [p.rhs for p in parsed.values()] + [p.lhs for p in parsed.values()] + ([] if cf is None else [cf]):
        for c, hows in _column_roles(terms, required).items():
            if "categorical" in hows or ("bare" in hows and c in dtypes.index and _has_levels(dtypes[c])):
                categorical.add(c)
    text_checked = (
        set(categorical) | lhs_vars | ({inputs.weight_source} if isinstance(inputs.weight_source, str) else set())
    )
    return Columns(sorted(required), listwise, sorted(categorical), sorted(text_checked & required))


def _has_levels(dtype) -> bool:
    empty = pd.Series([], dtype=dtype)
    return is_text(empty) or is_boolean(empty) or isinstance(dtype, pd.CategoricalDtype)


# ----------------------------------------------------------------- first pass
@dataclass
class PartitionScan:
    """What the first pass learns from one partition."""

    rows: int
    #: complete rows showing every level of this partition (and a few ordinary rows)
    representatives: pd.DataFrame
    #: value counts of the text columns (order of first appearance), in the complete rows
    text_counts: dict
    #: ``±inf`` count and first row labels of the numeric columns that have any, in the complete rows
    infinite: dict


def scan_partition(part: pd.DataFrame, inputs: ModelInputs, columns: Columns) -> PartitionScan:
    """Rows of one partition that carry its levels (the prototype's share of this partition), and the
    counts the data checks need (:class:`fmmreg.datacheck.ColumnSummary`).

    A column with more than :data:`MAX_LEVELS` distinct values that make up
    more than half of the partition's rows (an identifier) would make the
    prototype as large as the data: the partition is then checked alone by
    :func:`build_design`, which raises the in-memory error naming the column.
    """
    sub = part[columns.required]
    keep = sub[columns.listwise].notna().all(axis=1).to_numpy()
    kept = sub.loc[keep]
    positions = set(range(min(HEAD_ROWS, len(kept))))
    for c in columns.levels:
        first = np.flatnonzero(~kept[c].duplicated().to_numpy())
        if len(first) > max(MAX_LEVELS, len(kept) / 2):
            _check_with_build_design(kept, inputs)
        positions.update(first.tolist())
    text = {c: kept[c].value_counts(sort=False) for c in columns.text_checked if is_text(kept[c])}
    infinite = {c: found for c in columns.required if (found := infinite_values(kept, c))[0]}
    return PartitionScan(len(part), kept.iloc[sorted(positions)], text, infinite)


def column_summary(scans: list[PartitionScan]) -> ColumnSummary:
    """The counts of all partitions, in partition order (so "first" means first in the data)."""
    text: dict = {}
    infinite: dict = {}
    for scan in scans:
        for c, counts in scan.text_counts.items():
            text.setdefault(c, []).append(counts)
        for c, (count, rows) in scan.infinite.items():
            total, first = infinite.get(c, (0, []))
            infinite[c] = (total + count, (first + rows)[:3])
    text = {c: pd.concat(parts).groupby(level=0, sort=False).sum() for c, parts in text.items()}
    return ColumnSummary(text, infinite)


def _check_with_build_design(data: pd.DataFrame, inputs: ModelInputs) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        inputs.design(data)


def prototype(scans: list[PartitionScan], columns: Columns) -> pd.DataFrame:
    """The prototype frame: for each level column the first row of each level, over all partitions.

    Repeated :data:`PROTOTYPE_REPEAT` times (see there). Raises the
    in-memory "no complete rows" error when no partition has a complete row.
    """
    reps = [s.representatives for s in scans if len(s.representatives)]
    if not reps:
        return pd.DataFrame(columns=columns.required)
    frame = pd.concat(reps)
    positions = set(range(min(HEAD_ROWS, len(frame))))
    for c in columns.levels:
        positions.update(np.flatnonzero(~frame[c].duplicated().to_numpy()).tolist())
    frame = frame.iloc[sorted(positions)]
    return pd.concat([frame] * PROTOTYPE_REPEAT)


def check_stateless(design: Design) -> None:
    """Refuse stateful transforms, whose state the prototype cannot learn."""
    specs = [*design.x_specs, design.z_spec]
    for formula, spec in zip([*design.formulas, design.class_formula], specs):
        state = getattr(spec, "transform_state", None) if spec is not None else None
        if state:
            names = ", ".join(sorted(map(str, state)))
            raise FMMError(
                f"{formula!r} uses a stateful transform ({names}) that learns from all the data; with a Dask "
                "DataFrame compute that column first (e.g. ddf['x_c'] = ddf['x'] - ddf['x'].mean())"
            )


# ------------------------------------------------------------------ encoding
@dataclass
class EncodePlan:
    """Everything a worker needs to encode a partition exactly as the in-memory model would."""

    inputs: ModelInputs
    columns: Columns
    proto: pd.DataFrame
    weight_spec: object
    offset_specs: list
    #: base class (0-based) of the membership logit
    base: int = 0


@dataclass
class EncodedPartition:
    """The arrays of one partition, in the model's class order (see :class:`MixtureLikelihood`)."""

    ys: list[np.ndarray]
    designs: list[np.ndarray]
    Z: np.ndarray
    w: np.ndarray | None
    offsets: list[np.ndarray | None]
    families: list
    #: the formula's response (coded), for the global checks
    y: np.ndarray
    #: index labels and positions (in the partition) of the rows used
    index: pd.Index
    rows: np.ndarray
    #: rows of the input partition
    n_input: int
    #: warnings raised while encoding: (category, message)
    warnings: list[tuple[type, str]] = field(default_factory=list)
    #: rows of the input partition without a missing value (those not used had a non-finite encoded value)
    n_complete: int = 0
    #: base class (0-based) of the membership logit
    base: int = 0

    @property
    def n(self) -> int:
        return len(self.index)

    @property
    def nbytes(self) -> int:
        arrays = {id(a): a for a in [*self.ys, *self.designs, self.Z, self.w, self.y, *self.offsets] if a is not None}
        return int(sum(a.nbytes for a in arrays.values()) + self.rows.nbytes + 8 * len(self.index))

    def likelihood(self, class_map: list[int]) -> MixtureLikelihood:
        """The partition's likelihood with the classes in ``class_map`` order."""
        return MixtureLikelihood(
            [self.ys[j] for j in class_map],
            [self.designs[j] for j in class_map],
            self.Z,
            [self.families[j] for j in class_map],
            self.w,
            offsets=[self.offsets[j] for j in class_map],
            base=self.base,
        )


def encode_partition(part: pd.DataFrame, plan: EncodePlan) -> EncodedPartition:
    """Encode one partition: :func:`build_design` on the prototype followed by the partition, prototype cut off.

    Runs the in-memory data checks on the partition's rows (text columns,
    ``±inf``, the response against each family, the weights, exposures) and
    raises their :class:`FMMError`.
    """
    m = len(plan.proto)
    data = pd.concat([plan.proto, part[plan.columns.required]]) if m else part[plan.columns.required]
    complete = int(part[plan.columns.listwise].notna().all(axis=1).sum())
    # the warnings filters are global: tasks of the threaded scheduler must not capture each other's
    with _CAPTURE, warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            design = plan.inputs.design(data)
        except FMMError as exc:
            if not str(exc).startswith(("no complete rows", "no usable rows")):
                raise
            design, caught = None, [warnings.WarningMessage(str(exc), DataWarning, "", 0)]
    records = [(w.category, str(w.message)) for w in caught]
    if design is None or len(design.index) == m:
        return _empty_partition(part, plan, complete, records)
    enc = encoded(_cut(design, m), plan, len(part), records)
    enc.n_complete = complete
    return enc


def encoded(design: Design, plan: EncodePlan, n_input: int, caught: list) -> EncodedPartition:
    """An :class:`EncodedPartition` from a design, after the in-memory response, weight and exposure checks."""
    from fmmreg.model import FMM

    families = plan.inputs.families
    # the in-memory response checks, on these rows (the global ones run on the client)
    proxy = types.SimpleNamespace(design=design, families=families, _check_varies=lambda y, name: None)
    ys = FMM._check_response(proxy)
    if design.weights is not None:
        # the element-wise checks; whether any weight is non-zero is a question for all partitions
        check_weights(plan.weight_spec, np.append(design.weights, 1.0))
    return EncodedPartition(
        ys=ys,
        designs=design.designs,
        Z=design.Z,
        w=design.weights,
        offsets=offset_arrays(plan.offset_specs, design.extra),
        families=families,
        y=np.asarray(design.y, dtype=float),
        index=design.index,
        rows=design.rows,
        n_input=n_input,
        warnings=caught,
        base=plan.base,
    )


def _cut(design: Design, m: int) -> Design:
    """The design without its first ``m`` rows (the prototype)."""
    cache: dict[int, np.ndarray] = {}

    def cut(a):
        if a is None:
            return None
        return cache.setdefault(id(a), np.ascontiguousarray(a[m:]))

    return dataclasses.replace(
        design,
        y=cut(design.y),
        designs=[cut(X) for X in design.designs],
        Z=cut(design.Z),
        weights=cut(design.weights),
        index=design.index[m:],
        rows=design.rows[m:] - m,
        extra={k: cut(v) for k, v in design.extra.items()},
        columns={k: cut(v) for k, v in design.columns.items()},
        n_dropped=design.n_dropped,
    )


def _empty_partition(part: pd.DataFrame, plan: EncodePlan, complete: int, records: list) -> EncodedPartition:
    """A partition without a usable row: zero-row arrays of the right widths."""
    return EncodedPartition(
        ys=[],
        designs=[],
        Z=np.empty((0, 0)),
        w=None,
        offsets=[],
        families=plan.inputs.families,
        y=np.empty(0),
        index=part.index[:0],
        rows=np.empty(0, dtype=np.intp),
        n_input=len(part),
        warnings=records,
        n_complete=complete,
        base=plan.base,
    )


def is_not_finite_message(msg: str) -> bool:
    return _NOT_FINITE.match(msg) is not None or _NO_USABLE.match(msg) is not None


def not_finite_terms(warns: list[tuple[type, str]]) -> list[str]:
    """The terms a partition's encoding found not finite (from its warning, or its "no usable rows" error)."""
    terms = []
    for _, msg in warns:
        m = _NOT_FINITE.match(msg) or _NO_USABLE.match(msg)
        if m:
            terms += [t.strip() for t in m.group(1).split(", ")]
    return list(dict.fromkeys(terms))


def register_sizeof() -> None:
    """Tell Dask's memory manager the real size of an encoded partition (it spills by it)."""
    from dask.sizeof import sizeof

    sizeof.register(EncodedPartition)(lambda p: p.nbytes)


register_sizeof()
