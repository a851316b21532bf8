"""Posts (岗位): the positions in a unit where tasks land, with the four standard ones every unit may have;
renaming one, and removing one nobody holds and no task ever named."""

from __future__ import annotations

from collections import defaultdict

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from xietong.directory.errors import not_found, refused, taken
from xietong.directory.models import Membership, Person, Post
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


def rename_post(session: Session, *, post_id: int, name: str) -> Post:
    """Give a post another name; its code (what processes assign to) stays."""
    post = require_post(session, post_id=post_id)
    name = name.strip()
    if not name or len(name) > 100:
        raise refused("post_name", "岗位名称须为 1 至 100 个字符", "name")
    post.name = name
    session.flush()
    return post


def remove_post(session: Session, *, post_id: int) -> Post:
    """Remove a post that nobody holds; one a task was ever assigned to stays (the history names it)."""
    post = require_post(session, post_id=post_id)
    held = session.scalar(select(func.count()).select_from(Membership).where(Membership.post_id == post.id))
    if held:
        raise refused("post_held", f"岗位“{post.name}”还有 {held} 人任职，请先调整他们的任职再删除", "post")
    try:
        with session.begin_nested():  # a task row referring to the post refuses the delete (foreign key)
            session.delete(post)
            session.flush()
    except IntegrityError:
        raise refused("post_in_use", f"岗位“{post.name}”已有办件环节分配给它，不能删除（可改名）", "post") from None
    return post


def require_post(session: Session, *, post_id: int) -> Post:
    """The post with this id; NotFound otherwise."""
    post = session.get(Post, post_id)
    if post is None:
        raise not_found("post", "岗位", post_id)
    return post


def post_holders(session: Session, *, unit_id: int) -> dict[int, list[Person]]:
    """Who holds each post of a unit (active people, by name), keyed by post id."""
    query = (
        select(Membership.post_id, Person)
        .join(Person, Person.id == Membership.person_id)
        .where(Membership.unit_id == unit_id, Membership.post_id.is_not(None), Person.active.is_(True))
        .order_by(Person.name, Person.id)
    )
    found: dict[int, list[Person]] = defaultdict(list)
    for post_id, person in session.execute(query):
        found[post_id].append(person)
    return found


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
