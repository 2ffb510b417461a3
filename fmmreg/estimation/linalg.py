"""Small numerical kernels shared by the engine.

Everything here works on plain numpy arrays. The helpers exist because the same
three operations appear in every score and Hessian: a weighted cross-product of
two designs, a max-shifted log-sum-exp over classes, and a solve with a
possibly ill-conditioned negative-definite matrix.
"""

from __future__ import annotations

import contextvars
import functools
import os
import threading
import weakref
from concurrent.futures import ThreadPoolExecutor

import numpy as np
from scipy.linalg import lapack

#: A design is an (n, p) float array, or ``None`` for the constant design of an
#: ancillary parameter (a column of ones that is never materialised).
Design = np.ndarray | None


def design_width(design: Design) -> int:
    """Number of columns of a design (1 for the implicit constant)."""
    return 1 if design is None else design.shape[1]


def weighted_sum(design: Design, c: np.ndarray) -> np.ndarray:
    """Return ``D' c`` as a 1-D array."""
    if design is None:
        return np.atleast_1d(c.sum())
    return design.T @ c


#: Rows per block in :func:`weighted_cross`: the scaled block stays in cache
#: instead of a full n x p temporary going through memory (2x faster at n=1e6).
CROSS_BLOCK = 16_384


def weighted_cross(a: Design, c: np.ndarray, b: Design) -> np.ndarray:
    """Return ``A' diag(c) B`` without forming ``diag(c)``.

    The constant design is handled without a column of ones, so ancillary
    blocks cost one pass over ``c``. Large designs are processed in row
    blocks of :data:`CROSS_BLOCK`.
    """
    if a is None and b is None:
        return np.array([[c.sum()]])
    if a is None:
        return (b.T @ c)[None, :]
    if b is None:
        return (a.T @ c)[:, None]
    n = a.shape[0]
    if n <= 2 * CROSS_BLOCK:
        return (a.T * c) @ b
    out = np.zeros((a.shape[1], b.shape[1]))
    # the scaled block in the design's own layout: a column-major design is
    # scaled column by column, contiguously (1.7x faster than row by row)
    buf = np.empty((CROSS_BLOCK, a.shape[1]), order="F" if a.flags.f_contiguous else "C")
    for start in range(0, n, CROSS_BLOCK):
        stop = min(start + CROSS_BLOCK, n)
        blk = buf[: stop - start]
        np.multiply(a[start:stop], c[start:stop, None], out=blk)
        out += blk.T @ b[start:stop]
    return out


#: Khatri-Rao products ``x_s x_t`` (``s <= t``) of small designs, kept for :func:`weighted_gram`
#: while their design lives (by ``id``, with a weak reference that tells a reused ``id``).
_GRAMS: dict[int, tuple[weakref.ref, np.ndarray]] = {}


def weighted_gram(x: np.ndarray, c: np.ndarray) -> np.ndarray:
    """``X' diag(c) X`` for a design ``X`` (n, p), as :func:`weighted_cross` ``(X, c, X)``.

    EM refits each class's weighted model on the same design at every
    iteration, with new weights only. On small designs (the Khatri-Rao
    product within :data:`KR_CACHE_DOUBLES`) the row-wise products
    ``x_is x_it``, ``s <= t``, are built once per design and each call is
    one matrix-vector product with ``c`` (a fifth of the work of scaling
    the design and multiplying).
    """
    n, p = x.shape
    width = p * (p + 1) // 2
    if n * width > KR_CACHE_DOUBLES or p < 2:
        return weighted_cross(x, c, x)
    entry = _GRAMS.get(id(x))
    if entry is None or entry[0]() is not x:
        kr = np.empty((n, width), order="F")
        _khatri_rao(x, x, True, kr)
        try:
            ref = weakref.ref(x)
        except TypeError:  # an object without weak references: nothing kept
            return weighted_cross(x, c, x)
        _GRAMS[id(x)] = entry = (ref, kr)
        weakref.finalize(x, _GRAMS.pop, id(x), None)
    g = entry[1].T @ c
    iu, il = _triu(p)
    out = np.empty((p, p))
    out[iu, il] = g
    out[il, iu] = g
    return out


#: Rows per block of :class:`PairCrosses`: a block's Khatri-Rao products
#: (rows x up to ~30 columns) stay in the 1 MB level-2 cache.
PAIR_BLOCK = 4096


#: Khatri-Rao products of :class:`PairCrosses` are kept between calls while all of them
#: together hold at most this many doubles (32 MB).
KR_CACHE_DOUBLES = 4_000_000


