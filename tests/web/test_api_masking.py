"""Phone numbers in the directory over HTTP: masked for colleagues, whole for oneself and administrators."""

from __future__ import annotations

from tests.web.conftest import Api
from xietong.db.session import unit_of_work
from xietong.directory.models import Person


def test_colleagues_phones_are_masked_except_ones_own_and_for_administrators(api: Api) -> None:
    office = api.city.units["office"]
    me, colleague = api.city.people["office.clerk.0"], api.city.people["office.clerk.1"]
    with unit_of_work(api.app.state.engine) as session:
        for person, phone in ((me, "13900001111"), (colleague, "13812345678")):
            session.get(Person, person.id).phone = phone  # type: ignore[union-attr]
    clerk = api.login(me)
    listed = {p["id"]: p["phone"] for p in clerk.get(f"/api/v1/directory/units/{office.id}/people").json()}
    assert listed[colleague.id] == "138****5678" and listed[me.id] == "13900001111"
    assert clerk.get(f"/api/v1/directory/people/{colleague.id}").json()["phone"] == "138****5678"
    admin = api.login(api.admin)
    assert admin.get(f"/api/v1/directory/people/{colleague.id}").json()["phone"] == "13812345678"
    listed_by_admin = {p["id"]: p["phone"] for p in admin.get(f"/api/v1/directory/units/{office.id}/people").json()}
    assert listed_by_admin[colleague.id] == "13812345678"
