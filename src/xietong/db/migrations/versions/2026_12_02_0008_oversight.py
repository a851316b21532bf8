"""Oversight: urges, supervision orders, copies, ratings and rectifications, saved opinions (issue 4)

Reserved in the chain so that three pieces of issue 4 can be built side by side; each fills in its own.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02
"""

from collections.abc import Sequence

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
