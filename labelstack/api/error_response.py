"""A service error as the API answers it, for the exception handler and the render lane."""

from __future__ import annotations

from fastapi.responses import JSONResponse

from labelstack.services.errors import ServiceError


def service_error_response(exc: ServiceError) -> JSONResponse:
    headers = {"WWW-Authenticate": "Bearer"} if exc.status_code == 401 else None
    return JSONResponse({"detail": exc.detail, **exc.extra}, status_code=exc.status_code,
                        headers=headers)
