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
    """Format a coefficient like Stata's estimation tables (``%9.0g``).

    At most ``sig`` significant digits and at most 7 decimals (``.0065879``,
    ``-.6114399``, ``18.93314``), leading zero dropped; exponent notation when
    fewer than 3 significant digits would show or the number is too wide.
    """
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "."
    if not np.isfinite(x):
        return "+inf" if x > 0 else "-inf"
    if x == 0:
        return "0"
    mag = math.floor(math.log10(abs(x)))
    decimals = max(0, min(7, sig - 1 - mag))
    while decimals >= 0 and decimals + mag + 1 >= 3:
        s = _strip_zero(f"{x:.{decimals}f}")
        if "." in s:
            s = s.rstrip("0").rstrip(".")
        if len(s) <= width:
            return s
        decimals -= 1
    if mag >= 0 and len(f"{x:.0f}") <= width:
        return f"{x:.0f}"
    for digits in range(3, 0, -1):
        mant, exp = f"{x:.{digits - 1}e}".split("e")
        s = f"{mant}e{int(exp):+03d}"
        if len(s) <= width:
            return s
    return f"{x:.1e}"


def stata_fixed(x: float, decimals: int) -> str:
    if x is None or not np.isfinite(x):
        return ""
    return f"{x:.{decimals}f}"


def abbreviate(name: str, width: int = 12, tail: int = 1) -> str:
    """Shorten a label to ``width`` characters with a ``~`` in the middle, as Stata does.

    Stata's ``abbrev()`` keeps the start and the last character
    (``displacement`` -> ``displa~t``); closing brackets stay with the last
    character, so ``var(e.lmedexp)`` -> ``var(e.lme~p)``. ``tail`` is the
    number of characters kept before those brackets.
    """
    if len(name) <= width:
        return name
    closing = len(name) - len(name.rstrip(")]}"))
    keep = tail + closing
    head = width - 1 - keep
    if head < 1:
        return name[: width - 1] + "~"
    return name[:head] + "~" + name[-keep:]


def unique_abbreviations(names, width: int = 12) -> dict[str, str]:
    """Abbreviations of ``names`` that stay distinct within one table.

    Each long name starts with Stata's abbreviation (:func:`abbreviate`);
    when two different names would print the same, more of their ends are
    kept (``np.log(inc~1)`` / ``np.log(in~10)``) until they differ.

    Returns
    -------
    dict
        Full name -> printed label (short names map to themselves).
    """
    distinct = list(dict.fromkeys(names))
    out = {n: abbreviate(n, width) for n in distinct}
    for _ in range(width):
        seen: dict[str, list[str]] = {}
        for n in distinct:
            seen.setdefault(out[n], []).append(n)
        clashes = [group for group in seen.values() if len(group) > 1]
        if not clashes:
            break
        for group in clashes:
            for n in group:
                if len(n) > width:
                    kept = len(out[n]) - out[n].index("~") - 1
                    out[n] = abbreviate(n, width, tail=kept - (len(n) - len(n.rstrip(")]}"))) + 1)
    return out


def display_term(term: str) -> str:
    """Term name as shown in the Stata-style table (intercept as ``_cons``)."""
    return "_cons" if term == "Intercept" else term


def thousands(n: float) -> str:
    return f"{int(round(n)):,}"
