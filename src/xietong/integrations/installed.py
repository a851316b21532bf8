"""Every integration the worker runs: importing this module registers their channels; ``DUTIES`` are their
change-log followers (each ``duty(session) -> int``, run in its own transaction like the worker's own)."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy.orm import Session

from xietong.integrations.archive import client as _archive_client  # noqa: F401  (channel "archive")
from xietong.integrations.archive.service import archive_cases
from xietong.integrations.seal import provincial as _provincial_seal  # noqa: F401  (channel "eseal")
from xietong.integrations.seal.service import seal_results

DUTIES: tuple[tuple[str, Callable[[Session], int]], ...] = (
    ("seal_results", seal_results),
    ("archive_cases", archive_cases),
)
