"""Users CRUD for admins. Users are deactivated, never deleted: their work stays attributed."""

from __future__ import annotations

from fastapi import APIRouter

from labelstack.api.deps import AdminUser, SessionDep
from labelstack.api.schemas import UserPublic
from labelstack.db.enums import Role
from labelstack.services.accounts import users
from labelstack.services.accounts.users import UserCreate, UserUpdate

router = APIRouter(prefix="/users", tags=["users"])


@router.get("", response_model=list[UserPublic])
def list_users(session: SessionDep, actor: AdminUser, role: Role | None = None) -> list[UserPublic]:
    found = users.list_users(session, actor=actor, roles=[role] if role else [])
    return [UserPublic.of(u) for u in found]


@router.post("", response_model=UserPublic, status_code=201)
def create_user(session: SessionDep, actor: AdminUser, data: UserCreate) -> UserPublic:
    return UserPublic.of(users.create_user(session, actor=actor, data=data))


@router.get("/{user_id}", response_model=UserPublic)
def get_user(session: SessionDep, _actor: AdminUser, user_id: int) -> UserPublic:
    return UserPublic.of(users.get_user(session, user_id))


@router.patch("/{user_id}", response_model=UserPublic)
def update_user(session: SessionDep, actor: AdminUser, user_id: int,
                data: UserUpdate) -> UserPublic:
    return UserPublic.of(users.update_user(session, actor=actor, user_id=user_id, data=data))


@router.delete("/{user_id}", response_model=UserPublic)
def deactivate_user(session: SessionDep, actor: AdminUser, user_id: int) -> UserPublic:
    return UserPublic.of(users.deactivate_user(session, actor=actor, user_id=user_id))
