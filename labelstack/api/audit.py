"""The audit trail for admins: filter by actor, action, entity and time; paged."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from labelstack.api.deps import AdminUser, SessionDep
from labelstack.services import audit_log
from labelstack.services.activity import feed

router = APIRouter(prefix="/audit-events", tags=["audit"])


class AuditEventPublic(BaseModel):
    id: int
    created_at: datetime
    actor_id: int | None
    action: str
    entity_type: str
    entity_id: int | None
    details: dict[str, Any]


class AuditPage(BaseModel):
    items: list[AuditEventPublic]
    total: int
    limit: int
    offset: int


@router.get("", response_model=AuditPage)
def list_events(session: SessionDep, actor: AdminUser, actor_id: int | None = None,
                action: str | None = Query(None, description="exact, or a prefix like `task.*`"),
                entity_type: str | None = None, entity_id: int | None = None,
                since: datetime | None = None, until: datetime | None = None,
                limit: int = Query(100, ge=1, le=audit_log.MAX_PAGE),
                offset: int = Query(0, ge=0),
                order: Annotated[audit_log.Order, Query(description="`newest` first or "
                                                        "`oldest` first")] = "oldest",
                ) -> AuditPage:
    events, total = audit_log.list_events(
        session, actor=actor, actor_id=actor_id, action=action, entity_type=entity_type,
        entity_id=entity_id, since=since, until=until, limit=limit, offset=offset,
        order=order)
    return AuditPage(items=[AuditEventPublic.model_validate(e, from_attributes=True)
                            for e in events], total=total, limit=limit, offset=offset)


class PartPublic(BaseModel):
    text: str
    href: str | None = Field(description="a page of the app: the task, the image, the person")


class ActivityPublic(BaseModel):
    id: int
    at: datetime
    action: str
    sentence: str
    parts: list[PartPublic]


class ActivityPage(BaseModel):
    items: list[ActivityPublic]
    total: int


@router.get("/activity", response_model=ActivityPage)
def activity(session: SessionDep, actor: AdminUser, actor_id: int | None = None,
             action: str | None = Query(None, description="exact, or a prefix like `task.*`"),
             limit: int = Query(50, ge=1, le=audit_log.MAX_PAGE), offset: int = Query(0, ge=0),
             ) -> ActivityPage:
    """The trail as readable sentences with links, newest first (the activity feed)."""
    found, total = feed(session, actor=actor, actor_id=actor_id, action=action,
                        limit=limit, offset=offset)
    return ActivityPage(items=[ActivityPublic(
        id=a.id, at=a.at, action=a.action, sentence=a.sentence,
        parts=[PartPublic(text=p.text, href=p.href) for p in a.parts]) for a in found],
        total=total)
