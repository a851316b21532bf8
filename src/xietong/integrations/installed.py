"""Every integration the worker runs: importing this module registers their channels; ``DUTIES`` are their
change-log followers (each ``duty(session) -> int``, run in its own transaction like the worker's own)."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy.orm import Session

DUTIES: tuple[tuple[str, Callable[[Session], int]], ...] = ()
