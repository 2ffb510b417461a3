"""Stata's three kinds of weights, in one place.

``fweights=`` (frequency), ``pweights=`` (sampling) and ``iweights=``
(importance) all multiply each observation's log likelihood,
``l = sum_i w_i log f(y_i)``, so the point estimates do not depend on the kind.
The kind decides what the numbers *mean*:

=========  ===============================  ====================  =================================
kind       checks                           ``nobs``              standard errors
=========  ===============================  ====================  =================================
fweight    non-negative integers            ``sum w``             any ``vce``; same as replicated rows
pweight    non-negative                     rows with ``w > 0``   ``vce="robust"`` (default) or cluster
iweight    finite (no other check)          ``sum w``             any ``vce``
=========  ===============================  ====================  =================================

``weights=`` is a documented alias of ``fweights=`` (so non-integer values
raise :class:`~fmmreg.exceptions.FMMError`, as ``fweight`` does in Stata).
Rows with a zero weight are kept in the arrays but count as no observation,
as Stata's sample marker leaves them out.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from fmmreg.exceptions import FMMError

#: Stata's weight types, by the option name that selects them.
WEIGHT_OPTIONS = {"fweights": "fweight", "pweights": "pweight", "iweights": "iweight", "weights": "fweight"}


@dataclass(frozen=True)
class WeightSpec:
    """Which weights the user gave: the Stata type and where the values come from.

    Attributes
    ----------
    kind : {"fweight", "pweight", "iweight"} or None
        Stata's weight type (``e(wtype)``); ``None`` when unweighted.
    source : str, array or None
        A column name of the data, or the values (one per row of the data).
    option : str
        The keyword the user passed (``"fweights"``, ``"weights"``, ...), for messages.
    """

    kind: str | None = None
    source: object = None
    option: str = ""

    @property
    def label(self) -> str:
        """The name used in messages: the column name, else the option."""
        return self.source if isinstance(self.source, str) else self.option


def resolve_weights(weights=None, fweights=None, pweights=None, iweights=None) -> WeightSpec:
    """Pick the one weight option given (at most one may be).

    Raises
    ------
    FMMError
        When more than one of ``weights``, ``fweights``, ``pweights``,
        ``iweights`` is given.
    """
    given = {
        name: value
        for name, value in (
            ("weights", weights),
            ("fweights", fweights),
            ("pweights", pweights),
            ("iweights", iweights),
        )
        if value is not None
    }
    if len(given) > 1:
        raise FMMError(
            f"give at most one kind of weights, got {', '.join(given)}; "
            "fweights= (frequency), pweights= (sampling) or iweights= (importance)"
        )
    if not given:
        return WeightSpec()
    option, source = next(iter(given.items()))
    if not isinstance(source, str):
        try:
            source = (
                source.to_numpy(dtype=float, na_value=np.nan)
                if isinstance(source, pd.Series)
                else np.asarray(source, dtype=float)
            )
        except (TypeError, ValueError) as exc:
            raise FMMError(f"{option} could not be read as numbers: {exc}") from None
    return WeightSpec(WEIGHT_OPTIONS[option], source, option)


def check_weights(spec: WeightSpec, w: np.ndarray | None) -> None:
    """Stata's checks of the weights of the rows used.

    Raises
    ------
    FMMError
        Negative frequency or sampling weights, non-integer frequency weights,
        or weights that are all zero; the message names the column.
    """
    if spec.kind is None or w is None:
        return
    name = f"{spec.option} {spec.label!r}" if isinstance(spec.source, str) else spec.option
    if spec.kind in ("fweight", "pweight") and np.any(w < 0):
        raise FMMError(f"{name} has negative values (minimum {float(w.min()):g}); {spec.kind}s must be >= 0")
    if spec.kind == "fweight":
        bad = np.flatnonzero(w != np.floor(w))
        if bad.size:
            alias = " (weights= means fweights=)" if spec.option == "weights" else ""
            raise FMMError(
                f"{name} must hold non-negative integers, as frequency weights{alias}; {bad.size} value(s) "
                f"are not, e.g. {float(w[bad[0]]):g}; use pweights= for sampling weights or iweights= for "
                "importance weights"
            )
    if not np.any(w != 0) or float(np.sum(w)) <= 0:
        raise FMMError(f"{name} sum to {float(np.sum(w)):g}: no observation carries weight")


def nobs(kind: str | None, w: np.ndarray) -> float:
    """Stata's number of observations: ``sum w`` for fweights and iweights, positive-weight rows otherwise."""
    if kind in ("fweight", "iweight"):
        return float(np.sum(w))
    return float(np.count_nonzero(w))


def robust_n(kind: str | None, w: np.ndarray) -> float:
    """The ``N`` of the robust small-sample factor ``N / (N - 1)``.

    ``sum w`` for frequency weights (each weight is that many observations),
    the number of rows with a non-zero weight otherwise (Stata's ``_robust``).
    """
    if kind == "fweight":
        return float(np.sum(w))
    return float(np.count_nonzero(w))


def meat_weights(kind: str | None, w: np.ndarray) -> np.ndarray:
    """Multiplier ``m_i`` of ``g_i g_i'`` in the robust meat ``sum_i m_i g_i g_i'``.

    ``w_i`` for frequency weights (``w_i`` identical rows), ``w_i**2`` for
    sampling and importance weights (the score of row ``i`` is ``w_i g_i``);
    1 without weights.
    """
    return w if kind == "fweight" else w * w
