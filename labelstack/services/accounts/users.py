"""Users: created by admins (or the CLI), each with one or more roles."""

from __future__ import annotations

from collections.abc import Iterable

import email_validator
from pydantic import BaseModel, EmailStr, Field
from sqlmodel import Session, col, select

from labelstack.db.enums import AuditAction, Role
from labelstack.db.models import User
from labelstack.services import audit
from labelstack.services.accounts import auth
from labelstack.services.errors import Conflict, get_or_not_found
from labelstack.services.races import flush_or_conflict
from labelstack.services.security import hash_password, normalise_roles, require_role

MIN_PASSWORD_LENGTH = 8
INTRANET_DOMAINS = ("local",)
"""Allowed after the @ although email-validator calls them special-use: hospitals'
directories use them (radiology.local). Removing a name from its list is its documented
way to allow one; the syntax checks stay."""
email_validator.SPECIAL_USE_DOMAIN_NAMES[:] = [
    d for d in email_validator.SPECIAL_USE_DOMAIN_NAMES if d not in INTRANET_DOMAINS]


class UserCreate(BaseModel):
    email: EmailStr
    password: str = Field(min_length=MIN_PASSWORD_LENGTH, max_length=256)
    name: str = Field(default="", max_length=200)
    roles: list[Role] = Field(min_length=1)


class UserUpdate(BaseModel):
    name: str | None = Field(default=None, max_length=200)
    password: str | None = Field(default=None, min_length=MIN_PASSWORD_LENGTH, max_length=256)
    roles: list[Role] | None = Field(default=None, min_length=1)
    is_active: bool | None = None


def create_user(session: Session, *, actor: User | None, data: UserCreate) -> User:
    """Create a user; `actor=None` is the command line, which acts as the operator."""
    if actor is not None:
        require_role(actor, Role.admin)
    email = data.email.lower()
    if session.exec(select(User).where(User.email == email)).first():
        raise Conflict(f"a user with e-mail {email} already exists")
    user = User(
        email=email,
        name=data.name or email.split("@")[0],
        password_hash=hash_password(data.password),
        roles=normalise_roles(data.roles),
    )
    session.add(user)
    flush_or_conflict(session, f"a user with e-mail {email} already exists")
    audit.record(session, actor=actor, action=AuditAction.user_create, entity_type="user",
                 entity_id=user.id, details={"email": email, "roles": user.roles})
    session.commit()
    session.refresh(user)
    return user


def update_user(session: Session, *, actor: User, user_id: int, data: UserUpdate) -> User:
    require_role(actor, Role.admin)
    user = get_user(session, user_id)
    changes: dict[str, object] = {}
    if data.name is not None and data.name != user.name:
        changes["name"] = {"before": user.name, "after": data.name}
        user.name = data.name
    roles = normalise_roles(data.roles) if data.roles is not None else user.roles
    active = data.is_active if data.is_active is not None else user.is_active
    demoted = _demotes_an_admin(user, roles=roles, active=active)
    if demoted:
        _lock_active_admins(session)
    if data.password is not None:
        user.password_hash = hash_password(data.password)
        changes["password"] = "changed"
        auth.revoke_all_tokens(session, actor=actor, user=user, reason="password changed")
    if roles != user.roles:
        changes["roles"] = {"before": user.roles, "after": roles}
        user.roles = roles
    if active != user.is_active:
        changes["is_active"] = {"before": user.is_active, "after": active}
        user.is_active = active
        if not active:
            auth.revoke_all_tokens(session, actor=actor, user=user, reason="deactivated")
    if not changes:
        return user
    if "password" in changes or "is_active" in changes and not active:
        user.session_generation += 1  # and so do its browser sessions (components/session.py)
    session.add(user)
    if demoted:
        _keep_an_admin(session)
    audit.record(session, actor=actor, action=AuditAction.user_update, entity_type="user",
                 entity_id=user.id, details=changes)
    session.commit()
    session.refresh(user)
    return user


def deactivate_user(session: Session, *, actor: User, user_id: int) -> User:
    """Users are never deleted (their work stays attributed); they are deactivated."""
    return update_user(session, actor=actor, user_id=user_id, data=UserUpdate(is_active=False))


def get_user(session: Session, user_id: int) -> User:
    return get_or_not_found(session, User, user_id, "user")


def active_user(session: Session, user_id: int) -> User | None:
    """The user behind a browser session, or None once deactivated or gone: reloaded on each
    page so a deactivation takes effect at once."""
    user = session.get(User, user_id)
    return user if user is not None and user.is_active else None


def list_users(session: Session, *, actor: User, roles: Iterable[Role] = ()) -> list[User]:
    require_role(actor, Role.admin)
    users = session.exec(select(User).order_by(User.email)).all()
    wanted = {str(r) for r in roles}
    return [u for u in users if not wanted or wanted & u.role_set]


def all_users(session: Session) -> list[User]:
    """For the operator's command line, which has no acting user."""
    return list(session.exec(select(User).order_by(User.email)).all())


def _demotes_an_admin(user: User, *, roles: str, active: bool) -> bool:
    return (Role.admin.value in user.role_set and user.is_active
            and (Role.admin.value not in roles.split(",") or not active))


def _lock_active_admins(session: Session) -> list[User]:
    """The active admins, their rows locked until commit on PostgreSQL (in id order, so two
    demotions queue instead of deadlocking). SQLite has no row locks: there the write that
    follows takes the database's write lock before `_keep_an_admin` counts."""
    found = session.exec(select(User).where(col(User.is_active),
                                            col(User.roles).contains(Role.admin.value))
                         .order_by(col(User.id)).with_for_update()
                         .execution_options(populate_existing=True)).all()
    return [u for u in found if Role.admin.value in u.role_set]


def _keep_an_admin(session: Session) -> None:
    """Refuse (roll back) a change that left no active admin to run the team.

    Counted after the change is written, under the locks: of two admins demoting each other
    at once, one waits for the other's commit, sees it, and is refused."""
    session.flush()
    if not _lock_active_admins(session):
        session.rollback()
        raise Conflict("this is the last active admin; make another admin first")
