"""Reading the audit trail (admins only); writing it is `audit.record`'s job."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from functools import lru_cache
from typing import Any, Literal

import sqlalchemy as sa
from sqlmodel import Session, col

from labelstack.db.enums import Role
from labelstack.db.models import AuditEvent, User
from labelstack.services.errors import InvalidInput
from labelstack.services.security import require_role

MAX_PAGE = 500
Order = Literal["newest", "oldest"]


def list_events(session: Session, *, actor: User, actor_id: int | None = None,
                action: str | None = None, entity_type: str | None = None,
                entity_id: int | None = None, since: datetime | None = None,
                until: datetime | None = None, limit: int = 100, offset: int = 0,
                order: Order = "oldest") -> tuple[list[AuditEvent], int]:
    """One page of events, oldest or newest first, and the total matching.

    `action` matches exactly, or by prefix when it ends in `.*` (`task.*`). Ordering in
    the query lets a "recent activity" view page from the newest event with one query.
    """
    require_role(actor, Role.admin)
    if not 1 <= limit <= MAX_PAGE or offset < 0:
        raise InvalidInput(f"limit must be 1..{MAX_PAGE} and offset ≥ 0")
    if order not in ("newest", "oldest"):
        raise InvalidInput(f"order must be 'newest' or 'oldest', not {order!r}")
    action_kind: Literal["exact", "prefix"] | None = None
    if action:
        action_kind = "prefix" if action.endswith(".*") else "exact"
        action = action[:-1] if action_kind == "prefix" else action
    page, count = _statements(actor_id is not None, action_kind, bool(entity_type),
                              entity_id is not None, since is not None, until is not None,
                              order)
    values = {"actor_id": actor_id, "action": action, "entity_type": entity_type,
              "entity_id": entity_id, "since": since, "until": until, "offset": offset,
              "limit": limit}
    rows: Sequence[Any] = session.execute(page, values).all()
    total = rows[0][1] if rows else session.execute(count, values).scalar_one()
    return [event for event, _ in rows], int(total)


@lru_cache(maxsize=128)
def _statements(actor_id: bool, action: Literal["exact", "prefix"] | None, entity_type: bool,
                entity_id: bool, since: bool, until: bool, order: Order,
                ) -> tuple[sa.Select[Any], sa.Select[Any]]:
    """The page with the total, and the total alone (for a page past the end), for the
    filters used; their values are parameters, so requests that filter alike share one
    statement (building it and its cache key cost about as much as running it). The total
    is an uncorrelated subquery (run once), and the page is read off the time index."""
    where: list[sa.ColumnElement[bool]] = []
    if actor_id:
        where.append(col(AuditEvent.actor_id) == sa.bindparam("actor_id"))
    if action:
        text = sa.type_coerce(AuditEvent.action, sa.String)  # a prefix is no AuditAction
        value = sa.bindparam("action", type_=sa.String)
        where.append(text.startswith(value) if action == "prefix" else text == value)
    if entity_type:
        where.append(col(AuditEvent.entity_type) == sa.bindparam("entity_type"))
    if entity_id:
        where.append(col(AuditEvent.entity_id) == sa.bindparam("entity_id"))
    if since:
        where.append(col(AuditEvent.created_at) >= sa.bindparam("since"))
    if until:
        where.append(col(AuditEvent.created_at) < sa.bindparam("until"))
    keys = (col(AuditEvent.created_at), col(AuditEvent.id))
    count = sa.select(sa.func.count()).select_from(AuditEvent).where(*where).correlate(None)
    page = (sa.select(AuditEvent, count.scalar_subquery()).where(*where)
            .order_by(*(k.desc() if order == "newest" else k for k in keys))
            .offset(sa.bindparam("offset", type_=sa.Integer))
            .limit(sa.bindparam("limit", type_=sa.Integer)))
    return page, count
