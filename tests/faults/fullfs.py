"""A real, tiny file system for full-disk tests: a tmpfs of a few KiB mounted by the test (it runs as root)."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def tiny_tmpfs(where: Path, size_kib: int) -> Iterator[Path]:
    """Mount a tmpfs of ``size_kib`` at ``where`` for the block; unmounted afterwards whatever happens."""
    where.mkdir(parents=True, exist_ok=True)
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size_kib}k,mode=0700", "tmpfs", str(where)], check=True)
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=True)


def files_under(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file())
