"""Number and name formatting in Stata's style, in one place."""

from __future__ import annotations

import math

import numpy as np


def _strip_zero(s: str) -> str:
    """Stata prints ``.5`` and ``-.5``, not ``0.5``."""
    if s.startswith("0.") and len(s) > 2:
        return s[1:]
    if s.startswith("-0.") and len(s) > 3:
        return "-" + s[2:]
    return s


def stata_g(x: float, width: int = 9, sig: int = 7) -> str:
    """Format like Stata's ``%9.0g``: up to ``sig`` significant digits in ``width`` chars.

    Fixed notation when it shows at least 4 significant digits (or the value
    is an integer that fits), exponent notation otherwise.
    """
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "."
    if not np.isfinite(x):
        return "+inf" if x > 0 else "-inf"
    if x == 0:
        return "0"
    mag = math.floor(math.log10(abs(x)))
    for digits in range(sig, 3, -1):
        decimals = max(digits - 1 - mag, 0)
        s = _strip_zero(f"{x:.{decimals}f}")
        if "." in s:
            s = s.rstrip("0").rstrip(".")
        if len(s) <= width:
            return s
    for digits in range(sig, 0, -1):
        s = f"{x:.{digits - 1}e}"
        mant, exp = s.split("e")
        s = f"{mant}e{int(exp):+03d}"
        if len(s) <= width:
            return s
    return f"{x:.1e}"


def stata_fixed(x: float, decimals: int) -> str:
    if x is None or not np.isfinite(x):
        return ""
    return f"{x:.{decimals}f}"


def abbreviate(name: str, width: int = 12) -> str:
    """Shorten a label to ``width`` characters with a ``~`` as Stata does."""
    if len(name) <= width:
        return name
    tail = 2
    return name[: width - 1 - tail] + "~" + name[-tail:]


def display_term(term: str) -> str:
    """Term name as shown in the Stata-style table (intercept as ``_cons``)."""
    return "_cons" if term == "Intercept" else term


def thousands(n: float) -> str:
    return f"{int(round(n)):,}"
