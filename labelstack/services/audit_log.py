"""Reading the audit trail (admins only); writing it is `audit.record`'s job."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

import sqlalchemy as sa
from sqlmodel import Session, col, select

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
    query = select(AuditEvent)
    if actor_id is not None:
        query = query.where(AuditEvent.actor_id == actor_id)
    if action:
        text = sa.type_coerce(AuditEvent.action, sa.String)  # a prefix is no AuditAction
        query = query.where(text.startswith(action[:-1]) if action.endswith(".*")
                            else text == action)
    if entity_type:
        query = query.where(AuditEvent.entity_type == entity_type)
    if entity_id is not None:
        query = query.where(AuditEvent.entity_id == entity_id)
    if since is not None:
        query = query.where(AuditEvent.created_at >= since)
    if until is not None:
        query = query.where(AuditEvent.created_at < until)
    total = session.exec(select(sa.func.count()).select_from(query.subquery())).one()
    keys = (col(AuditEvent.created_at), col(AuditEvent.id))
    page = session.exec(query.order_by(*(k.desc() if order == "newest" else k for k in keys))
                        .offset(offset).limit(limit)).all()
    return list(page), int(total)
