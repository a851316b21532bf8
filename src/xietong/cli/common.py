"""What the command groups share: the engine from the environment, Chinese error output, non-zero exits."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import NoReturn

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table
from sqlalchemy import Engine

from xietong.config import Settings
from xietong.db.engine import create_db_engine
from xietong.errors import DomainError, InvalidInput

EXIT_FAILED = 1
MAX_INPUT_BYTES = 64 * 1024 * 1024  # a full 20,000-row sheet is a few MB


def out() -> Console:
    """Standard output (made per command, so the terminal width is read when the command runs)."""
    return Console()


def err() -> Console:
    return Console(stderr=True)


@contextmanager
def database() -> Iterator[Engine]:
    """The configured database (``XIETONG_DATABASE_URL`` / ``XIETONG_DATA_DIR``), disposed afterwards."""
    engine = create_db_engine(Settings())
    try:
        yield engine
    finally:
        engine.dispose()


@contextmanager
def reported() -> Iterator[None]:
    """Turn a domain error into its Chinese message (and every problem it lists) and exit non-zero."""
    try:
        yield
    except DomainError as error:
        fail(error)


def fail(error: DomainError) -> NoReturn:
    console = err()
    console.print(f"[bold red]错误[/bold red]：{error.detail}", highlight=False)
    if error.errors:
        table = Table("位置", "问题", header_style="bold")
        for problem in error.errors:
            table.add_row(problem.field, problem.message)
        console.print(table)
    raise typer.Exit(EXIT_FAILED)


def read_input(file: Path) -> bytes:
    """A spreadsheet named on the command line, refused before reading when it is implausibly large."""
    if file.stat().st_size > MAX_INPUT_BYTES:
        raise InvalidInput(code="import_file_too_large", detail=f"文件超过 {MAX_INPUT_BYTES >> 20} MB，未读取")
    return file.read_bytes()


def progress_bar() -> Progress:
    """The progress bar of long commands (it disappears when the work is done)."""
    return Progress(
        SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
        console=out(), transient=True,
    )
