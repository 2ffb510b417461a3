"""Stata-style expressions over the parameters: ``[1.y]x - [2.y]x = 0``.

One parser serves ``test`` (:func:`linear_restrictions`), ``lincom``
(:func:`linear_combination`), ``nlcom`` (:func:`nonlinear_function`) and
linear constraints on the fit (issue 12): an expression is turned into
arithmetic over the positions of ``params``, then evaluated by a small
whitelisted evaluator (never Python's ``eval``).

A parameter is written as in Stata:

- ``[eq]term``: ``eq`` is the equation, the first level of the ``params``
  index (``1.y``, ``2.Class``; a response such as ``cbind(s, f)`` may hold
  any character but ``]``), ``term`` the second level (``x``,
  ``I(age ** 2)``, ``C(g)[T.b]``, ``lnsigma``); ``_cons`` is the intercept
  (fmmreg's ``Intercept``; both are accepted);
- ``_b[eq:term]`` and ``[eq]_b[term]``, Stata's other spellings;
- ``term`` alone when exactly one equation has it.

Spaces inside names do not matter (``[1.y]I(age**2)`` finds
``I(age ** 2)``). Numbers, ``+ - * / ^ **`` and parentheses combine
parameters; :func:`nonlinear_function` also knows ``exp``, ``ln``/``log``,
``log10``, ``sqrt``, ``abs``, ``invlogit``, ``logit``, ``normal`` (the
standard normal CDF), ``normalden``, ``invnormal``, ``lngamma``, ``tanh``,
``atanh``, ``min`` and ``max``.

In :func:`linear_restrictions`, ``a = b = c`` is two restrictions
(``a = b``, ``b = c``) and Stata's ``[1.y = 2.y]: x z`` means the
coefficients of ``x`` and of ``z`` are equal in both equations.
"""

from __future__ import annotations

import ast
import math
import re
from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd
from scipy import special, stats

from fmmreg.exceptions import FMMError
from fmmreg.formula import INTERCEPT

#: Functions an ``nlcom`` expression may call (Stata's names).
FUNCTIONS: dict[str, Callable] = {
    "exp": np.exp,
    "ln": np.log,
    "log": np.log,
    "log10": np.log10,
    "sqrt": np.sqrt,
    "abs": np.abs,
    "invlogit": special.expit,
    "logit": special.logit,
    "normal": stats.norm.cdf,
    "normalden": stats.norm.pdf,
    "invnormal": stats.norm.ppf,
    "lngamma": special.gammaln,
    "tanh": np.tanh,
    "atanh": np.arctanh,
    "min": min,
    "max": max,
}

_PLACEHOLDER = "__p{}"
_PLACEHOLDER_RE = re.compile(r"__p(\d+)$")
_IDENT_CHAR = re.compile(r"[A-Za-z0-9_.]")
_NUMBER = re.compile(r"(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")


def _squash(text: str) -> str:
    return re.sub(r"\s+", "", text)


