"""Developer helper: ``python -m xietong.db.revision "message"`` autogenerates a migration file.

It fixes the two things Alembic's autogenerate gets wrong for us (an unimported ``Text`` in JSONB
variants) and names the file with a date prefix.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from alembic import command
from sqlalchemy import create_engine

from xietong.db import migrate


def main(message: str, rev_id: str | None = None) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        engine = create_engine(f"sqlite:///{Path(tmp) / 'rev.db'}")
        migrate.upgrade(engine)
        config = migrate.alembic_config(engine)
        config.set_main_option("file_template", "%%(year)d_%%(month).2d_%%(day).2d_%%(rev)s_%%(slug)s")
        script = command.revision(config, message=message, autogenerate=True, rev_id=rev_id)
    path = Path(script.path)  # type: ignore[union-attr]
    path.write_text(path.read_text().replace("astext_type=Text()", "astext_type=sa.Text()"))
    print(path)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2] if len(sys.argv) > 2 else None)
