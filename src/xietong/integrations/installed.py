"""Every integration the worker runs: importing this module registers their channels; ``DUTIES`` are their
change-log followers (each ``duty(session) -> int``, run in its own transaction like the worker's own)."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy.orm import Session

from xietong.integrations.messaging import channel as _messaging_channel  # noqa: F401  (registers the channel)
from xietong.integrations.messaging.follower import follow_messaging

DUTIES: tuple[tuple[str, Callable[[Session], int]], ...] = (
    ("messaging", follow_messaging),
)