class ParameterNames:
    """Resolves Stata-style references against a ``params`` index.

    Parameters
    ----------
    index : pandas.MultiIndex
        ``(equation, term)`` labels, as ``FMMResults.params.index``.
    """

    def __init__(self, index: pd.MultiIndex):
        if not isinstance(index, pd.MultiIndex) or index.nlevels != 2:
            raise TypeError("the parameter index must be a two-level (equation, term) MultiIndex")
        self.index = index
        self.equations: list[str] = list(dict.fromkeys(index.get_level_values(0)))
        self._position = {(str(e), str(t)): i for i, (e, t) in enumerate(index)}
        self._terms: dict[str, list[str]] = {e: [] for e in self.equations}
        for e, t in index:
            self._terms[e].append(str(t))
        self._all_terms = sorted({str(t) for t in index.get_level_values(1)}, key=len, reverse=True)

    # --------------------------------------------------------------- lookups
    def equation(self, text: str, expression: str) -> str:
        """The equation named ``text`` (exact, then ignoring spaces)."""
        text = text.strip()
        if text in self._terms:
            return text
        squashed = _squash(text)
        for eq in self.equations:
            if _squash(eq) == squashed:
                return eq
        raise FMMError(
            f"unknown equation [{text}] in {expression!r}; the equations are "
            f"{', '.join(f'[{e}]' for e in self.equations)}"
        )

    def terms(self, equation: str) -> list[str]:
        return self._terms[equation]

    def position(self, equation: str, term: str, expression: str) -> int:
        """Position in ``params`` of ``[equation]term`` (``_cons`` is the intercept)."""
        term = term.strip()
        for cand in (term, INTERCEPT if term == "_cons" else None):
            if cand is not None and (equation, cand) in self._position:
                return self._position[(equation, cand)]
        squashed = _squash(term)
        for t in self._terms[equation]:
            if _squash(t) == squashed:
                return self._position[(equation, t)]
        raise FMMError(
            f"equation [{equation}] has no term {term!r} (in {expression!r}); its terms are "
            f"{', '.join(_display(t) for t in self._terms[equation])}"
        )

    def match_term(self, text: str, pos: int, candidates: Sequence[str]) -> tuple[str, int] | None:
        """Longest candidate term at ``text[pos:]`` (spaces ignored) ending at a name boundary."""
        for term in sorted(set(candidates) | ({"_cons"} if INTERCEPT in candidates else set()), key=len, reverse=True):
            end = _match_ignoring_spaces(text, pos, term)
            if end is None:
                continue
            if end < len(text) and _IDENT_CHAR.match(text[end]) and _IDENT_CHAR.match(term[-1]):
                continue
            return (INTERCEPT if term == "_cons" and "_cons" not in candidates else term), end
        return None

    def bare_term(self, text: str, pos: int, expression: str) -> tuple[int, int] | None:
        """A term written without its equation: ``(position, end)`` if exactly one equation has it."""
        found = self.match_term(text, pos, self._all_terms)
        if found is None:
            return None
        term, end = found
        eqs = [e for e in self.equations if term in self._terms[e]]
        if len(eqs) > 1:
            raise FMMError(
                f"term {_display(term)!r} in {expression!r} is in several equations "
                f"({', '.join(eqs)}); write it as [{eqs[0]}]{_display(term)}"
            )
        return self._position[(eqs[0], term)], end

    def label(self, position: int) -> str:
        eq, term = self.index[position]
        return f"[{eq}]{_display(str(term))}"


def _display(term: str) -> str:
    return "_cons" if term == INTERCEPT else term


def _match_ignoring_spaces(text: str, pos: int, term: str) -> int | None:
    """End of ``term`` matched at ``text[pos:]`` with whitespace ignored on both sides, or None."""
    i = pos
    for ch in term:
        if ch.isspace():
            continue
        while i < len(text) and text[i].isspace():
            i += 1
        if i >= len(text) or text[i] != ch:
            return None
        i += 1
    return i


def _closing_bracket(text: str, start: int, expression: str) -> int:
    """Index of the ``]`` closing the ``[`` at ``start`` (nested brackets and parentheses allowed)."""
    depth = 0
    for i in range(start, len(text)):
        ch = text[i]
        if ch in "[(":
            depth += 1
        elif ch in "])":
            depth -= 1
            if depth == 0:
                if ch != "]":
                    break
                return i
    raise FMMError(f"unbalanced brackets in {expression!r}")


