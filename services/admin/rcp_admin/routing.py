"""The admin API's routes: how an operation is declared, wired into aiohttp and called.

Each resource module declares its operations as a list of `Route`s; `rcp_admin.resources`
adds them up into the one route table that both wires the application and generates the
OpenAPI document, so the two cannot drift apart. A handler gets a `Call`: the request, the
authenticated caller and the `Store` every resource's logic works through.
"""

from __future__ import annotations

import functools
import inspect
import json
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from http import HTTPStatus
from typing import Any, Literal, TypeVar

from aiohttp import web
from aiohttp.web_urldispatcher import AbstractRoute, UrlMappingMatchInfo
from pydantic import BaseModel, TypeAdapter, ValidationError

from rcp_admin import schemas as s
from rcp_admin.auth import NOBODY, SAFE_METHODS, Access, Gate, Principal, RateLimiter
from rcp_admin.errors import (
    DIAL_STRING_NOT_ALLOWED,
    MALFORMED_JSON,
    PAYLOAD_TOO_LARGE,
    UNSUPPORTED_MEDIA_TYPE,
    VALIDATION_FAILED,
    ApiError,
    not_found,
)
from rcp_admin.unit_of_work import Rendered, Store, rendered

Handler = Callable[["Call"], Awaitable[web.StreamResponse]]
HandlerT = TypeVar("HandlerT", bound=Handler)
RequestHandler = Callable[[web.Request], Awaitable[web.StreamResponse]]

STORE_KEY = web.AppKey("store", Store)
GATE_KEY = web.AppKey("gate", Gate)
LIMITER_KEY = web.AppKey("limiter", RateLimiter)
REQUEST_ID_KEY = web.RequestKey("request_id", str)
UPLOAD_LIMIT_KEY = web.AppKey("upload_limit", int)
MAX_JSON_BYTES = 1024 * 1024
Scope = Literal["public", "carrier", "tenant"]
TENANT = "/v1/tenants/{tenant_id}"  # the root of every tenant's resources


@functools.cache
def _adapter(model: Any) -> TypeAdapter[Any]:
    """The validator of a request body's type, built once per type (building one costs more
    than validating a body with it)."""
    return TypeAdapter(model)


@dataclass(frozen=True)
class Route:
    """One operation of the API: how it is wired and how it is documented."""

    method: str
    path: str
    handler: Handler
    summary: str
    scope: Scope = "tenant"
    body: Any = None
    response: type[BaseModel] | None = None
    status: HTTPStatus = HTTPStatus.OK
    query: dict[str, str] = field(default_factory=dict)
    etag: bool = False
    upload: bool = False  # also takes a multipart/form-data body with a `file` part
    audio: bool = False  # answers audio/wav rather than JSON
    access: Access = "member"  # who of the tenant (or carrier) may, beyond the path's scope
    csv: bool = False  # answers text/csv rather than JSON
    archive: bool = False  # also answers or takes application/zip (the export archive)


class Routes(list[Route]):
    """A resource's routes, each declared on its handler (`@routes.get("/things")`), whose
    docstring is the operation's summary in the API's documentation."""

    def __init__(self, root: str = "") -> None:
        super().__init__()
        self.root = root

    def _declare(self, method: str, path: str, details: Any) -> Callable[[HandlerT], HandlerT]:
        def declare(handler: HandlerT) -> HandlerT:
            summary = inspect.getdoc(handler)
            if not summary:
                raise TypeError(f"{handler.__name__} needs a docstring: the API documents it")
            self.append(Route(method, self.root + path, handler, summary, **details))
            return handler

        return declare

    def get(self, path: str, **details: Any) -> Callable[[HandlerT], HandlerT]:
        """Declare a GET."""
        return self._declare("GET", path, details)

    def post(self, path: str, **details: Any) -> Callable[[HandlerT], HandlerT]:
        """Declare a POST."""
        return self._declare("POST", path, details)

    def put(self, path: str, **details: Any) -> Callable[[HandlerT], HandlerT]:
        """Declare a PUT."""
        return self._declare("PUT", path, details)

    def patch(self, path: str, **details: Any) -> Callable[[HandlerT], HandlerT]:
        """Declare a PATCH."""
        return self._declare("PATCH", path, details)

    def delete(self, path: str, **details: Any) -> Callable[[HandlerT], HandlerT]:
        """Declare a DELETE."""
        return self._declare("DELETE", path, details)


