"""The package's own exceptions and warnings.

Every data or model-specification problem found by fmmreg is raised as
:class:`FMMError` (a ``ValueError``), with a message that names the variable,
class or option at fault and what to do; numerical trouble during estimation
is reported with the warnings below, and suspicious data that are still
usable with :class:`DataWarning`.
"""

from __future__ import annotations


class FMMError(ValueError):
    """A problem with the data, the model or an option, explained in the message."""


class ConvergenceWarning(UserWarning):
    """The fit stopped before the gradient of the log likelihood vanished."""


class DegenerateClassWarning(UserWarning):
    """A class is empty, tiny, or has a collapsed scale parameter."""


class DataWarning(UserWarning):
    """Suspicious data that can still be fitted: a factor with many levels, rows dropped by a transform."""


class LocalMaximumWarning(UserWarning):
    """The best log likelihood was not replicated: the fit may be a local maximum.

    Raised when the best maximum of the start search was reached from a single
    start, or when the search's cap (``max_draws``) stopped it before the best
    was reached from ``replicate`` distinct starts (as Mplus warns "THE BEST
    LOGLIKELIHOOD VALUE HAS NOT BEEN REPLICATED").
    """