# ------------------------------------------------------------------ scanning
def _translate(text: str, names: ParameterNames, expression: str) -> str:
    """Replace parameter references by placeholders ``__p<position>`` and ``^`` by ``**``."""
    out: list[str] = []
    i = 0
    while i < len(text):
        ch = text[i]
        if ch.isspace():
            out.append(ch)
            i += 1
        elif text.startswith("_b[", i):
            close = _closing_bracket(text, i + 2, expression)
            out.append(_PLACEHOLDER.format(_b_reference(text[i + 3 : close], names, expression)))
            i = close + 1
        elif ch == "[":
            close = _closing_bracket(text, i, expression)
            eq = names.equation(text[i + 1 : close], expression)
            j = close + 1
            while j < len(text) and text[j].isspace():
                j += 1
            if text.startswith("_b[", j):
                tclose = _closing_bracket(text, j + 2, expression)
                pos = names.position(eq, text[j + 3 : tclose], expression)
                i = tclose + 1
            else:
                found = names.match_term(text, j, names.terms(eq))
                if found is None:
                    rest = re.match(r"[^\s+\-*/^,()=]*", text[j:]).group(0)
                    raise FMMError(
                        f"equation [{eq}] has no term {rest!r} (in {expression!r}); its terms are "
                        f"{', '.join(_display(t) for t in names.terms(eq))}"
                    )
                pos = names.position(eq, found[0], expression)
                i = found[1]
            out.append(_PLACEHOLDER.format(pos))
        elif ch.isdigit() or (ch == "." and i + 1 < len(text) and text[i + 1].isdigit()):
            m = _NUMBER.match(text, i)
            out.append(m.group(0))
            i = m.end()
        elif ch.isalpha() or ch == "_":
            m = re.match(r"[A-Za-z_][A-Za-z0-9_]*", text[i:])
            word = m.group(0)
            after = text[i + len(word) :].lstrip()
            if word in FUNCTIONS and after.startswith("("):
                out.append(word)
                i += len(word)
                continue
            found = names.bare_term(text, i, expression)
            if found is None:
                raise FMMError(
                    f"{word!r} in {expression!r} is neither a parameter nor a function; write parameters as "
                    f"[equation]term (equations: {', '.join(names.equations)})"
                )
            out.append(_PLACEHOLDER.format(found[0]))
            i = found[1]
        elif ch == "^":
            out.append("**")
            i += 1
        elif ch in "+-*/(),":
            out.append(ch)
            i += 1
        else:
            raise FMMError(f"unexpected character {ch!r} in {expression!r}")
    return "".join(out)


def _b_reference(content: str, names: ParameterNames, expression: str) -> int:
    """``_b[eq:term]`` (or ``_b[term]``): the equation is the longest known prefix before a colon."""
    for m in reversed([m.start() for m in re.finditer(":", content)]):
        left = content[:m].strip()
        if any(_squash(e) == _squash(left) for e in names.equations):
            return names.position(names.equation(left, expression), content[m + 1 :], expression)
    found = names.bare_term(content.strip(), 0, expression)
    if found is None or found[1] != len(content.strip()):
        raise FMMError(f"_b[{content}] in {expression!r} names no parameter; write _b[equation:term]")
    return found[0]


def _parse(text: str, names: ParameterNames, expression: str) -> ast.expr:
    source = _translate(text, names, expression)
    if not source.strip():
        raise FMMError(f"empty expression in {expression!r}")
    try:
        tree = ast.parse(source.strip(), mode="eval")
    except SyntaxError as exc:
        raise FMMError(f"could not parse {expression!r}: {exc.msg}") from None
    return tree.body


def _split_equals(expression: str) -> list[str]:
    """Split at ``=`` (or ``==``) outside brackets."""
    parts, depth, start, i = [], 0, 0, 0
    while i < len(expression):
        ch = expression[i]
        if ch in "[(":
            depth += 1
        elif ch in "])":
            depth -= 1
        elif ch == "=" and depth == 0:
            parts.append(expression[start:i])
            i += 2 if expression.startswith("==", i) else 1
            start = i
            continue
        i += 1
    parts.append(expression[start:])
    return parts


# --------------------------------------------------------------- evaluation
_BINARY = {ast.Add: np.add, ast.Sub: np.subtract, ast.Mult: np.multiply, ast.Div: np.divide, ast.Pow: np.power}


