"""Per-user statistics: admins see everyone's, each user their own."""

from __future__ import annotations

from datetime import date, datetime

from fastapi import APIRouter
from pydantic import BaseModel

from labelstack.api.deps import AdminUser, CurrentUser, SessionDep
from labelstack.services import stats
from labelstack.services.stats import Tally, UserStats

router = APIRouter(prefix="/stats", tags=["statistics"])


class TallyPublic(BaseModel):
    tasks_done: dict[str, int]
    annotations_saved: int
    active_time: float
    review_results_received: dict[str, int]
    reviews_given: int

    @classmethod
    def of(cls, t: Tally) -> TallyPublic:
        return cls(tasks_done=dict(t.tasks_done), annotations_saved=t.annotations_saved,
                   active_time=t.active_time,
                   review_results_received=dict(t.review_results_received),
                   reviews_given=t.reviews_given)


class DayPublic(TallyPublic):
    day: date


class UserStatsPublic(BaseModel):
    user_id: int
    email: str
    name: str
    total: TallyPublic
    per_day: list[DayPublic]

    @classmethod
    def of(cls, s: UserStats) -> UserStatsPublic:
        return cls(user_id=s.user.id or 0, email=s.user.email, name=s.user.name,
                   total=TallyPublic.of(s.total),
                   per_day=[DayPublic(day=d, **TallyPublic.of(t).model_dump())
                            for d, t in s.per_day.items()])


@router.get("/users", response_model=list[UserStatsPublic])
def all_users(session: SessionDep, actor: AdminUser, since: datetime | None = None,
              until: datetime | None = None) -> list[UserStatsPublic]:
    return [UserStatsPublic.of(s) for s in stats.all_user_stats(session, actor=actor,
                                                                 since=since, until=until)]


@router.get("/users/{user_id}", response_model=UserStatsPublic)
def one_user(session: SessionDep, actor: CurrentUser, user_id: int,
             since: datetime | None = None, until: datetime | None = None) -> UserStatsPublic:
    """Admins: anyone; others: only themselves."""
    return UserStatsPublic.of(stats.user_stats(session, actor=actor, user_id=user_id,
                                               since=since, until=until))


@router.get("/me", response_model=UserStatsPublic)
def me(session: SessionDep, actor: CurrentUser, since: datetime | None = None,
       until: datetime | None = None) -> UserStatsPublic:
    return UserStatsPublic.of(stats.my_stats(session, actor=actor, since=since, until=until))
