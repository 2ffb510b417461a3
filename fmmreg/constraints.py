"""Linear constraints on the parameters: ``lcinvariant=``, ``constraints=``, class-specific membership covariates.

Every restriction fmmreg knows is linear in the packed parameters ``theta``
(the order of :meth:`fmmreg.FMM.param_index`), ``R theta = q``, and comes from
one of three places:

- ``lcinvariant=`` (Stata's ``lcinvariant(pclassname)``): parameters of one
  kind are equal across classes. The kinds, in Stata's meaning:

  ========  ==========================================================
  cons      intercepts and cut points (``_cons``, ``/cut1``, ...)
  coef      fixed coefficients (every covariate's coefficient but ``_cons``)
  errvar    covariances of errors (``lnsigma``: ``var(e.y)`` of regress,
            tobit, intreg, truncreg, lognormal; ivregress's ``lnsigma``,
            ``lnsigma_<x>`` and ``athrho``)
  scale     scaling parameters (``lnalpha``, ``lndelta``, ``lnphi``, streg's
            ``ln_p``, ``ln_gam``, ``ln_sig``, ``logs``, and any other
            ancillary parameter of a family)
  all       all of the above
  none      nothing (the default)
  ========  ==========================================================

  A parameter is tied only across the classes that have it (hybrid models:
  ``[1.y]x = [3.y]x`` when class 2 has no ``x``);
- ``constraints=``: Stata-style equations such as ``"[1.y]x = [2.y]x"``,
  ``"[2.y]x = 0.5"``, ``"[2.Class]z = 0"`` (the syntax of
  :mod:`fmmreg.postestimation.expressions`), or a dict
  ``{("1.y", "x"): ("2.y", "x"), ("2.y", "z"): 0.5}`` (a key or value may
  also be written ``"[1.y]x"``);
- a ``class_formula`` list: a covariate missing from a class's entry is a
  coefficient fixed at 0 (shown as ``(omitted)``, not listed as a constraint).

Notes
-----
The feasible set is affine, ``theta = theta0 + N phi``: ``N`` spans the null
space of ``R`` and ``phi`` are the free parameters (Stata reparameterises the
same way). ``N`` is built per group of parameters linked by constraints: for a
group of equalities and fixed values, one indicator column per set of equal
free parameters (so a tie holds bit for bit and a fixed value is exact); for
any other group an orthonormal basis of the null space of its rows (SVD). The
projection of a point onto the set is
``theta0 + N (N'N)^{-1} N' (theta - theta0)`` (a tie starts from the average
of its members). With the log likelihood's gradient ``g`` and Hessian ``H``
in ``theta``, those in ``phi`` are ``N'g`` and ``N'HN``; an information
matrix ``I`` becomes the covariance ``N (N' I N)^{-1} N'`` of ``theta``:
fixed parameters get a zero variance, tied ones share theirs. Rows that are
linear combinations of earlier ones are dropped (as Stata drops them); rows
that contradict earlier ones are an :class:`~fmmreg.exceptions.FMMError`
naming both.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import linalg

from fmmreg.exceptions import FMMError
from fmmreg.formula import INTERCEPT

#: Stata's ``lcinvariant()`` keywords.
LCINVARIANT = ("none", "cons", "coef", "errvar", "scale", "all")
ROLES = ("cons", "coef", "errvar", "scale")

#: Ancillary parameters of the errors' variances and covariances (``errvar``); ``lnsigma_<x>`` too.
ERRVAR_NAMES = frozenset({"lnsigma", "athrho"})

_TOL = 1e-9


# ------------------------------------------------------------ parameter kinds
def parameter_roles(family, xnames: Sequence[str]) -> list[str]:
    """The ``lcinvariant`` kind of each parameter of one class, in packed order.

    Linear coefficients are ``"cons"`` (the intercept) or ``"coef"``; an
    ancillary parameter is ``"errvar"`` (error variances and covariances:
    ``lnsigma``, ``lnsigma_<x>``, ``athrho``), ``"cons"`` (cut points ``cut1``,
    ...) or ``"scale"`` (anything else: ``lnalpha``, ``lnphi``, ``ln_p``, ...).
    A family may override the kind of its ancillary parameters with a dict
    attribute ``invariant_roles`` (name -> kind).
    """
    names = family.param_names(list(xnames))
    roles = ["coef"] * len(names)
    for j in range(family.n_linear):
        positions, terms = family.equation_terms(j, list(xnames))
        for i, term in zip(positions, terms):
            roles[i] = "cons" if term == INTERCEPT else "coef"
    override = getattr(family, "invariant_roles", None) or {}
    first = len(names) - family.n_ancillary
    for i, name in enumerate(family.ancillary_names, start=first):
        if override.get(name) in ROLES:
            roles[i] = override[name]
        elif name in ERRVAR_NAMES or name.startswith("lnsigma_"):
            roles[i] = "errvar"
        elif re.fullmatch(r"/?cut\d+", name):
            roles[i] = "cons"
        else:
            roles[i] = "scale"
    return roles


def resolve_lcinvariant(lcinvariant) -> tuple[str, ...]:
    """The kinds tied across classes: ``"coef"``, ``"cons coef"``, ``["errvar", "scale"]``, ``"all"``."""
    if lcinvariant is None:
        return ()
    words = lcinvariant.split() if isinstance(lcinvariant, str) else lcinvariant
    if not isinstance(words, Sequence) or not all(isinstance(w, str) for w in words):
        raise FMMError(
            f"lcinvariant= takes keywords {', '.join(LCINVARIANT)} (a string or a list), got {lcinvariant!r}"
        )
    kinds: list[str] = []
    for word in words:
        w = word.strip().lower()
        if w not in LCINVARIANT:
            raise FMMError(
                f"lcinvariant={lcinvariant!r}: unknown keyword {word!r}; use {', '.join(map(repr, LCINVARIANT))}"
            )
        if w == "all":
            kinds += list(ROLES)
        elif w != "none":
            kinds.append(w)
    if "none" in [w.strip().lower() for w in words] and kinds:
        raise FMMError(f"lcinvariant={lcinvariant!r} combines 'none' with other keywords; give one or the other")
    return tuple(dict.fromkeys(kinds))


# ------------------------------------------------------------------ the set
class _DisjointSets:
    """Union-find over ``0..n-1`` (groups of parameters or blocks linked by constraints)."""

    def __init__(self, n: int):
        self.parent = list(range(n))

    def find(self, a: int) -> int:
        while self.parent[a] != a:
            self.parent[a] = self.parent[self.parent[a]]
            a = self.parent[a]
        return a

    def union(self, a: int, b: int) -> None:
        self.parent[self.find(b)] = self.find(a)


@dataclass(frozen=True)
class Restriction:
    """One row ``r theta = q`` and where it came from."""

    r: np.ndarray
    q: float
    #: ``"lcinvariant(coef)"``, ``"constraints: '[1.y]x = 0'"`` or ``"class_formula"``
    source: str
    #: False for the zero coefficients of a class-specific class_formula (shown as omitted)
    shown: bool = True


class LinearConstraints:
    """An affine set ``R theta = q`` of the parameters, with its free parameterisation.

    Parameters
    ----------
    index : pandas.MultiIndex
        ``(equation, term)`` labels of ``theta``.
    restrictions : list of Restriction
        Linearly independent rows (see :func:`build_constraints`).

    Attributes
    ----------
    N : ndarray, shape (p, r)
        Basis of the null space of ``R``: ``theta = theta0 + N phi``.
    theta0 : ndarray, shape (p,)
        A point of the set (the fixed values, 0 elsewhere for equalities).
    """

    def __init__(self, index: pd.MultiIndex, restrictions: list[Restriction]):
        self.index = index
        self.restrictions = list(restrictions)
        p = len(index)
        self.R = np.vstack([x.r for x in self.restrictions]) if self.restrictions else np.zeros((0, p))
        self.q = np.array([x.q for x in self.restrictions], dtype=float)
        self.N, self.theta0 = _parameterise(self.R, self.q)
        self._gram_inv = np.linalg.inv(self.N.T @ self.N) if self.N.shape[1] else np.zeros((0, 0))

    # ------------------------------------------------------------ numbers
    @property
    def n_params(self) -> int:
        return self.N.shape[0]

    @property
    def n_free(self) -> int:
        """Number of free parameters (the ``df`` of the model)."""
        return self.N.shape[1]

    def project(self, theta: np.ndarray) -> np.ndarray:
        """The point of the set nearest to ``theta`` (Euclidean)."""
        d = np.asarray(theta, dtype=float) - self.theta0
        return self.full(self._gram_inv @ (self.N.T @ d))

    def free(self, theta: np.ndarray) -> np.ndarray:
        """Free parameters ``phi`` of a point of the set."""
        return self._gram_inv @ (self.N.T @ (np.asarray(theta, dtype=float) - self.theta0))

    def full(self, phi: np.ndarray) -> np.ndarray:
        """``theta0 + N phi``."""
        return self.theta0 + self.N @ np.asarray(phi, dtype=float)

    def reduce(self, matrix: np.ndarray) -> np.ndarray:
        """``N' M N``: a Hessian or information matrix in the free parameters."""
        return self.N.T @ matrix @ self.N

    def expand(self, cov_free: np.ndarray) -> np.ndarray:
        """``N V N'``: a covariance of ``phi`` as the covariance of ``theta``."""
        out = self.N @ cov_free @ self.N.T
        return 0.5 * (out + out.T)

    def violation(self, theta: np.ndarray) -> float:
        """``max |R theta - q|``."""
        if not len(self.q):
            return 0.0
        return float(np.max(np.abs(self.R @ np.asarray(theta, dtype=float) - self.q)))

    # ------------------------------------------------------------- status
    @property
    def fixed(self) -> np.ndarray:
        """True for parameters whose value the constraints determine."""
        return ~np.any(self.N != 0.0, axis=1)

    @property
    def omitted(self) -> np.ndarray:
        """Fixed at 0 by a class-specific class_formula only (Stata would not estimate them)."""
        hidden = np.zeros(self.n_params, dtype=bool)
        shown = np.zeros(self.n_params, dtype=bool)
        for x in self.restrictions:
            touched = x.r != 0.0
            if x.shown:
                shown |= touched
            else:
                hidden |= touched
        return self.fixed & hidden & ~shown

    @property
    def tied(self) -> np.ndarray:
        """Free parameters that share a constraint with others (equal to them, or a sum)."""
        multi = np.zeros(self.n_params, dtype=bool)
        for x in self.restrictions:
            if np.count_nonzero(x.r) > 1:
                multi |= x.r != 0.0
        return multi & ~self.fixed

    def status(self) -> pd.Series:
        """``"free"``, ``"tied"``, ``"fixed"`` or ``"omitted"`` for every parameter."""
        out = np.full(self.n_params, "free", dtype=object)
        out[self.tied] = "tied"
        out[self.fixed] = "fixed"
        out[self.omitted] = "omitted"
        return pd.Series(out, index=self.index, name="constraint")

    def texts(self) -> list[str]:
        """The displayed constraints, as Stata lists them: ``[1.y]x - [2.y]x = 0``."""
        from fmmreg.postestimation.expressions import format_restriction

        return [format_restriction(x.r, x.q, self.index) for x in self.restrictions if x.shown]

    def table(self) -> pd.DataFrame:
        """One row per displayed constraint: its text and its source."""
        rows = [x for x in self.restrictions if x.shown]
        return pd.DataFrame(
            {"constraint": self.texts(), "source": [x.source for x in rows]},
            index=pd.RangeIndex(1, len(rows) + 1, name="number"),
        )

    # ------------------------------------------------------------ relabel
    def relabel(self, A: np.ndarray, index: pd.MultiIndex) -> LinearConstraints:
        """The same set for the parameters ``A theta`` labelled ``index`` (a class relabelling).

        ``R theta = q`` is ``R A^{-1} (A theta) = q``.
        """
        R = self.R @ np.linalg.inv(A)
        rounded = np.round(R)
        R = np.where(np.abs(R - rounded) < 1e-12, rounded, R) + 0.0
        rows = []
        for r, x in zip(R, self.restrictions):
            sign = -1.0 if r[np.flatnonzero(r)[0]] < 0 else 1.0  # "[1.y]x - [2.y]x = 0", not "- [1.y]x + ..."
            rows.append(Restriction(sign * r + 0.0, sign * x.q + 0.0, x.source, x.shown or np.count_nonzero(r) > 1))
        return LinearConstraints(index, rows)

    # ------------------------------------------------------------- EM plan
    def coupled_blocks(self, slices: Sequence[slice]) -> tuple[list[int], list[list[int]]]:
        """Blocks (parameter slices) no constraint touches, and groups of blocks constraints link.

        Returns the free blocks and the groups (lists of block numbers); every
        block with a constrained parameter is in exactly one group.
        """
        sets = _DisjointSets(len(slices))
        block_of = np.full(self.n_params, -1)
        for b, sl in enumerate(slices):
            block_of[sl] = b
        touched = set()
        for x in self.restrictions:
            blocks = sorted({int(block_of[j]) for j in np.flatnonzero(x.r)})
            touched.update(blocks)
            for b in blocks[1:]:
                sets.union(blocks[0], b)
        groups: dict[int, list[int]] = {}
        for b in sorted(touched):
            groups.setdefault(sets.find(b), []).append(b)
        free = [b for b in range(len(slices)) if b not in touched]
        return free, list(groups.values())

    def __repr__(self) -> str:
        return f"<LinearConstraints: {len(self.restrictions)} restriction(s), {self.n_free} free of {self.n_params}>"