def _linear(node: ast.expr, p: int, expression: str) -> tuple[np.ndarray, float]:
    """Evaluate ``node`` as ``r @ theta + c``; FMMError if it is not linear."""

    def constant(v: tuple[np.ndarray, float]) -> bool:
        return not np.any(v[0])

    if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)):
        return np.zeros(p), float(node.value)
    if isinstance(node, ast.Name):
        m = _PLACEHOLDER_RE.match(node.id)
        if m is None:
            raise FMMError(f"{node.id!r} in {expression!r} is not a parameter")
        r = np.zeros(p)
        r[int(m.group(1))] = 1.0
        return r, 0.0
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        r, c = _linear(node.operand, p, expression)
        return (-r, -c) if isinstance(node.op, ast.USub) else (r, c)
    if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
        a, b = _linear(node.left, p, expression), _linear(node.right, p, expression)
        if isinstance(node.op, ast.Add):
            return a[0] + b[0], a[1] + b[1]
        if isinstance(node.op, ast.Sub):
            return a[0] - b[0], a[1] - b[1]
        if isinstance(node.op, ast.Mult) and constant(a):
            return b[0] * a[1], a[1] * b[1]
        if isinstance(node.op, ast.Mult) and constant(b):
            return a[0] * b[1], a[1] * b[1]
        if isinstance(node.op, ast.Div) and constant(b):
            if b[1] == 0:
                raise FMMError(f"division by zero in {expression!r}")
            return a[0] / b[1], a[1] / b[1]
        if isinstance(node.op, ast.Pow) and constant(a) and constant(b):
            return np.zeros(p), float(a[1] ** b[1])
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in FUNCTIONS:
        args = [_linear(a, p, expression) for a in node.args]
        if all(constant(a) for a in args) and not node.keywords:
            return np.zeros(p), float(FUNCTIONS[node.func.id](*[a[1] for a in args]))
    raise FMMError(f"{expression!r} is not linear in the parameters; use nlcom for nonlinear combinations")


def _compile(node: ast.expr, expression: str) -> Callable[[np.ndarray], float]:
    """A function of the parameter vector evaluating ``node`` (whitelisted operations only)."""
    if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)):
        value = float(node.value)
        return lambda theta: value
    if isinstance(node, ast.Name):
        m = _PLACEHOLDER_RE.match(node.id)
        if m is None:
            raise FMMError(f"{node.id!r} in {expression!r} is not a parameter")
        j = int(m.group(1))
        return lambda theta: theta[j]
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        f = _compile(node.operand, expression)
        return (lambda theta: -f(theta)) if isinstance(node.op, ast.USub) else f
    if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
        op = _BINARY[type(node.op)]
        fa, fb = _compile(node.left, expression), _compile(node.right, expression)
        return lambda theta: op(fa(theta), fb(theta))
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in FUNCTIONS:
        if node.keywords:
            raise FMMError(f"keyword arguments are not allowed in {expression!r}")
        fn = FUNCTIONS[node.func.id]
        args = [_compile(a, expression) for a in node.args]
        return lambda theta: fn(*[a(theta) for a in args])
    raise FMMError(
        f"unsupported operation in {expression!r}; use numbers, parameters, + - * / ^ and functions "
        f"{', '.join(sorted(FUNCTIONS))}"
    )


# ------------------------------------------------------------------- public
def _as_list(expressions: str | Sequence[str]) -> list[str]:
    if isinstance(expressions, str):
        return [expressions]
    out = list(expressions)
    if not out or not all(isinstance(e, str) for e in out):
        raise FMMError("give the hypotheses as a string or a list of strings such as '[1.y]x = [2.y]x'")
    return out


_ACROSS = re.compile(r"^\s*\[(?P<eqs>[^\]]*=[^\]]*)\]\s*:\s*(?P<terms>.+)$")


def _across_equations(expression: str, names: ParameterNames) -> list[tuple[np.ndarray, float]] | None:
    """Stata's ``[eq1 = eq2 = ...]: term1 term2``: each term equal across the equations."""
    m = _ACROSS.match(expression)
    if m is None:
        return None
    eqs = [names.equation(e, expression) for e in m.group("eqs").split("=")]
    rows = []
    text, i = m.group("terms"), 0
    p = len(names.index)
    while i < len(text):
        if text[i].isspace():
            i += 1
            continue
        found = names.match_term(text, i, names.terms(eqs[0]))
        if found is None:
            raise FMMError(f"equation [{eqs[0]}] has no term {text[i:].split()[0]!r} (in {expression!r})")
        term, i = found
        for other in eqs[1:]:
            r = np.zeros(p)
            r[names.position(eqs[0], term, expression)] = 1.0
            r[names.position(other, term, expression)] -= 1.0
            rows.append((r, 0.0))
    if not rows:
        raise FMMError(f"no terms after the colon in {expression!r}")
    return rows


