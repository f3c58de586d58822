"""Per-user statistics: admins see everyone's, each user their own."""

from __future__ import annotations

from datetime import date, datetime

from fastapi import APIRouter
from pydantic import BaseModel, Field

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


class UserLinePublic(BaseModel):
    user_id: int
    name: str
    tasks_done: list[int]
    annotations_saved: list[int]
    active_time: list[float]


class ThroughputPublic(BaseModel):
    period: stats.Period
    periods: list[date] = Field(description="the first day of each period")
    users: list[UserLinePublic] = Field(description="users with work in the range")


@router.get("/throughput", response_model=ThroughputPublic)
def throughput(session: SessionDep, actor: AdminUser, first: date, last: date,
               period: stats.Period = "day") -> ThroughputPublic:
    """Tasks done, annotations saved and active seconds per user and day or week (UTC),
    `first` to `last` inclusive: the Statistics chart's data."""
    found = stats.throughput(session, actor=actor, first=first, last=last, period=period)
    return ThroughputPublic(period=found.period, periods=found.periods, users=[
        UserLinePublic(user_id=line.user.id or 0, name=line.user.display_name,
                       tasks_done=line.tasks_done, annotations_saved=line.annotations_saved,
                       active_time=line.active_time) for line in found.users])


class OutcomesPublic(BaseModel):
    name: str
    counts: dict[str, int]
    decided: int
    accept_rate: float | None = Field(description="accepted of decided; null without reviews")

    @classmethod
    def of(cls, o: stats.Outcomes) -> OutcomesPublic:
        return cls(name=o.name, counts=dict(o.counts), decided=o.decided,
                   accept_rate=o.accept_rate)


class ReviewOutcomesPublic(BaseModel):
    per_annotator: list[OutcomesPublic]
    per_label: list[OutcomesPublic]


@router.get("/review-outcomes", response_model=ReviewOutcomesPublic)
def review_outcomes(session: SessionDep, actor: AdminUser, since: datetime | None = None,
                    until: datetime | None = None) -> ReviewOutcomesPublic:
    found = stats.review_outcomes(session, actor=actor, since=since, until=until)
    return ReviewOutcomesPublic(per_annotator=[OutcomesPublic.of(o) for o in found.per_annotator],
                                per_label=[OutcomesPublic.of(o) for o in found.per_label])


class TeamOverviewPublic(BaseModel):
    people_active: int
    tasks_done: int
    annotations_saved: int
    active_time: float
    reviews_decided: int
    accept_rate: float | None
    tasks_now: dict[str, int]
    overdue_now: int


@router.get("/overview", response_model=TeamOverviewPublic)
def overview(session: SessionDep, actor: AdminUser, since: datetime | None = None,
             until: datetime | None = None) -> TeamOverviewPublic:
    found = stats.team_overview(session, actor=actor, since=since, until=until)
    return TeamOverviewPublic.model_validate(found, from_attributes=True)
