"""The ``xietong`` command: one root Typer app, one module per command group."""

from __future__ import annotations

import typer

app = typer.Typer(help="xietong 协同 — 机关内部协同办事平台", no_args_is_help=True, add_completion=False)


def main() -> None:
    from xietong.cli import audit as _audit  # noqa: F401
    from xietong.cli import backup as _backup  # noqa: F401
    from xietong.cli import calendar as _calendar  # noqa: F401
    from xietong.cli import check as _check  # noqa: F401
    from xietong.cli import db as _db  # noqa: F401  (registers the command groups)
    from xietong.cli import demo as _demo  # noqa: F401
    from xietong.cli import directory as _directory  # noqa: F401
    from xietong.cli import granularity as _granularity  # noqa: F401
    from xietong.cli import matters as _matters  # noqa: F401
    from xietong.cli import matters_xlsx as _matters_xlsx  # noqa: F401
    from xietong.cli import monitor as _monitor  # noqa: F401
    from xietong.cli import province as _province  # noqa: F401
    from xietong.cli import seal as _seal  # noqa: F401
    from xietong.cli import serve as _serve  # noqa: F401
    from xietong.cli import sso as _sso  # noqa: F401
    from xietong.cli import users as _users  # noqa: F401
    from xietong.cli import worker as _worker  # noqa: F401

    app()
