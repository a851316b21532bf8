"""Application drafts: one per person and matter, replaced on save, the owner's only, too big refused."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.factories import joint_approval_process, make_city, publish_matter
from xietong.cases import drafts
from xietong.catalog.models import MatterVersion
from xietong.errors import NotFound, TooLarge


def test_saving_replaces_the_persons_draft_of_the_matter(session: Session) -> None:
    city = make_city(session)
    matter = publish_matter(session, city, joint_approval_process())
    version_id = session.scalar(select(MatterVersion.id).where(MatterVersion.local_matter_id == matter.id))
    assert version_id is not None
    me, colleague = city.person("finance", "clerk", 0), city.person("finance", "clerk", 1)
    first = drafts.save_draft(session, person_id=me.id, local_matter_id=matter.id, matter_version_id=version_id,
                              applicant_unit_id=city.units["finance"].id, values={"f.title": "一"}, materials={})
    second = drafts.save_draft(session, person_id=me.id, local_matter_id=matter.id, matter_version_id=version_id,
                               applicant_unit_id=None, values={"f.title": "二"}, materials={"M01": [1]})
    assert first.id == second.id and second.values == {"f.title": "二"} and second.applicant_unit_id is None
    listed = drafts.drafts_of(session, person_id=me.id)
    assert [(d.local_matter_id, d.matter_name) for d in listed] == [(matter.id, matter.name)]
    assert drafts.drafts_of(session, person_id=colleague.id) == []
    assert drafts.draft_of(session, person_id=colleague.id, local_matter_id=matter.id) is None
    with pytest.raises(TooLarge):
        drafts.save_draft(session, person_id=me.id, local_matter_id=matter.id, matter_version_id=version_id,
                          applicant_unit_id=None, values={"f.title": "长" * 200_000}, materials={})
    drafts.discard_draft(session, person_id=colleague.id, local_matter_id=matter.id)  # nothing of theirs: no-op
    assert drafts.draft_of(session, person_id=me.id, local_matter_id=matter.id) is not None
    drafts.discard_draft(session, person_id=me.id, local_matter_id=matter.id)
    assert drafts.draft_of(session, person_id=me.id, local_matter_id=matter.id) is None
    with pytest.raises(NotFound):
        drafts.discard_draft(session, person_id=me.id, local_matter_id=matter.id, missing_ok=False)