def _components(R: np.ndarray) -> list[tuple[list[int], list[int]]]:
    """Groups of parameters linked by rows: (rows, columns) of each connected component."""
    p = R.shape[1]
    sets = _DisjointSets(p)
    for r in R:
        cols = np.flatnonzero(r)
        for c in cols[1:]:
            sets.union(int(cols[0]), int(c))
    comps: dict[int, tuple[list[int], list[int]]] = {}
    for i, r in enumerate(R):
        comps.setdefault(sets.find(int(np.flatnonzero(r)[0])), ([], []))[0].append(i)
    for j in range(p):
        if sets.find(j) in comps:
            comps[sets.find(j)][1].append(j)
    return list(comps.values())


def _simple(r: np.ndarray, q: float) -> bool:
    """A fixed value (one entry) or an equality ``a = b`` (two opposite entries, ``q = 0``)."""
    nz = np.flatnonzero(r)
    return len(nz) == 1 or (len(nz) == 2 and r[nz[0]] == -r[nz[1]] and q == 0.0)


def _parameterise(R: np.ndarray, q: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``N`` and ``theta0`` with ``{theta: R theta = q} = {theta0 + N phi}`` (see the module notes)."""
    p = R.shape[1]
    theta0 = np.zeros(p)
    columns: list[np.ndarray] = []
    constrained = np.zeros(p, dtype=bool)
    for rows, cols in _components(R) if len(R) else []:
        constrained[cols] = True
        Rc, qc = R[np.ix_(rows, cols)], q[rows]
        if all(_simple(r, c) for r, c in zip(Rc, qc)):
            # sets of equal parameters; a set with a fixed member is fixed
            sets = _DisjointSets(len(cols))
            for r in Rc:
                nz = np.flatnonzero(r)
                if len(nz) == 2:
                    sets.union(int(nz[0]), int(nz[1]))
            value: dict[int, float] = {}
            for r, c in zip(Rc, qc):
                nz = np.flatnonzero(r)
                if len(nz) == 1:
                    value[sets.find(int(nz[0]))] = float(c / r[nz[0]])
            members: dict[int, list[int]] = {}
            for j in range(len(cols)):
                members.setdefault(sets.find(j), []).append(cols[j])
            for root, idx in members.items():
                if root in value:
                    theta0[idx] = value[root]
                else:
                    col = np.zeros(p)
                    col[idx] = 1.0
                    columns.append(col)
        else:
            null = linalg.null_space(Rc, rcond=1e-10)
            null[np.abs(null) < 1e-13] = 0.0
            theta0[cols] = np.linalg.lstsq(Rc, qc, rcond=None)[0]
            for v in null.T:
                col = np.zeros(p)
                col[cols] = v
                columns.append(col)
    for j in np.flatnonzero(~constrained):
        col = np.zeros(p)
        col[j] = 1.0
        columns.append(col)
    if not columns:
        return np.zeros((p, 0)), theta0
    # columns in the order of the first parameter each moves
    columns.sort(key=lambda c: int(np.flatnonzero(c)[0]))
    return np.column_stack(columns), theta0


# ---------------------------------------------------------------- building
def _label(index: pd.MultiIndex, j: int) -> str:
    eq, term = index[j]
    return f"[{eq}]{'_cons' if term == INTERCEPT else term}"


def _lcinvariant_rows(index: pd.MultiIndex, classes: Sequence[Sequence[tuple[int, str, str]]], kinds) -> list:
    """Equalities across classes for each kind: a parameter is tied across the classes that have it."""
    rows = []
    keyword = " ".join(kinds) if len(kinds) < len(ROLES) else "all"
    for kind in kinds:
        seen: dict[str, int] = {}
        for params in classes:
            for pos, term, role in params:
                if role != kind:
                    continue
                if term not in seen:
                    seen[term] = pos
                    continue
                r = np.zeros(len(index))
                r[seen[term]] = 1.0
                r[pos] = -1.0
                rows.append((r, 0.0, f"lcinvariant({keyword})", True))
    return rows


def _expressions(constraints) -> list[str]:
    """``constraints=`` as a list of Stata-style strings."""
    if constraints is None:
        return []
    if isinstance(constraints, str):
        return [constraints]
    if isinstance(constraints, Mapping):
        return [f"{_side(k, constraints)} = {_side(v, constraints)}" for k, v in constraints.items()]
    if isinstance(constraints, Sequence) and all(isinstance(c, str) for c in constraints):
        return list(constraints)
    raise FMMError(
        "constraints= takes a Stata-style string such as '[1.y]x = [2.y]x', a list of them, or a dict "
        "{('1.y', 'x'): ('2.y', 'x'), ('2.y', 'z'): 0.5}"
    )


def _side(value, whole) -> str:
    if isinstance(value, tuple) and len(value) == 2 and all(isinstance(v, str) for v in value):
        return f"[{value[0]}]{value[1]}"
    if isinstance(value, str):
        return value
    if isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool):
        if not np.isfinite(value):
            raise FMMError(f"constraints= {whole!r}: the value {value!r} is not finite")
        return repr(float(value))
    raise FMMError(
        f"constraints= {whole!r}: {value!r} is neither a parameter (an (equation, term) pair such as "
        "('1.y', 'x') or '[1.y]x') nor a number"
    )


def _user_rows(index: pd.MultiIndex, constraints, base_equation: str | None) -> list:
    from fmmreg.postestimation.expressions import linear_restrictions

    rows = []
    for expr in _expressions(constraints):
        if base_equation is not None and _names_equation(expr, base_equation):
            cls = base_equation.split(".")[0]
            raise FMMError(
                f"constraint {expr!r} names [{base_equation}]: class {cls} is the base class of the class "
                f"membership logit (class_base={cls}), whose coefficients are 0 by definition; constrain another "
                "class's membership equation, or choose another base class with class_base="
            )
        try:
            R, q = linear_restrictions([expr], index)
        except FMMError as exc:
            raise FMMError(f"constraint {expr!r}: {exc}") from None
        for r, c in zip(R, q):
            rows.append((r, float(c), f"constraints: {expr!r}", True))
    return rows


def _names_equation(expr: str, equation: str) -> bool:
    squashed = re.sub(r"\s+", "", expr)
    eq = re.escape(re.sub(r"\s+", "", equation))
    return re.search(rf"\[{eq}\]|_b\[{eq}:|\[{eq}=|={eq}[\]=]", squashed) is not None


def _accept(rows: list, index: pd.MultiIndex) -> list[Restriction]:
    """Keep the independent rows in order; a row that contradicts earlier ones is an error naming both."""
    kept: list[Restriction] = []
    p = len(index)
    for r, c, source, shown in rows:
        if not np.any(r):
            continue
        scale = float(np.max(np.abs(r)))
        r, c = r / scale, c / scale
        if kept:
            A = np.vstack([x.r for x in kept])
            coef, *_ = np.linalg.lstsq(A.T, r, rcond=None)
            if np.max(np.abs(A.T @ coef - r)) < _TOL * max(1.0, float(np.max(np.abs(r)))):
                implied = float(coef @ np.array([x.q for x in kept]))
                if abs(implied - c) > _TOL * max(1.0, abs(c), abs(implied)):
                    others = [kept[i] for i in np.flatnonzero(np.abs(coef) > 1e-10)]
                    raise FMMError(_contradiction(source, r, c, others, index, implied))
                continue  # implied by the earlier rows: dropped, as Stata does
        kept.append(Restriction(r + 0.0, float(c) + 0.0, source, shown))
    if len(kept) >= p:
        raise FMMError(
            f"the constraints fix all {p} parameters of the model: nothing is left to estimate; drop some constraints"
        )
    return kept


def _contradiction(source: str, r: np.ndarray, c: float, others: list[Restriction], index, implied: float) -> str:
    from fmmreg.postestimation.expressions import format_restriction

    names = ", ".join(dict.fromkeys(_describe(x.source) for x in others))
    return (
        f"{_describe(source)} contradicts {names}: together they imply "
        f"{format_restriction(r, implied, index)}, not = {c:.10g}, so no parameter value satisfies them; "
        "drop or correct one of them"
    )


def _describe(source: str) -> str:
    if source == "class_formula":
        return "the class_formula list (a covariate left out of a class's entry has coefficient 0)"
    return source.replace("constraints: ", "constraint ")


def build_constraints(
    index: pd.MultiIndex,
    classes: Sequence[Sequence[tuple[int, str, str]]],
    lcinvariant=None,
    constraints=None,
    omitted: Sequence[int] = (),
    base_equation: str | None = None,
) -> LinearConstraints | None:
    """The constraint set of a model, or ``None`` when there is none.

    Parameters
    ----------
    index : pandas.MultiIndex
        ``(equation, term)`` labels of ``theta``.
    classes : list of list of (position, term, kind)
        Each class's component parameters: position in ``theta``, term name
        and ``lcinvariant`` kind (:func:`parameter_roles`).
    lcinvariant : str or list of str, optional
        Stata's keywords (:data:`LCINVARIANT`).
    constraints : str, list of str or dict, optional
        User constraints (see the module docstring).
    omitted : list of int
        Positions of membership coefficients fixed at 0 by a class_formula list.
    base_equation : str, optional
        The base class's membership equation (``"1.Class"``): naming it is an error.

    Raises
    ------
    FMMError
        An unknown keyword, equation or term; a nonlinear expression; a base
        class membership coefficient; contradictory constraints (naming them);
        constraints that leave nothing to estimate.
    """
    kinds = resolve_lcinvariant(lcinvariant)
    rows = []
    for j in omitted:
        r = np.zeros(len(index))
        r[j] = 1.0
        rows.append((r, 0.0, "class_formula", False))
    rows += _lcinvariant_rows(index, classes, kinds)
    rows += _user_rows(index, constraints, base_equation)
    if not rows:
        return None
    return LinearConstraints(index, _accept(rows, index))


# ------------------------------------------------------- membership options
def check_class_base(class_base, k: int) -> int:
    """Stata's ``lcbase(#)``: the base class (1-based) of the membership logit, returned 0-based."""
    if isinstance(class_base, (bool, np.bool_)) or not isinstance(class_base, (int, np.integer)):
        raise FMMError(f"class_base must be a class number 1..{k}, got {class_base!r}")
    if not 1 <= class_base <= k:
        raise FMMError(f"class_base={class_base} is not a class of this {k}-class model; use 1..{k}")
    return int(class_base) - 1


def check_class_labels(class_labels, k: int) -> list[str] | None:
    """Names shown for classes 1..K: a list of K names, or a dict ``{class: name}`` for some of them."""
    if class_labels is None:
        return None
    if isinstance(class_labels, Mapping):
        bad = [
            c for c in class_labels if isinstance(c, bool) or not isinstance(c, (int, np.integer)) or not 1 <= c <= k
        ]
        if bad:
            raise FMMError(f"class_labels keys must be class numbers 1..{k}, got {bad}")
        labels = [str(class_labels.get(j, j)) for j in range(1, k + 1)]
    elif isinstance(class_labels, str) or not isinstance(class_labels, Sequence):
        raise FMMError(f"class_labels must be a list of {k} names or a dict {{class: name}}, got {class_labels!r}")
    else:
        labels = [str(x) for x in class_labels]
        if len(labels) != k:
            raise FMMError(f"class_labels has {len(labels)} names for {k} classes; give one per class")
    if len(set(labels)) != k:
        raise FMMError(f"class_labels must be distinct, got {labels}")
    return labels


def resolve_class_formulas(class_formula, k: int, base: int) -> tuple[str | None, list[str | None] | None]:
    """A ``class_formula`` list (one entry per class, Stata's hybrid ``lcprob()``) as one union formula.

    Returns the formula to encode (the union of the entries' terms, or the
    given string) and the entries (``None`` for a string or ``None``
    ``class_formula``). A non-base entry ``None`` or ``""`` means a constant
    only; the base class's entry must be empty (``None``, ``""`` or ``"~ 1"``).
    """
    if class_formula is None or isinstance(class_formula, str):
        return class_formula, None
    if not isinstance(class_formula, Sequence):
        raise FMMError(
            f"class_formula must be a formula such as '~ z' or a list with one per class, got {class_formula!r}"
        )
    entries = list(class_formula)
    if len(entries) != k:
        raise FMMError(
            f"class_formula lists {len(entries)} entries for {k} classes; give one per class (None or '' for "
            f"the base class {base + 1})"
        )
    out: list[str | None] = []
    for j, entry in enumerate(entries, start=1):
        if entry is None or (isinstance(entry, str) and entry.strip() in ("", "~")):
            out.append(None)
        elif isinstance(entry, str):
            if "~" not in entry:
                raise FMMError(f"class_formula entry of class {j} {entry!r} must be a formula such as '~ z1 + z2'")
            out.append(entry)
        else:
            raise FMMError(f"class_formula entry of class {j} must be a string formula or None, got {entry!r}")
    if out[base] is not None and re.sub(r"\s+", "", out[base]) != "~1":
        raise FMMError(
            f"class_formula entry of class {base + 1} is {out[base]!r}, but class {base + 1} is the base class of "
            "the membership logit (its coefficients are 0): give None or '' for it"
        )
    rhs = [e.split("~", 1)[1].strip() for j, e in enumerate(out) if e is not None and j != base]
    rhs = [r for r in rhs if r not in ("1", "")]
    union = "~ " + " + ".join(rhs) if rhs else None
    entries_out = [None if j == base else (e if e is not None else "~ 1") for j, e in enumerate(out)]
    return union, (entries_out if union is not None else None)
