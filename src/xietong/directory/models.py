"""Tables of the directory: regions, units (a tree with a materialised path), people, posts."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from xietong.db.base import Base, BigId, utcnow


class Region(Base):
    """丽水市 and its county-level divisions; ``code_kind`` tells legal codes from platform codes."""

    __tablename__ = "region"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    code: Mapped[str] = mapped_column(String(12), unique=True)
    code_kind: Mapped[str] = mapped_column(String(12), default="division")  # division | platform
    name: Mapped[str] = mapped_column(String(100))
    short_name: Mapped[str] = mapped_column(String(50), default="")
    level: Mapped[str] = mapped_column(String(12))  # city | county
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("region.id"))


class Unit(Base):
    """A government body or one of its internal offices; ``path`` is ``/1/5/12/`` for subtree scopes."""

    __tablename__ = "unit"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("unit.id"), index=True)
    region_id: Mapped[int] = mapped_column(ForeignKey("region.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    short_name: Mapped[str] = mapped_column(String(100), default="")
    function: Mapped[str | None] = mapped_column(String(50))
    uscc: Mapped[str | None] = mapped_column(String(18), unique=True)
    path: Mapped[str] = mapped_column(String(400), default="/", index=True)
    active: Mapped[bool] = mapped_column(default=True)
    sort: Mapped[int] = mapped_column(default=0)

    __table_args__ = (
        Index("ix_unit_region_function", "region_id", "function"),
        # Subtree scopes filter with ``path LIKE '/1/5/%'``; PostgreSQL uses a plain b-tree for that only in the
        # C collation, so the prefix search gets its own pattern-ops index there.
        Index("ix_unit_path_prefix", "path", postgresql_ops={"path": "varchar_pattern_ops"}).ddl_if(
            dialect="postgresql"
        ),
    )


class Person(Base):
    __tablename__ = "person"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    employee_code: Mapped[str] = mapped_column(String(40), unique=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(50))
    phone: Mapped[str | None] = mapped_column(String(30))
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Post(Base):
    """A position in a unit (经办人, 科室负责人, 分管领导…): where tasks land, not a permission."""

    __tablename__ = "post"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"))
    code: Mapped[str] = mapped_column(String(40))
    name: Mapped[str] = mapped_column(String(100))

    __table_args__ = (UniqueConstraint("unit_id", "code"),)


class Membership(Base):
    """A person belongs to a unit, optionally holding a post there."""

    __tablename__ = "membership"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"), index=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"))
    post_id: Mapped[int | None] = mapped_column(ForeignKey("post.id"))
    is_primary: Mapped[bool] = mapped_column(default=True)

    __table_args__ = (
        UniqueConstraint("person_id", "unit_id", "post_id"),
        # The constraint above treats NULL posts as distinct: a plain membership must be unique on its own.
        Index("ux_membership_unit_no_post", "person_id", "unit_id", unique=True,
              postgresql_where=text("post_id IS NULL"), sqlite_where=text("post_id IS NULL")),
        Index("ix_membership_unit_post", "unit_id", "post_id"),
    )


class Delegation(Base):
    """委托: while on leave, ``from_person``'s new tasks go to ``to_person`` (resolved at assignment)."""

    __tablename__ = "delegation"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    from_person_id: Mapped[int] = mapped_column(ForeignKey("person.id"), index=True)
    to_person_id: Mapped[int] = mapped_column(ForeignKey("person.id"))
    starts_at: Mapped[datetime]
    ends_at: Mapped[datetime]
    reason: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class UnitLineage(Base):
    """机构改革: one edge from a unit before a reorganisation to a unit after it (a rename is an edge to itself).

    The names at the time are kept with the edge, so a renamed unit's earlier names stay in history; a retired
    predecessor keeps its own row (inactive). ``reorganisation`` groups the edges of one operation.
    """

    __tablename__ = "unit_lineage"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    reorganisation: Mapped[str] = mapped_column(String(32), index=True)
    predecessor_id: Mapped[int] = mapped_column(ForeignKey("unit.id"), index=True)
    successor_id: Mapped[int] = mapped_column(ForeignKey("unit.id"), index=True)
    kind: Mapped[str] = mapped_column(String(8))  # merge | split | rename
    predecessor_name: Mapped[str] = mapped_column(String(200))
    successor_name: Mapped[str] = mapped_column(String(200))
    at: Mapped[datetime] = mapped_column(default=utcnow)
    reason: Mapped[str] = mapped_column(String(500))
    by_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"))
