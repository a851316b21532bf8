"""``xietong seal issue``: a unit's seal made ahead of first use, once, with its private key encrypted."""

from __future__ import annotations

from sqlalchemy import select

import xietong.cli.seal  # noqa: F401  (registers the command group)
from tests.cli.conftest import CliDb
from tests.factories import make_city
from xietong.db.session import unit_of_work
from xietong.integrations.seal.models import UnitSeal


def test_a_seal_is_issued_once_per_unit(cli_db: CliDb) -> None:
    with unit_of_work(cli_db.engine) as session:
        unit = make_city(session).units["staffing"]
        code, unit_id = unit.code, unit.id
    first = cli_db.run("seal", "issue", "--unit", code)
    assert first.exit_code == 0, first.output
    assert f"ES{unit_id:010d}" in first.output and "公钥 04" in first.output
    again = cli_db.run("seal", "issue", "--unit", code)
    assert again.exit_code == 0 and again.output == first.output  # the existing seal, not a second one
    with unit_of_work(cli_db.engine) as session:
        [seal] = session.scalars(select(UnitSeal).where(UnitSeal.unit_id == unit_id)).all()
        assert seal.private_key.startswith("sm4-cbc:v1:") and seal.public_key in first.output.replace("\n", "")
    unknown = cli_db.run("seal", "issue", "--unit", "no-such-unit")
    assert unknown.exit_code == 1 and "没有代码为 no-such-unit 的单位" in unknown.output