@dataclass(frozen=True)
class Call:
    """What a handler gets: the request, the caller and the store."""

    request: web.Request
    principal: Principal
    store: Store

    @property
    def request_id(self) -> str:
        """The request's id, echoed in X-Request-Id and kept in the audit log."""
        return self.request[REQUEST_ID_KEY]

    @functools.cached_property
    def tenant_id(self) -> uuid.UUID:
        """The tenant in the path; a malformed id is as unknown as a missing one (parsed once
        per request)."""
        return self.path_uuid("tenant_id", "tenant")

    @property
    def number(self) -> str:
        """The number in the path (an extension's, a ring group's, a room's)."""
        return self.request.match_info["number"]

    @property
    def if_match(self) -> str | None:
        """The ETag the client read, if it sent one."""
        return self.request.headers.get("If-Match")

    def path_uuid(self, name: str, what: str) -> uuid.UUID:
        """A UUID from the path; a malformed one answers 404 like a missing one."""
        try:
            return uuid.UUID(self.request.match_info[name])
        except ValueError as error:
            raise not_found(what, name) from error

    @property
    def digit(self) -> str:
        """The key's digit from the path, 0 to 9."""
        digit = self.request.match_info["digit"]
        if len(digit) != 1 or digit not in "0123456789":
            raise ApiError(
                VALIDATION_FAILED, f"{digit!r} is not a key: use a digit from 0 to 9", "digit"
            )
        return digit

    async def body(self, model: Any) -> Any:
        """The JSON body, validated against `model`."""
        if self.request.content_type != "application/json":
            raise ApiError(UNSUPPORTED_MEDIA_TYPE, "send the body as application/json", None)
        too_large = ApiError(
            PAYLOAD_TOO_LARGE, f"the body is larger than {MAX_JSON_BYTES} bytes", None
        )
        if (self.request.content_length or 0) > MAX_JSON_BYTES:
            raise too_large
        raw = await self.request.read()
        if len(raw) > MAX_JSON_BYTES:
            raise too_large
        try:
            data = json.loads(raw)
        except (UnicodeDecodeError, json.JSONDecodeError) as error:
            raise ApiError(MALFORMED_JSON, f"the body is not valid JSON: {error}", None) from error
        try:
            return _adapter(model).validate_python(data)
        except ValidationError as error:
            raise validation_error(error) from error

    def query_datetime(self, name: str) -> datetime | None:
        """An ISO 8601 time from the query string."""
        value = self.request.query.get(name)
        if value is None:
            return None
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError as error:
            raise ApiError(VALIDATION_FAILED, f"{name} must be an ISO 8601 time", name) from error
        if parsed.tzinfo is None:
            raise ApiError(
                VALIDATION_FAILED, f"{name} needs a time zone, e.g. 2026-11-28T09:00:00Z", name
            )
        return parsed

    def query_int(self, name: str, default: int, low: int, high: int) -> int:
        """A bounded integer from the query string."""
        value = self.request.query.get(name)
        if value is None:
            return default
        if not value.isdigit() or not low <= int(value) <= high:
            raise ApiError(
                VALIDATION_FAILED, f"{name} must be a whole number from {low} to {high}", name
            )
        return int(value)


