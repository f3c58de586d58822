"""Demo content for `labelstack demo`: users of each role (idempotent)."""

from __future__ import annotations

from sqlmodel import Session, select

from labelstack.config import Settings
from labelstack.db.enums import Role
from labelstack.db.models import User
from labelstack.services import users

DEMO_USERS = (
    (Role.admin, "admin@demo.labelstack.org", "demo-admin", "Ada Admin"),
    (Role.annotator, "annotator@demo.labelstack.org", "demo-annotator", "Ann Notator"),
    (Role.reviewer, "reviewer@demo.labelstack.org", "demo-reviewer", "Rey Viewer"),
)


def seed_demo(session: Session, settings: Settings) -> list[tuple[str, str, str]]:
    """Create what is missing of the demo; returns (role, e-mail, password) per login."""
    for role, email, password, name in DEMO_USERS:
        if session.exec(select(User).where(User.email == email)).first() is None:
            users.create_user(session, actor=None, data=users.UserCreate(
                email=email, password=password, name=name, roles=[role]))
    return [(role.value, email, password) for role, email, password, _ in DEMO_USERS]
