"""Posts (岗位): the positions in a unit where tasks land, with the four standard ones every unit may have."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from xietong.directory.errors import refused, taken
from xietong.directory.models import Post
from xietong.directory.schemas import PostIn
from xietong.directory.service.units import require_unit

CLERK = "clerk"
SECTION_CHIEF = "section_chief"
LEADER_IN_CHARGE = "leader_in_charge"
HEAD = "head"
STANDARD_POSTS: dict[str, str] = {
    CLERK: "经办人",
    SECTION_CHIEF: "科室负责人",
    LEADER_IN_CHARGE: "分管领导",
    HEAD: "主要负责人",
}


def create_post(session: Session, *, unit_id: int, data: PostIn) -> Post:
    """Add a post to a unit; its code is unique within the unit."""
    unit = require_unit(session, unit_id=unit_id)
    if post_by_code(session, unit_id=unit.id, code=data.code) is not None:
        raise taken("post_code", f"岗位编码（单位“{unit.name}”）", data.code)
    post = Post(unit_id=unit.id, code=data.code, name=data.name)
    session.add(post)
    session.flush()
    return post


def ensure_post(session: Session, *, unit_id: int, code: str, name: str | None = None) -> Post:
    """The unit's post with this code, created on first use; a standard code needs no name."""
    post = post_by_code(session, unit_id=unit_id, code=code)
    if post is not None:
        return post
    name = name or STANDARD_POSTS.get(code)
    if name is None:
        unit = require_unit(session, unit_id=unit_id)
        raise refused("unknown_post_code", f"单位“{unit.name}”没有岗位：{code}", "post_code")
    return create_post(session, unit_id=unit_id, data=PostIn(code=code, name=name))


def post_by_code(session: Session, *, unit_id: int, code: str) -> Post | None:
    """The unit's post with this code, if any."""
    return session.scalar(select(Post).where(Post.unit_id == unit_id, Post.code == code))


def posts_of(session: Session, *, unit_id: int) -> list[Post]:
    """The posts of a unit, standard ones first in rank order, then by code."""
    rank = {code: index for index, code in enumerate(STANDARD_POSTS)}
    posts = session.scalars(select(Post).where(Post.unit_id == unit_id))
    return sorted(posts, key=lambda post: (rank.get(post.code, len(rank)), post.code))
