"""The append-only audit trail: every state change writes one event here."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session

from labelstack.db.enums import AuditAction
from labelstack.db.models import AuditEvent, User


def record(
    session: Session,
    *,
    actor: User | None,
    action: AuditAction,
    entity_type: str,
    entity_id: int | None,
    details: dict[str, Any] | None = None,
) -> AuditEvent:
    """Add an event to the session; it commits with the change it describes."""
    event = AuditEvent(
        actor_id=actor.id if actor else None,
        action=action,
        entity_type=entity_type,
        entity_id=entity_id,
        details=details or {},
    )
    session.add(event)
    return event
