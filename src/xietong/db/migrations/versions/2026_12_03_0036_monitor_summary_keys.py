"""Day summaries keyed by region and handling unit too: one matter's cases of one day may differ in both

Revision ID: 0036
Revises: 0035
Create Date: 2026-12-03
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0036"
down_revision: str | None = "0035"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

KEYS = {
    "monitor_case_day": ["span", "day", "local_matter_id"],
    "monitor_days_used_day": ["span", "day", "local_matter_id", "working_days"],
    "monitor_step_day": ["span", "day", "local_matter_id", "node_id", "unit_id"],
}
PLACE = ["region_id", "handling_unit_id"]


def _rekey(wider: bool) -> None:
    # Rows keep their values: a key that was unique stays unique when widened, and narrowing back is only
    # possible while no day holds one matter under two units (else: xietong monitor refresh --since …).
    for table, keys in KEYS.items():
        with op.batch_alter_table(table) as batch:
            batch.drop_constraint(f"pk_{table}", type_="primary")
            batch.create_primary_key(f"pk_{table}", keys + PLACE if wider else keys)


def upgrade() -> None:
    _rekey(wider=True)


def downgrade() -> None:
    _rekey(wider=False)