def validation_error(error: ValidationError) -> ApiError:
    """The first problem, with its field, and every problem in details."""
    problems, codes = [], []
    for item in error.errors(include_url=False):
        location = [str(part) for part in item["loc"]]
        # A discriminated union puts the tag first (e.g. "transfer"): the client never wrote it.
        if location and location[0] in ("dial_by_name", "play_announcement", "transfer"):
            location = location[1:]
        if item["type"] in ("union_tag_invalid", "union_tag_not_found"):
            location = [*location, "action"]
        code, message = _code_and_message(item, location)
        codes.append(code)
        problems.append({"field": ".".join(location) or None, "message": message})
    first = problems[0]
    return ApiError(codes[0], str(first["message"]), first["field"], {"errors": problems})


# A problem that is more than a malformed value answers with a code of its own.
CODES_BY_TYPE = {s.DIAL_STRING_NOT_ALLOWED: DIAL_STRING_NOT_ALLOWED}
# Fields that no longer exist, and what to send instead.
REFUSED_FIELDS = {"dial_string": (DIAL_STRING_NOT_ALLOWED, s.DIAL_STRING_REFUSED)}


def _code_and_message(item: Any, location: list[str]) -> tuple[str, str]:
    if item["type"] == "extra_forbidden" and location and location[-1] in REFUSED_FIELDS:
        return REFUSED_FIELDS[location[-1]]
    return CODES_BY_TYPE.get(item["type"], VALIDATION_FAILED), _message(item)


MESSAGES_BY_TYPE = {
    "extra_forbidden": "unknown field: remove it",
    "missing": "this field is required",
    "union_tag_invalid": "unknown action: use dial_by_name, play_announcement or transfer",
    "union_tag_not_found": "say which action: dial_by_name, play_announcement or transfer",
}
MESSAGES_BY_PATTERN = {
    r"^\+[1-9][0-9]{6,14}$": "not an E.164 number: +, country code, number; digits only",
    "^[0-9]{2,10}$": "a number here is 2 to 10 digits",
    "^[0-9]$": "a key is one digit from 0 to 9",
}


def _message(item: Any) -> str:
    """Pydantic's message, in words that say what to fix where we know better ones."""
    pattern = item.get("ctx", {}).get("pattern", "")
    return (
        MESSAGES_BY_TYPE.get(item["type"]) or MESSAGES_BY_PATTERN.get(pattern) or str(item["msg"])
    )


def answer(
    model: BaseModel | None,
    status: HTTPStatus = HTTPStatus.OK,
    headers: dict[str, str] | None = None,
) -> web.Response:
    """A JSON answer (or an empty one, e.g. 204)."""
    if model is None:
        return web.Response(status=status, headers=headers)
    return web.Response(
        text=model.model_dump_json(),
        status=status,
        content_type="application/json",
        headers=headers,
    )


def created(model: BaseModel) -> web.Response:
    """201 with the created thing."""
    return answer(model, HTTPStatus.CREATED)


def no_content() -> web.Response:
    """204: done, nothing to say."""
    return answer(None, HTTPStatus.NO_CONTENT)


def with_etag(model: s.Out | Rendered) -> web.Response:
    """A JSON answer carrying the ETag of what it shows (`Rendered`: made already)."""
    shown = model if isinstance(model, Rendered) else rendered(model)
    return web.Response(
        text=shown.json, content_type="application/json", headers={"ETag": shown.etag}
    )


async def stream_audio(c: Call, chunks: AsyncIterator[bytes]) -> web.StreamResponse:
    """Stream audio/wav; errors surface before the answer starts."""
    first = await anext(chunks, b"")
    response = web.StreamResponse(
        headers={"Content-Type": "audio/wav", "Cache-Control": "private, max-age=300"}
    )
    await response.prepare(c.request)
    await response.write(first)
    async for chunk in chunks:
        await response.write(chunk)
    await response.write_eof()
    return response


