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
