"""Optional progress display for long fits (``progress=True``).

Uses ``tqdm`` (its notebook-aware ``tqdm.auto``) when it is installed and
is silent otherwise; off unless asked for.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import TypeVar

T = TypeVar("T")


def tqdm_available() -> bool:
    """Whether ``tqdm`` can be imported."""
    try:
        import tqdm.auto  # noqa: F401
    except ImportError:
        return False
    return True


def progress_iter(
    iterable: Iterable[T], enabled: bool = False, total: int | None = None, desc: str = ""
) -> Iterator[T]:
    """Wrap ``iterable`` in a tqdm bar when ``enabled`` and tqdm is installed.

    Parameters
    ----------
    iterable : iterable
        Items to iterate over; returned unchanged when no bar is shown.
    enabled : bool
        Show a bar (default False).
    total : int, optional
        Number of items, when ``iterable`` has no length.
    desc : str
        Label of the bar.
    """
    if not enabled or not tqdm_available():
        return iter(iterable)
    from tqdm.auto import tqdm

    return iter(tqdm(iterable, total=total, desc=desc, leave=False))


#: How the bar names the stage of each engine event.
STAGE_LABELS = {"start": "starts", "em": "EM", "newton": "Newton", "covariance": "covariance"}


class FitProgress:
    """One progress bar over a whole fit: starts, EM/Newton iterations, covariance.

    The engine calls the object with an event name (``"start"``, ``"em"``,
    ``"newton"``, ``"covariance"``); each call advances the bar by one and
    shows the current stage, so a long final Newton run on large data is
    visible too. Silent when disabled or without tqdm.
    """

    def __init__(self, enabled: bool = False, desc: str = "fmm"):
        self.enabled = bool(enabled) and tqdm_available()
        self.desc = desc
        self._bar = None
        self._stage = ""
        self.counts: dict[str, int] = {}

    def __enter__(self) -> FitProgress:
        if self.enabled:
            from tqdm.auto import tqdm

            self._bar = tqdm(desc=self.desc, unit="step", leave=False)
        return self

    def __call__(self, event: str) -> None:
        self.counts[event] = self.counts.get(event, 0) + 1
        if self._bar is None:
            return
        if event != self._stage:
            self._stage = event
            # shown at once: a stage change is what the user waits to see (and a
            # short fit would otherwise end before tqdm's first timed refresh)
            self._bar.set_postfix_str(STAGE_LABELS.get(event, event), refresh=True)
        self._bar.update(1)

    def __exit__(self, *exc) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None
