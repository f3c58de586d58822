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
from labelstack.api.body_limits import BodyLimits
from labelstack.api.error_response import service_error_response
from labelstack.api.forwarded import ForwardedClient
from labelstack.api.render_lane import RenderLane
from labelstack.api.schemas import ERROR_RESPONSES
from labelstack.services.errors import ServiceError, TooLarge
from labelstack.services.images import runtime as image_runtime
from labelstack.services.images.importing import check_upload_size

API_PREFIX = "/api/v1"
SMALL_BODY_MB = 1
# The routes whose request body may be larger than SMALL_BODY_MB: uploads, up to
# LABELSTACK_MAX_UPLOAD_MB (a route may bound it further, e.g. a mask by the image's size).
# Every other request (the API, pages, NiceGUI's own routes) carries at most SMALL_BODY_MB.
UPLOAD_ROUTES = (
    ("POST", f"{API_PREFIX}/dicom"),
    ("POST", f"{API_PREFIX}/seg/import"),
    ("POST", f"{API_PREFIX}/annotations/{{annotation_id}}/revisions"),
    ("POST", "/_nicegui/client/{client_id}/upload/{element_id}"),  # the Images page's uploader
)

router = APIRouter(responses=ERROR_RESPONSES)
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
    app.add_middleware(BodyLimits, routes=[(method, path, check_upload_size)
                                           for method, path in UPLOAD_ROUTES],
                       default=check_small_body)
    app.add_middleware(ForwardedClient,
                       trusted=lambda: image_runtime.current_settings().trusted_proxy_networks)
    _in_front(app)


def _in_front(app: FastAPI) -> None:
    """The render lane outside every middleware, also those NiceGUI adds when it runs (GZip,
    sessions, request tracking): Starlette builds its stack on the first request, so the
    lane wraps what it builds."""
    build = app.build_middleware_stack
    app.build_middleware_stack = lambda: RenderLane(build(), prefix=API_PREFIX)  # type: ignore[method-assign]


def check_small_body(size: int) -> None:
    if size > SMALL_BODY_MB * 2**20:
        raise TooLarge(f"request body too large: this route takes at most {SMALL_BODY_MB} MB "
                       "(files go to the upload routes, up to LABELSTACK_MAX_UPLOAD_MB)",
                       limit_mb=SMALL_BODY_MB)


async def _service_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ServiceError)
    return service_error_response(exc)
