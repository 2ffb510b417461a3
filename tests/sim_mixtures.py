"""Simulated mixtures for the postestimation, export and comparison tests."""

from __future__ import annotations

import numpy as np
import pandas as pd


def gaussian_mixture(n: int = 400, seed: int = 0, k: int = 2, membership: bool = True) -> pd.DataFrame:
    """Well-separated K-class Gaussian regression mixture.

    Columns ``y`` (response), ``x`` (continuous), ``g`` (3-level factor) and
    ``z`` (membership covariate, used only when ``membership``). Class ``j``
    (0-based) has intercept ``-4 + 4j``, slope ``0.5 + 0.5j`` on ``x``, a
    ``g == "b"`` effect ``0.3`` and standard deviation ``0.5 + 0.25j``.
    """
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    z = rng.normal(size=n)
    g = rng.choice(np.array(["a", "b", "c"]), size=n)
    gam = np.column_stack([np.zeros(n)] + [0.2 * j + (0.8 * j * z if membership else 0.0 * z) for j in range(1, k)])
    pi = np.exp(gam - gam.max(axis=1, keepdims=True))
    pi /= pi.sum(axis=1, keepdims=True)
    cls = (rng.random(n)[:, None] > np.cumsum(pi, axis=1)).sum(axis=1)
    cls = np.minimum(cls, k - 1)
    mu = -4.0 + 4.0 * cls + (0.5 + 0.5 * cls) * x + 0.3 * (g == "b")
    y = mu + rng.normal(size=n) * (0.5 + 0.25 * cls)
    return pd.DataFrame({"y": y, "x": x, "g": g, "z": z})


def poisson_mixture(n: int = 500, seed: int = 3) -> pd.DataFrame:
    """Two-class Poisson regression mixture with a membership covariate ``z``."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    z = rng.normal(size=n)
    cls = (rng.random(n) < 1 / (1 + np.exp(-(0.3 + 0.9 * z)))).astype(int)
    eta = np.where(cls == 1, 1.8 + 0.3 * x, 0.2 - 0.4 * x)
    return pd.DataFrame({"y": rng.poisson(np.exp(eta)), "x": x, "z": z, "w": rng.integers(1, 4, size=n)})
