"""Liveness for load balancers and the container check."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy.exc import SQLAlchemyError

from labelstack import __version__
from labelstack.db.migrate import current_revision, head_revision
from labelstack.db.session import get_engine

router = APIRouter(tags=["health"])


class Health(BaseModel):
    status: str
    version: str
    database: str
    schema_revision: str | None
    schema_head: str


@router.get("/health", response_model=Health, responses={
    503: {"model": Health, "description": "degraded: the database does not answer or its "
                                          "schema is not at the head revision"}})
def health() -> JSONResponse:
    """No authentication: reports whether the database answers and its schema revision."""
    try:
        revision = current_revision(get_engine())
        database = "ok"
    except SQLAlchemyError as exc:
        revision, database = None, f"unreachable: {type(exc).__name__}"
    head = head_revision()
    ok = database == "ok" and revision == head
    body = Health(status="ok" if ok else "degraded", version=__version__, database=database,
                  schema_revision=revision, schema_head=head)
    return JSONResponse(body.model_dump(), status_code=200 if ok else 503)
