"""Every integration the worker runs: importing this module registers their channels; ``duties(settings)`` are
the change-log followers of the configured ones (each ``duty(session) -> int``, run in its own transaction like
the worker's own). An integration that is not configured follows nothing, so it queues nothing."""

from __future__ import annotations

import functools
from collections.abc import Callable

from sqlalchemy.orm import Session

from xietong.config import Settings
from xietong.integrations.archive import client as _archive_client  # noqa: F401  (channel "archive")
from xietong.integrations.archive.service import archive_cases
from xietong.integrations.messaging import channel as messaging
from xietong.integrations.messaging.follower import follow_messaging
from xietong.integrations.oa import client as oa
from xietong.integrations.oa.service import report_results
from xietong.integrations.province import client as province
from xietong.integrations.province.follower import report_to_province
from xietong.integrations.seal import provincial as _provincial_seal  # noqa: F401  (channel "eseal")
from xietong.integrations.seal.service import seal_results

Duty = Callable[[Session], int]


def always(settings: Settings | None) -> tuple[tuple[str, Duty], ...]:
    """The followers every worker runs: results are sealed (locally unless a provincial e-seal service is
    configured) and archived — with the worker's own settings (the demo's point at its stand-ins), or, without
    any, the environment's."""
    return (("seal_results", functools.partial(seal_results, settings=settings)),
            ("archive_cases", functools.partial(archive_cases, settings=settings)))


def duties(settings: Settings) -> tuple[tuple[str, Duty], ...]:
    """The followers of the configured integrations (``always`` runs in every worker, see ``worker/loop.py``)."""
    found: list[tuple[str, Duty]] = []
    if province.configured(settings):
        found.append(("report_to_province", report_to_province))
    if messaging.configured(settings):
        found.append(("messaging", follow_messaging))
    if oa.configured(settings):
        found.append(("report_to_oa", report_results))
    return tuple(found)
