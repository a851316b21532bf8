"""The colleague picker of 转办/委派 and 加签/抄送: the dialog's first page, the htmx search by name, employee code
or unit, keyset paging, chosen people kept, and nobody outside the dialog's units."""

from __future__ import annotations

import re

from tests.web.conftest import Api, submit
from tests.web.page_client import page_login


def test_the_picker_searches_the_steps_unit_and_keeps_the_chosen(api: Api) -> None:
    case_id = submit(api.login("finance.clerk.0"), api, title="人员选择")["id"]
    handler = page_login(api, "staffing.clerk.0")
    assert handler.post(f"/cases/{case_id}/actions/accept", data={}).status_code == 204
    page = page_login(api, "staffing.clerk.0", htmx=False).get(f"/cases/{case_id}").text
    task = int(re.search(r'/actions/claim\?task=(\d+)"', page).group(1))  # type: ignore[union-attr]
    assert handler.post(f"/cases/{case_id}/actions/claim?task={task}", data={}).status_code == 204
    dialog = handler.get(f"/cases/{case_id}/actions/transfer?task={task}")
    assert dialog.status_code == 200 and 'id="d-people-q"' in dialog.text
    assert 'type="radio" name="person_id"' in dialog.text
    colleague = api.city.person("staffing", "clerk", 1)
    me = api.city.person("staffing", "clerk", 0)
    assert f'value="{colleague.id}"' in dialog.text and f'value="{me.id}"' not in dialog.text  # not oneself
    rows = f"/cases/{case_id}/actions/transfer/people"
    found = handler.get(rows, params={"task": task, "q": colleague.employee_code})
    assert found.status_code == 200 and f'value="{colleague.id}"' in found.text
    assert found.text.count('name="person_id"') == 1
    nobody = handler.get(rows, params={"task": task, "q": api.other.person("staffing", "clerk", 0).employee_code})
    assert "没有符合条件的人员" in nobody.text
    elsewhere = api.city.person("finance", "clerk", 1)  # not in the step's unit
    assert f'value="{elsewhere.id}"' not in handler.get(rows, params={"task": task, "q": elsewhere.employee_code}).text
    kept = handler.get(rows, params={"task": task, "q": "不存在的人", "person_id": str(colleague.id)})
    assert f'value="{colleague.id}" checked' in kept.text  # the chosen one stays, checked
    outsider = page_login(api, "office.clerk.0")
    assert outsider.get(rows, params={"task": task}).status_code == 404
    assert handler.get(f"/cases/{case_id}/actions/claim/people?task={task}").status_code == 404
    done = handler.post(f"/cases/{case_id}/actions/transfer?task={task}",
                        data={"person_id": str(colleague.id), "q": colleague.employee_code})
    assert done.status_code == 204, done.text


def test_the_copy_picker_spans_the_units_taking_part(api: Api) -> None:
    case_id = submit(api.login("finance.clerk.0"), api, title="抄送人员选择")["id"]
    handler = page_login(api, "staffing.clerk.0")
    assert handler.post(f"/cases/{case_id}/actions/accept", data={}).status_code == 204
    dialog = handler.get(f"/cases/{case_id}/actions/copy")
    assert dialog.status_code == 200 and 'type="checkbox" name="person_ids"' in dialog.text
    applicant = api.city.person("finance", "clerk", 1)
    rows = handler.get(f"/cases/{case_id}/actions/copy/people", params={"q": applicant.employee_code})
    assert f'type="checkbox" name="person_ids" value="{applicant.id}"' in rows.text