def _wrap(route: Route) -> RequestHandler:
    async def handle(request: web.Request) -> web.StreamResponse:
        app = request.app
        if route.scope == "public":  # signing in, accepting an invitation: nobody yet
            app[GATE_KEY].address(request)
            return await route.handler(Call(request, NOBODY, app[STORE_KEY]))
        principal = await app[GATE_KEY].principal(request)
        app[LIMITER_KEY].check(principal.rate_key)
        call = Call(request, principal, app[STORE_KEY].scoped_to(principal))
        if "tenant_id" in request.match_info:
            # Before anything else: another tenant's paths answer 404, whatever follows.
            principal.require_tenant(call.tenant_id)
        if route.scope == "carrier":
            principal.require_carrier()
        principal.require_access(route.access, request.method not in SAFE_METHODS)
        return await route.handler(call)

    return handle


class TenantResources(web.AbstractResource):
    """Every resource under one tenant's root (`TENANT`), found by the shape of a path.

    aiohttp indexes a resource by its path up to its first variable: all of these under
    `/v1/tenants`, which it would try one after the other, each one's pattern against the
    path, for every request to any of them (a quarter of the CPU of an answer from memory,
    bench/admin). Here a path is first sorted by its number of segments and by the segment
    after the tenant's id, always a word of the path (e.g. `receptionist`): only the few
    resources of that shape are tried, in the order they were added. Resources of two shapes
    never match the same path (a variable is one segment), so what is found, and the methods
    a 405 lists, are what aiohttp would find.
    """

    def __init__(self, root: str) -> None:
        super().__init__()
        self._root = root
        self._depth = root.count("/") + 1  # where the word after the root is, split on "/"
        self._paths: dict[str, web.Resource] = {}
        self._shapes: dict[tuple[int, str | None], list[web.Resource]] = {}

    def holds(self, path: str) -> bool:
        """Whether `path` is one of this root's (refused if its next segment is a variable)."""
        if path != self._root and not path.startswith(self._root + "/"):
            return False
        if "{" in self._shape(path)[1] or ":" in path:
            raise ValueError(f"{path}: a word must follow {self._root}, and no pattern")
        return True

    def _shape(self, path: str) -> tuple[int, str]:
        parts = path.split("/")
        return len(parts), parts[self._depth] if len(parts) > self._depth else ""

    def add_route(self, method: str, path: str, handler: RequestHandler) -> None:
        """Add a route (one resource per path)."""
        resource = self._paths.get(path)
        if resource is None:
            resource = self._paths[path] = web.DynamicResource(path)
            self._shapes.setdefault(self._shape(path), []).append(resource)
        resource.add_route(method, handler)

    async def resolve(self, request: web.Request) -> tuple[UrlMappingMatchInfo | None, set[str]]:
        allowed: set[str] = set()
        for resource in self._shapes.get(self._shape(request.rel_url.path_safe), ()):
            match, methods = await resource.resolve(request)
            if match is not None:
                return match, methods
            allowed |= methods
        return None, allowed

    @property
    def canonical(self) -> str:
        return self._root

    def url_for(self, **kwargs: str) -> Any:
        raise NotImplementedError("ask the route's own resource")

    def add_prefix(self, prefix: str) -> None:
        raise NotImplementedError("the admin API is no sub-application")

    def get_info(self) -> Any:
        return {"root": self._root}

    def raw_match(self, path: str) -> bool:
        return False  # aiohttp never adds a route of its own here

    def __len__(self) -> int:
        return sum(len(resource) for resource in self._paths.values())

    def __iter__(self) -> Iterator[AbstractRoute]:
        return (route for resource in self._paths.values() for route in resource)


def add_routes(app: web.Application, routes: Iterable[Route]) -> None:
    """Wire every route into the application (those of a tenant through `TenantResources`)."""
    tenant = TenantResources(TENANT)
    app.router.register_resource(tenant)
    for route in routes:
        if tenant.holds(route.path):
            tenant.add_route(route.method, route.path, _wrap(route))
        else:
            app.router.add_route(route.method, route.path, _wrap(route))
