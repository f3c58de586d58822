"""REST API under /api/v1: thin routers over `services/`."""

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse

from labelstack.api import (
    agreement,
    annotations,
    audit,
    auth,
    comments,
    dicom,
    exports,
    health,
    reviews,
    series,
    stats,
    users,
)
from labelstack.api import labels as labels_api
from labelstack.api import tasks as tasks_api
from labelstack.services.errors import ServiceError

API_PREFIX = "/api/v1"

router = APIRouter()
router.include_router(health.router)
router.include_router(auth.router)
router.include_router(users.router)
router.include_router(annotations.router)
router.include_router(reviews.router)
router.include_router(comments.router)
router.include_router(audit.router)
router.include_router(stats.router)
router.include_router(labels_api.router)
router.include_router(labels_api.assignments)
router.include_router(tasks_api.router)
router.include_router(series.router)
router.include_router(dicom.router)
router.include_router(exports.router)
router.include_router(agreement.router)


def install(app: FastAPI) -> None:
    """Mount the API on `app` (NiceGUI's app in production, a bare FastAPI in tests)."""
    app.include_router(router, prefix=API_PREFIX)
    app.add_exception_handler(ServiceError, _service_error)


async def _service_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ServiceError)
    headers = {"WWW-Authenticate": "Bearer"} if exc.status_code == 401 else None
    return JSONResponse({"detail": exc.detail, **exc.extra}, status_code=exc.status_code,
                        headers=headers)