def linear_restrictions(expressions: str | Sequence[str], index: pd.MultiIndex) -> tuple[np.ndarray, np.ndarray]:
    """Linear hypotheses or constraints ``R theta = q`` from Stata-style expressions.

    Parameters
    ----------
    expressions : str or list of str
        Each ``"lhs = rhs"`` (``"lhs"`` alone means ``lhs = 0``); ``a = b =
        c`` gives two rows, ``"[1.y = 2.y]: x z"`` one row per term.
    index : pandas.MultiIndex
        The ``(equation, term)`` index of ``params``.

    Returns
    -------
    R : ndarray, shape (m, p)
    q : ndarray, shape (m,)

    Raises
    ------
    FMMError
        Naming the expression, for an unknown equation or term, a nonlinear
        expression or a restriction that involves no parameter.

    Notes
    -----
    Each side is evaluated as ``r @ theta + c``; ``lhs = rhs`` becomes
    ``(r_l - r_r) theta = c_r - c_l``.
    """
    names = ParameterNames(index)
    p = len(index)
    rows: list[np.ndarray] = []
    rhs: list[float] = []
    for expression in _as_list(expressions):
        across = _across_equations(expression, names)
        if across is not None:
            for r, c in across:
                rows.append(r)
                rhs.append(c)
            continue
        sides = [_linear(_parse(s, names, expression), p, expression) for s in _split_equals(expression)]
        if len(sides) == 1:
            sides.append((np.zeros(p), 0.0))
        for (rl, cl), (rr, cr) in zip(sides[:-1], sides[1:]):
            r = rl - rr
            if not np.any(r):
                raise FMMError(f"{expression!r} does not involve any parameter")
            rows.append(r)
            rhs.append(cr - cl)
    return np.vstack(rows), np.asarray(rhs, dtype=float)


def linear_combination(expression: str, index: pd.MultiIndex) -> tuple[np.ndarray, float]:
    """A linear combination ``r @ theta + c`` of the parameters (Stata ``lincom``).

    Raises
    ------
    FMMError
        For an equation sign (use :func:`linear_restrictions`), an unknown
        parameter or a nonlinear expression.
    """
    if not isinstance(expression, str):
        raise FMMError(f"lincom takes one expression as a string, got {type(expression).__name__}")
    if len(_split_equals(expression)) > 1:
        raise FMMError(f"{expression!r} contains '='; lincom takes an expression (use wald_test for equations)")
    names = ParameterNames(index)
    return _linear(_parse(expression, names, expression), len(index), expression)


def nonlinear_function(expression: str, index: pd.MultiIndex) -> Callable[[np.ndarray], float]:
    """A function of the parameter vector from a Stata ``nlcom`` expression.

    Returns
    -------
    callable
        ``f(theta) -> float`` with ``theta`` ordered as ``index``.
    """
    if not isinstance(expression, str):
        raise FMMError(f"nlcom takes expressions as strings, got {type(expression).__name__}")
    if len(_split_equals(expression)) > 1:
        raise FMMError(f"{expression!r} contains '='; nlcom takes an expression")
    names = ParameterNames(index)
    tree = _parse(expression, names, expression)
    f = _compile(tree, expression)

    def evaluate(theta: np.ndarray) -> float:
        with np.errstate(all="ignore"):
            return float(f(np.asarray(theta, dtype=float)))

    #: positions of the parameters the expression reads (its gradient is zero elsewhere)
    evaluate.parameters = tuple(  # type: ignore[attr-defined]
        sorted(
            {
                int(m.group(1))
                for n in ast.walk(tree)
                if isinstance(n, ast.Name)
                for m in [_PLACEHOLDER_RE.match(n.id)]
                if m
            }
        )
    )
    return evaluate


def format_restriction(r: np.ndarray, q: float, index: pd.MultiIndex) -> str:
    """Stata's display of one restriction row: ``[1.y]x - [2.y]x = 0``."""
    names = ParameterNames(index)
    parts = []
    for j in np.flatnonzero(r):
        coef = float(r[j])
        sign = "-" if coef < 0 else "+"
        mag = abs(coef)
        term = names.label(int(j)) if math.isclose(mag, 1.0) else f"{mag:.10g}*{names.label(int(j))}"
        parts.append((sign, term))
    text = ""
    for k, (sign, term) in enumerate(parts):
        text += (f"- {term}" if sign == "-" else term) if k == 0 else f" {sign} {term}"
    return f"{text} = {float(q) + 0.0:.10g}"  # + 0.0: no "-0"
