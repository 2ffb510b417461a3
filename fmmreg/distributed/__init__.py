"""Fits on data larger than memory: ``fmm(..., data=dask_dataframe)``.

The model, its checks, the start search, the estimator and the results are
the in-memory ones; what changes is where the rows are. A Dask DataFrame is
encoded partition by partition with formulaic specifications learned once
from all partitions (:mod:`fmmreg.distributed.plan`), every quantity of the
fit that is a sum over rows -- the log likelihood, the EM sufficient
statistics, the score and observed information, the scores' outer products
-- is computed per partition by the numpy kernels of
:mod:`fmmreg.estimation` and summed by a tree reduction on Dask's scheduler
(:mod:`fmmreg.distributed.likelihood`), and the parameters stay on the
client. Starts are searched in memory on a sample of rows
(:class:`fmmreg.distributed.model.DaskFMM`).

Dask is an optional dependency (``pip install fmmreg[dask]``): this package
is imported only when a Dask DataFrame is passed, and ``import fmmreg`` never
imports Dask.
"""

from __future__ import annotations


def is_dask_dataframe(obj) -> bool:
    """True for a Dask DataFrame, checked without importing Dask."""
    module = type(obj).__module__ or ""
    return module.split(".", 1)[0] == "dask" and hasattr(obj, "npartitions") and hasattr(obj, "columns")


def require_dask() -> None:
    """Raise a clear error when the optional Dask dependency is missing."""
    try:
        import dask.dataframe  # noqa: F401
    except ImportError as exc:  # pragma: no cover - the data were Dask objects, so Dask is there
        from fmmreg.exceptions import FMMError

        raise FMMError(f"fitting a Dask DataFrame needs dask[dataframe]: pip install 'fmmreg[dask]' ({exc})") from None
