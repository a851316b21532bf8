"""Two first uploads of one kind for one unit, at the same moment, in two real sessions: both succeed, as
versions 1 and 2 of one standing document (the row is created once and locked while numbering)."""

from __future__ import annotations

import io
import random
import threading
import uuid

import pytest
from sqlalchemy import Engine, select

from tests.factories import make_city
from xietong.config import Settings
from xietong.db.session import read_only, unit_of_work
from xietong.demo.samples import pdf_bytes
from xietong.materials import service
from xietong.materials.models import SharedMaterial, SharedMaterialVersion
from xietong.security.principal import load_principal

pytestmark = pytest.mark.committed


def test_two_first_uploads_of_a_kind_become_versions_one_and_two(db_engine: Engine, settings: Settings) -> None:
    kind = f"并发证照{uuid.uuid4().hex[:6]}"
    with unit_of_work(db_engine) as session:
        city = make_city(session, code=str(random.randint(100000, 989999)))
        unit_id = city.units["office"].id
        people = (city.person("office", "clerk", 0).id, city.person("office", "clerk", 1).id)
    with read_only(db_engine) as session:
        principals = [load_principal(session, p) for p in people]
    barrier = threading.Barrier(2, timeout=10)
    results: list[BaseException | None] = [None, None]

    def run(i: int) -> None:
        try:
            barrier.wait()
            with unit_of_work(db_engine) as session:
                service.add_version(session, principal=principals[i], unit_id=unit_id, kind=kind,
                                    filename=f"证照{i}.pdf", stream=io.BytesIO(pdf_bytes(f"并发{i}")),
                                    declared_type=None, settings=settings)
        except BaseException as exc:
            results[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert results == [None, None]
    with read_only(db_engine) as session:
        material = session.scalars(select(SharedMaterial).where(SharedMaterial.unit_id == unit_id,
                                                                SharedMaterial.kind == kind)).one()
        numbers = sorted(session.scalars(select(SharedMaterialVersion.number)
                                         .where(SharedMaterialVersion.shared_material_id == material.id)))
        current = material.current_number
    assert numbers == [1, 2] and current == 2
