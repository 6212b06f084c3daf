"""Around every request: its id, its metrics, and the one place where an error becomes a JSON
answer (`{"code", "message", "field"}`, with the status `errors.STATUS_BY_CODE` gives)."""

from __future__ import annotations

import time
import uuid
from typing import Any

import structlog
from aiohttp import hdrs, web
from prometheus_client import Counter, Histogram
from rcp.db.pool import database_unreachable
from rcp.errors import ErrorCode
from rcp.telemetry import Metrics, MetricsOf, children_of

from rcp_admin import schemas as s
from rcp_admin.errors import (
    DATABASE_RETRY_AFTER_S,
    DATABASE_UNAVAILABLE,
    METHOD_NOT_ALLOWED,
    PAYLOAD_TOO_LARGE,
    ApiError,
)
from rcp_admin.routing import REQUEST_ID_KEY

log = structlog.get_logger(__name__)


def _error_response(error: ApiError, request_id: str) -> web.Response:
    body = s.Error(code=error.code, message=error.message, field=error.field, details=error.details)
    return web.Response(
        text=body.model_dump_json(),
        status=error.status,
        content_type="application/json",
        headers={**error.headers, "X-Request-Id": request_id},
    )


def _http_metrics(metrics: Metrics) -> tuple[Counter, Histogram]:
    new = MetricsOf(metrics.registry, "admin")
    requests = new.counter(
        "http_requests_total", "Admin API requests.", "route", "method", "status"
    )
    latency = new.histogram(
        "http_request_duration_seconds",
        "Admin API latency.",
        "route",
        "method",
        buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
    )
    return requests, latency


def _api_error(request: web.Request, error: Exception) -> ApiError:
    """What an exception out of a handler answers."""
    match error:
        case ApiError():
            return error
        case web.HTTPRequestEntityTooLarge():
            return ApiError(PAYLOAD_TOO_LARGE, "the body is too large")
        case web.HTTPMethodNotAllowed():
            return ApiError(
                METHOD_NOT_ALLOWED,
                f"{request.method} is not allowed here",
                headers={"Allow": ",".join(sorted(error.allowed_methods))},
            )
        case web.HTTPNotFound():
            return ApiError(ErrorCode.NOT_FOUND, "no such resource")
    if database_unreachable(error):  # tokens are checked there too: every route
        return ApiError(
            DATABASE_UNAVAILABLE,
            "the database cannot be reached; nothing was changed, try again shortly",
            headers={"Retry-After": str(DATABASE_RETRY_AFTER_S)},
        )
    return ApiError(ErrorCode.INTERNAL, "internal error")


# What every answer carries: nothing of the API is cached by a browser or a proxy (audio
# says otherwise itself), and no answer is read as anything but its Content-Type.
NO_STORE = "no-store"


async def security_headers(_: web.Request, response: web.StreamResponse) -> None:
    """on_response_prepare: the headers every answer of the service carries."""
    response.headers.setdefault(hdrs.CACHE_CONTROL, NO_STORE)
    response.headers[hdrs.X_CONTENT_TYPE_OPTIONS] = "nosniff"


def make_middleware(metrics: Metrics) -> Any:
    """Request id, metrics, and the one place where every error becomes a JSON answer."""
    requests, latency = _http_metrics(metrics)
    counted, timed = children_of(requests), children_of(latency)

    @web.middleware
    async def middleware(request: web.Request, handler: Any) -> web.StreamResponse:
        request_id = request.headers.get("X-Request-Id", "")[:64] or uuid.uuid4().hex
        request[REQUEST_ID_KEY] = request_id
        resource = request.match_info.route.resource
        route = resource.canonical if resource is not None else "unmatched"
        started = time.perf_counter()
        response: web.StreamResponse
        try:
            response = await handler(request)
        except (
            ApiError,
            web.HTTPRequestEntityTooLarge,
            web.HTTPMethodNotAllowed,
            web.HTTPNotFound,
        ) as error:
            response = _error_response(_api_error(request, error), request_id)
        except Exception as error:
            if database_unreachable(error):
                log.warning("admin.database_unavailable", route=route, error=repr(error))
            else:
                log.exception("admin.request_failed", route=route, method=request.method)
            response = _error_response(_api_error(request, error), request_id)
        response.headers["X-Request-Id"] = request_id
        counted(route, request.method, str(response.status)).inc()
        timed(route, request.method).observe(time.perf_counter() - started)
        return response

    return middleware
