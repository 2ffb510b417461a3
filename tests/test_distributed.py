"""Fits on Dask DataFrames (issue 18): the same numbers, errors and outputs as the in-memory fit.

The reference of every Dask fit is the in-memory fit of the same rows in the
same order (``ddf.compute()``), converged to machine precision (``tol=1e-16``:
at 1e-14 the last Newton step can still move a 50-row factor level by 1e-8),
so that the comparison measures the partitioned sums, not where Newton stopped.
Dask is an optional dependency: these tests skip without it (the test extra
installs it, so CI runs them), except the check that the core never imports it.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
import threading
import time
import warnings

import numpy as np
import pandas as pd
import pytest

from fmmreg import FMM, DataWarning, FMMError, fmm
from fmmreg.families import Tobit
from tests.test_bad_input import BASE, ERRORS

try:
    import dask
    import dask.dataframe as dd
except ImportError:  # pragma: no cover - the test extra installs dask
    dask = dd = None

needs_dask = pytest.mark.skipif(dd is None, reason="dask[dataframe] is not installed (pip install 'fmmreg[dask]')")

N = 100_000
PARTITIONS = 8


def test_core_never_imports_dask():
    """``import fmmreg`` and an in-memory fit leave Dask unimported (it is an optional extra)."""
    code = textwrap.dedent(
        """
        import sys
        import numpy as np, pandas as pd
        import fmmreg
        rng = np.random.default_rng(0)
        x = rng.normal(size=300)
        df = pd.DataFrame({"y": rng.poisson(np.exp(0.5 + 0.5 * x)), "x": x})
        res = fmmreg.fmm(2, "y ~ x", data=df, family="poisson", draws=2, max_draws=2)
        res.summary(); res.lcprob(); res.predict()
        loaded = sorted(m for m in sys.modules if m.split(".")[0] in ("dask", "distributed"))
        assert not loaded, loaded
        """
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)


# ------------------------------------------------------------------ data
def _poisson_frame() -> pd.DataFrame:
    """Two-class Poisson with a class formula; a text factor, missing values, a non-default index."""
    rng = np.random.default_rng(18)
    x = rng.normal(size=N)
    z = rng.normal(size=N)
    region = rng.choice(["north", "south", "west"], N)
    c = rng.random(N) < 1 / (1 + np.exp(-(0.3 + 0.8 * z)))
    shift = np.where(region == "south", 0.2, 0.0)
    t = rng.uniform(0.5, 2.0, N)  # exposure
    y = rng.poisson(t * np.exp(np.where(c, 1.5 + 0.3 * x, 0.2 - 0.4 * x) + shift)).astype(float)
    df = pd.DataFrame({"y": y, "x": x, "z": z, "region": region, "cl": rng.integers(0, 400, N), "t": t})
    # listwise deletion: missing values in a regressor, the class variable and the response
    for col, share in (("x", 0.01), ("z", 0.005), ("y", 0.002)):
        df.loc[rng.random(N) < share, col] = np.nan
    df.index = pd.Index(3 * np.arange(N) + 7, name="person")  # labels that are not positions
    return df


def _gaussian_frame() -> pd.DataFrame:
    """A Gaussian hybrid: class formulas differ; a factor level seen only in the last partition; fweights."""
    rng = np.random.default_rng(1818)
    x = rng.normal(size=N)
    g = rng.choice(["a", "b", "c"], N).astype(object)
    g[-50:] = "late"  # only in the last partition: the first pass must have seen it
    c = rng.random(N) < 0.4
    mu = np.where(c, 1.0 + 2.0 * x, -1.0 + 0.5 * x + (g == "b") * 0.7 + (g == "late") * 1.5)
    y = mu + rng.normal(size=N) * np.where(c, 0.5, 1.0)
    return pd.DataFrame({"y": y, "x": x, "g": g, "w": rng.integers(1, 4, N).astype(float)})


def _dask_from_parquet(df: pd.DataFrame, path) -> dd.DataFrame:
    dd.from_pandas(df, npartitions=PARTITIONS, sort=False).to_parquet(path)
    return dd.read_parquet(path, calculate_divisions=True)


@pytest.fixture(scope="module")
def poisson(tmp_path_factory):
    ddf = _dask_from_parquet(_poisson_frame(), tmp_path_factory.mktemp("poisson"))
    assert ddf.npartitions == PARTITIONS
    df = ddf.compute()
    spec = {"k": 2, "formula": "y ~ x + C(region)", "family": "poisson", "class_formula": "~ z", "exposure": "t"}
    mem = fmm(**spec, data=df, tol=1e-16)
    start = time.perf_counter()
    # starts on a sample of a fifth of the rows, so that Newton on all partitions has work to do
    res = fmm(**spec, data=ddf, sample_rows=20_000)
    seconds = time.perf_counter() - start
    return df, ddf, mem, res, seconds


@pytest.fixture(scope="module")
def gaussian():
    df = _gaussian_frame()
    ddf = dd.from_pandas(df, npartitions=PARTITIONS, sort=False)
    spec = {"formula": ["y ~ x", "y ~ x + C(g)"], "family": "gaussian", "fweights": "w"}
    mem = fmm(None, **spec, data=df, tol=1e-16)
    res = fmm(None, **spec, data=ddf, sample_rows=20_000)
    return df, ddf, mem, res


def _assert_same_fit(res, mem):
    pd.testing.assert_index_equal(res.params.index, mem.params.index)
    np.testing.assert_allclose(res.params, mem.params, rtol=0, atol=1e-8)
    np.testing.assert_allclose(res.bse, mem.bse, rtol=1e-6)
    assert abs(res.llf - mem.llf) < 1e-8
    assert res.nobs == mem.nobs and res.n_dropped == mem.n_dropped
    assert res.converged


# ------------------------------------------------------------ equality
@needs_dask
def test_poisson_with_class_formula_equals_the_in_memory_fit(poisson):
    df, ddf, mem, res, seconds = poisson
    _assert_same_fit(res, mem)
    assert mem.n_dropped > 1000  # the missing values were dropped, as many as in memory
    np.testing.assert_allclose(res.class_shares, mem.class_shares, rtol=1e-8)
    np.testing.assert_allclose(res.mean_posterior, mem.mean_posterior, rtol=1e-8)
    np.testing.assert_allclose(res.aic, mem.aic, rtol=1e-12)
    print(f"Dask fit of {N} rows in {PARTITIONS} partitions: {seconds:.1f} s")


@needs_dask
def test_gaussian_hybrid_equals_the_in_memory_fit(gaussian):
    df, ddf, mem, res = gaussian
    _assert_same_fit(res, mem)
    assert ("2.y", "C(g)[T.late]") in res.params.index  # the late level got its coefficient
    assert res.nobs == df["w"].sum()


@needs_dask
@pytest.mark.parametrize("vce", ["opg", "robust"])
def test_every_vce_equals_the_in_memory_one(poisson, vce):
    df, ddf, mem, res, _ = poisson
    np.testing.assert_allclose(res.with_vce(vce).bse, mem.with_vce(vce).bse, rtol=1e-6)


@needs_dask
def test_cluster_vce_equals_the_in_memory_one(poisson):
    df, ddf, mem, res, _ = poisson
    got, want = res.with_vce("cluster", cluster="cl"), mem.with_vce("cluster", cluster="cl")
    assert got.n_clusters == want.n_clusters == 400
    np.testing.assert_allclose(got.bse, want.bse, rtol=1e-6)


@needs_dask
def test_estat_tables_equal_the_in_memory_ones(poisson):
    df, ddf, mem, res, _ = poisson
    pd.testing.assert_frame_equal(res.lcprob().frame, mem.lcprob().frame, rtol=1e-6)
    pd.testing.assert_frame_equal(res.lcmean().frame, mem.lcmean().frame, rtol=1e-6)
    got, want = res.ic(), mem.ic()
    for name in ("aic", "bic", "caic", "sabic", "entropy", "icl"):
        assert getattr(got, name) == pytest.approx(getattr(want, name), rel=1e-9), name
    from fmmreg import compare

    stats = compare([res, mem]).stats
    np.testing.assert_allclose(stats.iloc[:, 0].astype(float), stats.iloc[:, 1].astype(float), rtol=1e-8)
    text = str(res.summary())
    assert "Starts: on an in-memory sample" in text and "refined on all rows" in text
    assert text.split("Starts:")[0] == str(mem.summary()).split("Starts:")[0]  # the same table, to the digit


# ------------------------------------------------------------- outputs
@needs_dask
def test_posterior_is_lazy_with_the_input_divisions_and_index(poisson):
    df, ddf, mem, res, _ = poisson
    post = res.posterior
    assert isinstance(post, dd.DataFrame)
    assert post.divisions == ddf.divisions and post.npartitions == ddf.npartitions
    got = post.compute()
    want = mem.posterior
    assert got.index.equals(want.index)  # the rows used, labelled by the input's index
    np.testing.assert_allclose(got.to_numpy(), want.to_numpy(), atol=1e-8)


@needs_dask
def test_parquet_in_parquet_out(poisson, tmp_path):
    df, ddf, mem, res, _ = poisson
    res.predict(kind="mu", marginal=True).to_frame().to_parquet(tmp_path / "mu")
    res.predict(ddf, kind="mu").to_parquet(tmp_path / "mu_by_class")
    res.posterior.to_parquet(tmp_path / "posterior")
    posterior = pd.read_parquet(tmp_path / "posterior").sort_index()
    assert list(posterior.columns) == ["classposteriorpr1", "classposteriorpr2"]
    np.testing.assert_allclose(posterior.to_numpy(), mem.posterior.sort_index().to_numpy(), atol=1e-8)
    marginal = pd.read_parquet(tmp_path / "mu")["mu"].sort_index()
    np.testing.assert_allclose(marginal, mem.predict(kind="mu", marginal=True).sort_index(), rtol=1e-8)
    by_class = pd.read_parquet(tmp_path / "mu_by_class").sort_index()
    want = mem.predict(df, kind="mu").sort_index()
    assert by_class.index.equals(want.index)  # new data: every row, NaN where a value is missing
    np.testing.assert_allclose(by_class.to_numpy(), want.to_numpy(), rtol=1e-8, equal_nan=True)


# ------------------------------------------------------------ bad input
# Dask turns an object column of numbers into strings, and array options cannot follow the partitions
_SKIP = {"numbers-as-object", "text-mlogit-response"}
_COLUMN_CASES = [c for c in ERRORS if c[0] not in _SKIP and "array" not in c[0] and c[0] != "weights-wrong-length"]


def _message(call, data) -> str:
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(FMMError) as info:
            call(data)
    return str(info.value)


@needs_dask
@pytest.mark.parametrize("make, call", [c[1:3] for c in _COLUMN_CASES], ids=[c[0] for c in _COLUMN_CASES])
def test_bad_input_gives_the_in_memory_error(make, call):
    df = make(BASE)
    assert _message(call, dd.from_pandas(df, npartitions=3, sort=False)) == _message(call, df)


@needs_dask
def test_dropped_rows_and_their_warnings_count_all_partitions():
    rng = np.random.default_rng(5)
    df = pd.DataFrame({"y": rng.poisson(3, 3000).astype(float), "x": rng.normal(size=3000), "pos": rng.random(3000)})
    df.loc[df.index[:150:3], "x"] = np.nan  # 50 missing values: listwise deletion
    df.loc[df.index[160::70], "pos"] = 0.0  # 41 rows where np.log(pos) is not finite: dropped with a DataWarning
    ddf = dd.from_pandas(df, npartitions=5, sort=False)
    for data in (df, ddf):
        with np.errstate(divide="ignore"), pytest.warns(DataWarning, match=r"^41 row\(s\) dropped because np\.log"):
            model = FMM(1, "y ~ x + np.log(pos)", data=data, family="poisson")
        assert model.design.n_dropped == 50 + 41


@needs_dask
@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"family": "mlogit"}, r"family 'mlogit' learns its outcome levels"),
        ({"family": Tobit(lower="min")}, r"family 'tobit' with lower='min'.*give the limit as a number"),
        ({"weights": np.ones(60)}, r"give weights= as a column name"),
        ({"group": "grp"}, r"group='grp' \(a panel model, 'y ~ x \| id'\) is not available for a Dask"),
        ({"formula": "y ~ x | grp"}, r"group='grp' \(a panel model"),
        ({"formula": "y ~ center(x)"}, r"center\(\.\.\.\) in a formula learns .* from one sample"),
        ({"class_formula": "~ poly(x, 2)"}, r"poly\(\.\.\.\) in a formula learns"),
    ],
)
def test_what_a_dask_fit_refuses_is_named(kwargs, match):
    spec = {"k": 2, "formula": "y ~ x", "data": dd.from_pandas(BASE, npartitions=2)} | kwargs
    with pytest.raises(FMMError, match=match):
        fmm(**spec)


@needs_dask
def test_fit_options_a_dask_fit_refuses_are_named(poisson):
    df, ddf, mem, res, _ = poisson
    model = res.model
    with pytest.raises(FMMError, match=r"start_posterior= .* not available for a Dask fit"):
        model.fit(start_posterior=np.ones(10))
    with pytest.raises(FMMError, match=r"engine='statsmodels'.*in memory only"):
        model.fit(engine="statsmodels")
    with pytest.raises(FMMError, match=r"startvalues='bogus' is not known"):
        model.fit(startvalues="bogus")


# ------------------------------------------------------- larger than memory
@needs_dask
def test_parquet_three_times_the_workers_memory_fits_on_a_local_cluster(tmp_path):
    """Parquet data three times the workers' memory limits (together) stream through a LocalCluster.

    The limit is Dask's managed memory (what a worker keeps of task results
    before it spills them to disk): worker threads share this process, whose
    own memory (numpy, pandas, statsmodels, ~200 MiB) is far above any limit a
    test can afford, so the process-memory thresholds (pause, terminate) are
    off. ``persist="auto"`` must see that the encoded partitions do not fit,
    and stream the Parquet partitions in every pass; the peak a worker holds
    must stay a fraction of the data. The benchmark (``benchmarks/run.py
    --dask``) runs 2e7 rows on memory-limited worker processes.
    """
    distributed = pytest.importorskip("distributed")
    n, limit = 600_000, 2 * 2**20
    rng = np.random.default_rng(33)
    x = rng.normal(size=n)
    c = rng.random(n) < 0.4
    y = rng.poisson(np.exp(np.where(c, 1.5 + 0.3 * x, 0.2 - 0.4 * x))).astype(float)
    frame = pd.DataFrame({"y": y, "x": x, "z": rng.normal(size=n)})
    data_bytes = int(frame.memory_usage(index=True).sum())
    assert data_bytes > 3 * 2 * limit
    dd.from_pandas(frame, npartitions=16).to_parquet(tmp_path / "big")
    del frame
    memory = {f"distributed.worker.memory.{k}": v for k, v in (("target", 0.6), ("spill", False))}
    memory |= {"distributed.worker.memory.pause": False, "distributed.worker.memory.terminate": False}
    peak: dict = {}
    with (
        dask.config.set(memory),
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=False, memory_limit=limit, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        done = threading.Event()

        def watch():
            while not done.is_set():
                for name, worker in cluster.workers.items():
                    peak[name] = max(peak.get(name, 0), worker.state.nbytes)
                done.wait(0.05)

        watcher = threading.Thread(target=watch)
        watcher.start()
        try:
            res = fmm(2, "y ~ x", data=dd.read_parquet(tmp_path / "big"), family="poisson", sample_rows=20_000)
        finally:
            done.set()
            watcher.join()
        logs = client.get_worker_logs().values()
        errors = [m for log in logs for level, m in log if level in ("ERROR", "CRITICAL")]
    assert not errors
    assert res.converged and not res.lik.runner.persisted  # every pass read the Parquet partitions again
    assert len(peak) == 2 and max(peak.values()) < data_bytes / 3
    truth = pd.Series([np.log(0.4 / 0.6), -0.4, 0.2, 0.3, 1.5], index=res.params.index)
    assert (np.abs(res.params - truth) < 5 * res.bse).all()


# ---------------------------------------------------------- constraints
@needs_dask
def test_constrained_fit_with_a_base_class_and_labels_equals_the_in_memory_fit():
    """``constraints=``, ``class_base=`` and ``class_labels=`` (issue 12) go through Dask unchanged."""
    df = _poisson_frame().iloc[:20_000]
    spec = {
        "k": 2,
        "formula": "y ~ x + C(region)",
        "family": "poisson",
        "class_formula": "~ z",
        "constraints": ["[1.y]x = -[2.y]x"],
        "class_base": 2,
        "class_labels": ["low", "high"],
    }
    mem = fmm(**spec, data=df, tol=1e-16)
    res = fmm(**spec, data=dd.from_pandas(df, npartitions=4, sort=False), sample_rows=5_000)
    _assert_same_fit(res, mem)
    assert res.params[("1.y", "x")] == pytest.approx(-res.params[("2.y", "x")], abs=1e-12)
    assert res.df_model == mem.df_model == len(res.params) - 1
    assert list(res.lcprob().frame.index) == ["low", "high"]
    pd.testing.assert_frame_equal(res.lcprob().frame, mem.lcprob().frame, rtol=1e-6)