def _khatri_rao(xa: np.ndarray, xb: np.ndarray, sym: bool, out: np.ndarray) -> None:
    """Row-wise products of the columns of ``xa`` and ``xb`` (``s <= t`` only when ``sym``), into ``out``."""
    wa = xa.shape[1]
    if sym:
        off = 0
        for s in range(wa):
            np.multiply(xa[:, s, None], xa[:, s:], out=out[:, off : off + wa - s])
            off += wa - s
    else:
        wb = xb.shape[1]
        for s in range(wa):
            np.multiply(xa[:, s, None], xb, out=out[:, s * wb : (s + 1) * wb])


@functools.cache
def _triu(w: int) -> tuple[np.ndarray, np.ndarray]:
    return np.triu_indices(w)


class PairCrosses:
    """Many weighted cross-products ``D_a' diag(c_r) D_b`` of a few designs at once.

    Parameters
    ----------
    designs : list of Design
        The distinct designs (``None`` is the constant column).
    pairs : list of (int, int)
        For each wanted product ``r``, the positions ``(a, b)``, ``a <= b``,
        of its two designs in ``designs``.

    Notes
    -----
    ``D_a' diag(c) D_b = sum_i c_i (d_ai kron d_bi)`` reshaped: every product
    of the same two designs is one GEMM of their row-wise Khatri-Rao product
    ``KR_ab`` (columns ``d_a,s * d_b,t``; ``s <= t`` only when ``a = b``)
    with the matrix whose columns are the weights ``c_r``. ``KR_ab`` is built
    in row blocks of :data:`PAIR_BLOCK` (in cache, never for all rows). An
    observed information with ``m`` linear indices then costs one GEMM per
    pair of distinct designs instead of ``m (m + 1) / 2`` cross-products,
    each scaling a design copy (Louis' identity has one weight per index
    pair, see :class:`fmmreg.estimation.mixture.MixtureLikelihood`).

    The weights are passed as one column-major (n, R) array whose column
    ``slot[r]`` holds ``c_r``; pairs with the same designs have adjacent
    slots, so each GEMM reads a contiguous slice.

    The designs do not change between calls: on small data (all Khatri-Rao
    products within :data:`KR_CACHE_DOUBLES`) the products are built once
    and kept, and each call is one GEMM per design pair (the start search
    evaluates hundreds of Hessians of the same rows).
    """

    def __init__(self, designs: list[Design], pairs: list[tuple[int, int]]):
        self.designs = list(designs)
        widths = [design_width(d) for d in self.designs]
        groups: dict[tuple[int, int], list[int]] = {}
        for r, (a, b) in enumerate(pairs):
            if a > b:
                raise ValueError("PairCrosses wants design pairs with a <= b")
            groups.setdefault((a, b), []).append(r)
        self.n_pairs = len(pairs)
        self.slot = np.empty(len(pairs), dtype=np.intp)
        self._groups = []
        start = 0
        for (a, b), rs in groups.items():
            self.slot[rs] = np.arange(start, start + len(rs))
            self._groups.append((a, b, rs, slice(start, start + len(rs)), widths[a], widths[b]))
            start += len(rs)
        widths_kr = [wa * (wa + 1) // 2 if a == b else wa * wb for a, b, _, _, wa, wb in self._groups]
        self._ncols = max([w for w in widths_kr if w > 0] + [1])
        rows = max((d.shape[0] for d in self.designs if d is not None), default=0)
        #: Khatri-Rao products kept between calls (by design pair), on small data only
        self._kr: dict[tuple[int, int], np.ndarray] | None = {} if rows * sum(widths_kr) <= KR_CACHE_DOUBLES else None

    def __call__(self, c: np.ndarray) -> list[np.ndarray]:
        """The products ``D_a' diag(c[:, slot[r]]) D_b`` for every pair ``r``, as (w_a, w_b) arrays."""
        out: list[np.ndarray] = [None] * self.n_pairs  # type: ignore[list-item]
        n = c.shape[0]
        buf = None
        for a, b, rs, sl, wa, wb in self._groups:
            da, db = self.designs[a], self.designs[b]
            cg = c[:, sl]
            if da is None and db is None:
                g = cg.sum(axis=0)
                for j, r in enumerate(rs):
                    out[r] = np.array([[g[j]]])
                continue
            if da is None or db is None:
                g = (db if da is None else da).T @ cg
                for j, r in enumerate(rs):
                    out[r] = g[None, :, j] if da is None else g[:, j, None]
                continue
            sym = a == b
            ncols = wa * (wa + 1) // 2 if sym else wa * wb
            if self._kr is not None:
                kr = self._kr.get((a, b))
                if kr is None:
                    kr = self._kr[(a, b)] = np.empty((n, ncols), order="F")
                    _khatri_rao(da, db, sym, kr)
                g = kr.T @ cg
            else:
                if buf is None:
                    buf = np.empty((min(n, PAIR_BLOCK), self._ncols), order="F")
                g = np.zeros((ncols, len(rs)))
                for start in range(0, n, PAIR_BLOCK):
                    stop = min(start + PAIR_BLOCK, n)
                    kr = buf[: stop - start, :ncols]
                    _khatri_rao(da[start:stop], db[start:stop], sym, kr)
                    g += kr.T @ cg[start:stop]
            if sym:
                iu, il = _triu(wa)
                m = np.empty((len(rs), wa, wa))
                m[:, iu, il] = g.T
                m[:, il, iu] = g.T
                for j, r in enumerate(rs):
                    out[r] = m[j]
            else:
                for j, r in enumerate(rs):
                    out[r] = g[:, j].reshape(wa, wb)
        return out


def matmul_columns(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``a @ b`` for a tall ``a`` and a narrow ``b``, as a column-major result.

    Computed as ``(b' a')'``: one GEMM whose row-major output is the
    column-major product, so each column (a class's linear predictor) is
    contiguous for the per-class loops. With a column-major ``a`` (the
    designs) this is 2x faster than one matrix-vector product per column,
    and it stays on BLAS for row slices of ``a`` (``np.dot(..., out=)``
    falls off BLAS on those and is 7x slower).
    """
    b = np.asarray(b, dtype=float)
    return (b.T @ a.T).T


def logsumexp_rows(a: np.ndarray) -> np.ndarray:
    """Row-wise log-sum-exp of an (n, K) array, max-shifted.

    Hand written because ``scipy.special.logsumexp`` copies and checks more
    than this hot path needs (measured ~3x slower at n = 1e5).
    """
    # column loops: numpy reductions along a short last axis are slow
    k = a.shape[1]
    m = a[:, 0].copy()
    for j in range(1, k):
        np.maximum(m, a[:, j], out=m)
    m[~np.isfinite(m)] = 0.0
    s = np.exp(a[:, 0] - m)
    for j in range(1, k):
        s += np.exp(a[:, j] - m)
    with np.errstate(divide="ignore"):
        return np.log(s) + m


def normalize_rows(a: np.ndarray) -> np.ndarray:
    """Turn log weights ``a`` (n, K) into probabilities in place; return the log normalisers.

    ``a[i] <- exp(a[i] - lse_i)`` with ``lse_i = log sum_k exp(a_ik)``
    (returned). One exponential per entry: the shifted exponentials that
    make up the log-sum-exp are the probabilities once divided by their sum
    (a softmax and its normaliser in one pass, K exponentials per row
    instead of 2K). Column loops: numpy reductions along a short last axis
    are slow, and a column-major ``a`` keeps each column contiguous. Rows
    without a finite maximum give ``lse = -inf`` (all ``-inf``), ``inf`` or
    NaN and NaN probabilities, as the textbook formula does. Large arrays
    go by row chunks (:func:`map_rows`): each chunk's passes stay in cache.
    """
    n = a.shape[0]
    if n <= 4 * ROW_CHUNK:
        return _normalize_block(a)
    lse = np.empty(n)

    def one(rows: slice) -> None:
        lse[rows] = _normalize_block(a[rows])

    map_rows(one, n)
    return lse


def _normalize_block(a: np.ndarray) -> np.ndarray:
    k = a.shape[1]
    m = a[:, 0].copy()
    for j in range(1, k):
        np.maximum(m, a[:, j], out=m)
    m[~np.isfinite(m)] = 0.0
    s = np.zeros(a.shape[0])
    with np.errstate(invalid="ignore", over="ignore"):
        for j in range(k):
            col = a[:, j]
            np.subtract(col, m, out=col)
            np.exp(col, out=col)
            s += col
    with np.errstate(divide="ignore", invalid="ignore"):
        for j in range(k):
            np.divide(a[:, j], s, out=a[:, j])
        np.log(s, out=s)
    s += m
    return s


#: Rows per chunk of the element-wise kernels on large arrays: a chunk's
#: columns (128 KB each) stay in cache between the passes over them.
ROW_CHUNK = 16_384
#: Threads for the row chunks of large data (1: no threads). numpy releases
#: the GIL inside its loops and BLAS calls, so two use a second core.
THREADS = min(2, os.cpu_count() or 1)

_EXECUTOR: ThreadPoolExecutor | None = None
_THREAD_PREFIX = "fmmreg-rows"


def _executor() -> ThreadPoolExecutor:
    """The process's pool of chunk threads, started on first use."""
    global _EXECUTOR
    if _EXECUTOR is None or _EXECUTOR._max_workers != THREADS:
        _EXECUTOR = ThreadPoolExecutor(max_workers=THREADS, thread_name_prefix=_THREAD_PREFIX)
    return _EXECUTOR


def map_rows(fn, n: int, size: int = ROW_CHUNK) -> list:
    """``[fn(rows) for rows in chunks]`` over row chunks ``slice``s of ``size``, in :data:`THREADS` threads.

    ``fn`` must only write to its own rows of shared outputs; it runs in
    the caller's context (``np.errstate`` included).
    """
    chunks = [slice(start, min(start + size, n)) for start in range(0, n, size)]
    # inside a chunk thread already: serially (waiting on the same pool could deadlock)
    if THREADS <= 1 or len(chunks) < 2 or threading.current_thread().name.startswith(_THREAD_PREFIX):
        return [fn(rows) for rows in chunks]
    # the caller's context (numpy's errstate lives in a context variable) goes with
    # every chunk: a worker thread would otherwise warn where the caller ignores
    ctx = contextvars.copy_context()
    return list(_executor().map(lambda rows: ctx.copy().run(fn, rows), chunks))


def full_column_rank(X: np.ndarray) -> bool:
    """Whether ``X`` has full column rank, as ``np.linalg.matrix_rank(X) == X.shape[1]``.

    ``matrix_rank`` takes an SVD of the whole (n, p) array (1.4 s at
    n = 1e6). The eigenvalues of the column-scaled Gram matrix ``X'X`` (one
    pass over ``X``) settle the clear cases: their ratio is the squared
    ratio of singular values, so a smallest one above ``1e-8`` (a condition
    number below 1e4 after scaling) is far from ``matrix_rank``'s tolerance.
    Anything closer goes to ``matrix_rank`` itself, so the verdict is the
    SVD's.
    """
    if X.shape[0] < X.shape[1]:
        return False
    gram = X.T @ X
    d = np.sqrt(np.diag(gram))
    if np.all(np.isfinite(gram)) and np.all(d > 0):
        eig = np.linalg.eigvalsh(gram / np.outer(d, d))
        if eig[0] > 1e-8 * eig[-1]:
            return True
    return bool(np.linalg.matrix_rank(X) == X.shape[1])


def jacobi_scale(a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Scale a symmetric matrix to unit diagonal: ``a_s = a / (d d')``, ``d = sqrt|diag a|``.

    Coefficients of ``age**2`` and of a constant differ by orders of
    magnitude; scaled, the condition number reflects the model, not the units.
    """
    d = np.sqrt(np.abs(np.diag(a)))
    d[d == 0] = 1.0
    return a / np.outer(d, d), d


def solve_negdef(h: np.ndarray, g: np.ndarray, ridge: float = 0.0) -> tuple[np.ndarray, bool]:
    """Solve ``(-h) x = g`` for a Hessian ``h`` that should be negative definite.

    The system is Jacobi-scaled first (coefficients of ``age**2`` and of a
    constant differ by orders of magnitude, the raw condition number can be
    1e12). Returns the solution and whether ``-h`` (plus ``ridge`` times its
    diagonal) was positive definite. When it is not, the returned step is a
    Levenberg-damped one that still ascends.
    """
    a_s, d = jacobi_scale(-h)
    g_s = g / d
    # one finiteness test on a sum (inf - inf and NaN stay non-finite)
    if not np.isfinite(a_s.sum() + g_s.sum()) and not (np.all(np.isfinite(a_s)) and np.all(np.isfinite(g_s))):
        # overflowing derivatives (a class at the edge of the parameter space):
        # LAPACK would return NaN or fail; steepest ascent on the finite part instead
        return np.where(np.isfinite(g_s), g_s, 0.0) / d, False
    if ridge:
        a_s = a_s + ridge * np.eye(len(g))
    # Cholesky factor and solve in one LAPACK call (dposv): the engine solves
    # thousands of small systems, where numpy's per-call checks cost more
    _, x, info = lapack.dposv(a_s, g_s, lower=1)
    if info == 0:
        return x / d, True
    try:
        w, v = np.linalg.eigh(a_s)
    except np.linalg.LinAlgError:
        # LAPACK gives up on a badly scaled or non-finite matrix: steepest ascent
        # on the scaled problem, which the caller's line search shortens as needed
        return np.where(np.isfinite(g_s), g_s, 0.0) / d, False
    shift = max(1e-8, -w.min() + 1e-3 * max(1.0, abs(w).max()))
    x = v @ ((v.T @ g_s) / (w + shift))
    return x / d, False
