"""The admin API over HTTP: routes, request parsing, and the mapping of errors to answers.

Every route is declared once in `ROUTES`, which both wires aiohttp and generates the
OpenAPI document, so the two cannot drift apart.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from http import HTTPStatus
from typing import Any, Literal, TypeVar

import asyncpg
import structlog
from aiohttp import BodyPartReader, web
from aiohttp.http_exceptions import HttpProcessingError
from prometheus_client import Counter, Histogram
from pydantic import BaseModel, TypeAdapter, ValidationError
from rcp.db.pool import database_unreachable
from rcp.errors import ErrorCode
from rcp.telemetry import METRIC_PREFIX, Metrics

from rcp_admin import schemas as s
from rcp_admin.auth import Principal, RateLimiter, authenticate
from rcp_admin.errors import (
    DATABASE_RETRY_AFTER_S,
    DATABASE_UNAVAILABLE,
    MALFORMED_BODY,
    MALFORMED_JSON,
    METHOD_NOT_ALLOWED,
    PAYLOAD_TOO_LARGE,
    UNSUPPORTED_MEDIA_TYPE,
    VALIDATION_FAILED,
    ApiError,
    not_found,
)
from rcp_admin.service import AdminService, etag_of

log = structlog.get_logger(__name__)

BodyT = TypeVar("BodyT")
Handler = Callable[["Call"], Awaitable[web.StreamResponse]]

SERVICE_KEY = web.AppKey("service", AdminService)
POOL_KEY = web.AppKey("pool", asyncpg.Pool)
LIMITER_KEY = web.AppKey("limiter", RateLimiter)
PEPPER_KEY = web.AppKey("pepper", str)
REQUEST_ID_KEY = web.RequestKey("request_id", str)
UPLOAD_LIMIT_KEY = web.AppKey("upload_limit", int)
MAX_JSON_BYTES = 1024 * 1024
Scope = Literal["public", "carrier", "tenant"]


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


@dataclass(frozen=True)
class Call:
    """What a handler gets: the request, the caller and the service."""

    request: web.Request
    principal: Principal
    service: AdminService

    @property
    def request_id(self) -> str:
        """The request's id, echoed in X-Request-Id and kept in the audit log."""
        return self.request[REQUEST_ID_KEY]

    @property
    def tenant_id(self) -> uuid.UUID:
        """The tenant in the path; a malformed id is as unknown as a missing one."""
        try:
            return uuid.UUID(self.request.match_info["tenant_id"])
        except ValueError as error:
            raise not_found("tenant", "tenant_id") from error

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
        if (self.request.content_length or 0) > MAX_JSON_BYTES:
            raise ApiError(
                PAYLOAD_TOO_LARGE, f"the body is larger than {MAX_JSON_BYTES} bytes", None
            )
        raw = await self.request.read()
        if len(raw) > MAX_JSON_BYTES:
            raise ApiError(
                PAYLOAD_TOO_LARGE, f"the body is larger than {MAX_JSON_BYTES} bytes", None
            )
        try:
            data = json.loads(raw)
        except (UnicodeDecodeError, json.JSONDecodeError) as error:
            raise ApiError(MALFORMED_JSON, f"the body is not valid JSON: {error}", None) from error
        try:
            return TypeAdapter(model).validate_python(data)
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
    problems = []
    for item in error.errors(include_url=False):
        location = [str(part) for part in item["loc"]]
        # A discriminated union puts the tag first (e.g. "transfer"): the client never wrote it.
        if location and location[0] in ("dial_by_name", "play_announcement", "transfer"):
            location = location[1:]
        if item["type"] in ("union_tag_invalid", "union_tag_not_found"):
            location = [*location, "action"]
        problems.append(
            {
                "field": ".".join(location) or None,
                "message": _message(item),
            }
        )
    first = problems[0]
    return ApiError(VALIDATION_FAILED, str(first["message"]), first["field"], {"errors": problems})


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


def _json(
    model: BaseModel | None,
    status: HTTPStatus = HTTPStatus.OK,
    headers: dict[str, str] | None = None,
) -> web.Response:
    if model is None:
        return web.Response(status=status, headers=headers)
    return web.Response(
        text=model.model_dump_json(),
        status=status,
        content_type="application/json",
        headers=headers,
    )


def _with_etag(model: s.Out, status: HTTPStatus = HTTPStatus.OK) -> web.Response:
    return _json(model, status, {"ETag": etag_of(model)})


# --- handlers ------------------------------------------------------------------------------


async def create_tenant(c: Call) -> web.Response:
    body = await c.body(s.TenantCreate)
    return _json(await c.service.create_tenant(c.principal, body, c.request_id), HTTPStatus.CREATED)


async def list_tenants(c: Call) -> web.Response:
    return _json(await c.service.list_tenants(c.principal))


async def get_tenant(c: Call) -> web.Response:
    return _json(await c.service.get_tenant(c.principal, c.tenant_id))


async def patch_tenant(c: Call) -> web.Response:
    body = await c.body(s.TenantPatch)
    return _json(await c.service.patch_tenant(c.principal, c.tenant_id, body, c.request_id))


async def delete_tenant(c: Call) -> web.Response:
    await c.service.delete_tenant(c.principal, c.tenant_id, c.request_id)
    return _json(None, HTTPStatus.NO_CONTENT)


async def issue_tenant_token(c: Call) -> web.Response:
    body = await c.body(s.TokenCreate)
    issued = await c.service.issue_token(c.principal, c.tenant_id, body, c.request_id)
    return _json(issued, HTTPStatus.CREATED)


async def list_tenant_tokens(c: Call) -> web.Response:
    return _json(await c.service.list_tokens(c.principal, c.tenant_id))


async def revoke_tenant_token(c: Call) -> web.Response:
    token_id = c.path_uuid("token_id", "token")
    await c.service.revoke_token(c.principal, c.tenant_id, token_id, c.request_id)
    return _json(None, HTTPStatus.NO_CONTENT)


async def issue_carrier_token(c: Call) -> web.Response:
    body = await c.body(s.TokenCreate)
    return _json(
        await c.service.issue_token(c.principal, None, body, c.request_id), HTTPStatus.CREATED
    )


async def list_carrier_tokens(c: Call) -> web.Response:
    return _json(await c.service.list_tokens(c.principal, None))


async def revoke_carrier_token(c: Call) -> web.Response:
    token_id = c.path_uuid("token_id", "token")
    await c.service.revoke_token(c.principal, None, token_id, c.request_id)
    return _json(None, HTTPStatus.NO_CONTENT)


async def add_number(c: Call) -> web.Response:
    body = await c.body(s.NumberCreate)
    return _json(
        await c.service.add_number(c.principal, c.tenant_id, body, c.request_id), HTTPStatus.CREATED
    )


async def list_numbers(c: Call) -> web.Response:
    return _json(await c.service.list_numbers(c.principal, c.tenant_id))


async def delete_number(c: Call) -> web.Response:
    await c.service.delete_number(
        c.principal, c.tenant_id, c.request.match_info["e164"], c.request_id
    )
    return _json(None, HTTPStatus.NO_CONTENT)


async def create_extension(c: Call) -> web.Response:
    body = await c.body(s.ExtensionCreate)
    return _json(
        await c.service.create_extension(c.principal, c.tenant_id, body, c.request_id),
        HTTPStatus.CREATED,
    )


async def list_extensions(c: Call) -> web.Response:
    return _json(await c.service.list_extensions(c.principal, c.tenant_id))


async def get_extension(c: Call) -> web.Response:
    return _json(
        await c.service.get_extension(c.principal, c.tenant_id, c.request.match_info["number"])
    )


async def patch_extension(c: Call) -> web.Response:
    body = await c.body(s.ExtensionPatch)
    return _json(
        await c.service.patch_extension(
            c.principal, c.tenant_id, c.request.match_info["number"], body, c.request_id
        )
    )


async def delete_extension(c: Call) -> web.Response:
    await c.service.delete_extension(
        c.principal, c.tenant_id, c.request.match_info["number"], c.request_id
    )
    return _json(None, HTTPStatus.NO_CONTENT)


async def create_ring_group(c: Call) -> web.Response:
    body = await c.body(s.RingGroupCreate)
    return _json(
        await c.service.create_ring_group(c.principal, c.tenant_id, body, c.request_id),
        HTTPStatus.CREATED,
    )


async def list_ring_groups(c: Call) -> web.Response:
    return _json(await c.service.list_ring_groups(c.principal, c.tenant_id))


async def get_ring_group(c: Call) -> web.Response:
    return _json(
        await c.service.get_ring_group(c.principal, c.tenant_id, c.request.match_info["number"])
    )


async def patch_ring_group(c: Call) -> web.Response:
    body = await c.body(s.RingGroupPatch)
    return _json(
        await c.service.patch_ring_group(
            c.principal, c.tenant_id, c.request.match_info["number"], body, c.request_id
        )
    )


async def delete_ring_group(c: Call) -> web.Response:
    await c.service.delete_ring_group(
        c.principal, c.tenant_id, c.request.match_info["number"], c.request_id
    )
    return _json(None, HTTPStatus.NO_CONTENT)


async def create_room(c: Call) -> web.Response:
    body = await c.body(s.ConferenceRoomCreate)
    return _json(
        await c.service.create_room(c.principal, c.tenant_id, body, c.request_id),
        HTTPStatus.CREATED,
    )


async def list_rooms(c: Call) -> web.Response:
    return _json(await c.service.list_rooms(c.principal, c.tenant_id))


async def get_room(c: Call) -> web.Response:
    return _json(await c.service.get_room(c.principal, c.tenant_id, c.request.match_info["number"]))


async def patch_room(c: Call) -> web.Response:
    body = await c.body(s.ConferenceRoomPatch)
    return _json(
        await c.service.patch_room(
            c.principal, c.tenant_id, c.request.match_info["number"], body, c.request_id
        )
    )


async def delete_room(c: Call) -> web.Response:
    await c.service.delete_room(
        c.principal, c.tenant_id, c.request.match_info["number"], c.request_id
    )
    return _json(None, HTTPStatus.NO_CONTENT)


async def get_receptionist(c: Call) -> web.Response:
    return _with_etag(await c.service.get_receptionist(c.principal, c.tenant_id))


async def patch_receptionist(c: Call) -> web.Response:
    body = await c.body(s.ReceptionistPatch)
    return _with_etag(
        await c.service.patch_receptionist(
            c.principal, c.tenant_id, body, c.request.headers.get("If-Match"), c.request_id
        )
    )


async def get_keys(c: Call) -> web.Response:
    return _with_etag(await c.service.get_keys(c.principal, c.tenant_id))


async def put_key(c: Call) -> web.Response:
    digit = c.digit
    body = await c.body(s.KeyAssignment)
    return _with_etag(
        await c.service.put_key(
            c.principal, c.tenant_id, digit, body, c.request.headers.get("If-Match"), c.request_id
        )
    )


async def delete_key(c: Call) -> web.Response:
    return _with_etag(
        await c.service.delete_key(
            c.principal, c.tenant_id, c.digit, c.request.headers.get("If-Match"), c.request_id
        )
    )


async def get_directory(c: Call) -> web.Response:
    return _json(await c.service.get_directory(c.principal, c.tenant_id))


async def patch_directory(c: Call) -> web.Response:
    body = await c.body(s.DirectoryPatch)
    return _json(await c.service.patch_directory(c.principal, c.tenant_id, body, c.request_id))


async def create_prompt(c: Call) -> web.Response:
    if c.request.content_type == "multipart/form-data":
        data, filename = await _uploaded_file(c.request)
        prompt = await c.service.upload_prompt(
            c.principal, c.tenant_id, data, filename, c.request_id
        )
        return _json(prompt, HTTPStatus.CREATED)
    body = await c.body(s.TtsPrompt)
    return _json(
        await c.service.create_tts_prompt(c.principal, c.tenant_id, body, c.request_id),
        HTTPStatus.CREATED,
    )


async def _uploaded_file(request: web.Request) -> tuple[bytes, str | None]:
    """The multipart part named `file`, read up to the upload limit."""
    limit = request.app[UPLOAD_LIMIT_KEY]
    try:
        reader = await request.multipart()
        async for part in reader:
            if not isinstance(part, BodyPartReader) or part.name != "file":
                continue
            data = bytearray()
            while chunk := await part.read_chunk(256 * 1024):
                data += chunk
                if len(data) > limit:
                    raise ApiError(
                        ErrorCode.FILE_TOO_LARGE, f"the file is larger than {limit} bytes", "file"
                    )
            return bytes(data), part.filename
    except (ValueError, AssertionError, UnicodeDecodeError, HttpProcessingError) as error:
        # aiohttp's multipart reader signals a malformed body (no boundary, bad headers) so.
        raise ApiError(MALFORMED_BODY, f"malformed multipart body: {error}") from error
    raise ApiError(VALIDATION_FAILED, "send the audio in a multipart field named file", "file")


async def _stream_audio(c: Call, chunks: AsyncIterator[bytes]) -> web.StreamResponse:
    first = await anext(chunks, b"")  # errors surface before the answer starts
    response = web.StreamResponse(
        headers={"Content-Type": "audio/wav", "Cache-Control": "private, max-age=300"}
    )
    await response.prepare(c.request)
    await response.write(first)
    async for chunk in chunks:
        await response.write(chunk)
    await response.write_eof()
    return response


async def get_prompt_audio(c: Call) -> web.StreamResponse:
    chunks = await c.service.prompt_audio(
        c.principal, c.tenant_id, c.path_uuid("prompt_id", "prompt")
    )
    return await _stream_audio(c, chunks)


async def get_voicemail_audio(c: Call) -> web.StreamResponse:
    message_id = c.path_uuid("message_id", "voicemail message")
    chunks = await c.service.voicemail_audio(c.principal, c.tenant_id, message_id)
    return await _stream_audio(c, chunks)


async def list_prompts(c: Call) -> web.Response:
    return _json(await c.service.list_prompts(c.principal, c.tenant_id))


async def get_prompt(c: Call) -> web.Response:
    return _json(
        await c.service.get_prompt(c.principal, c.tenant_id, c.path_uuid("prompt_id", "prompt"))
    )


async def list_voicemail(c: Call) -> web.Response:
    return _json(await c.service.list_voicemail(c.principal, c.tenant_id))


async def delete_voicemail(c: Call) -> web.Response:
    await c.service.delete_voicemail(
        c.principal, c.tenant_id, c.path_uuid("message_id", "voicemail message"), c.request_id
    )
    return _json(None, HTTPStatus.NO_CONTENT)


OUTCOMES = (
    "transferred",
    "voicemail",
    "conference",
    "announcement",
    "caller_hangup",
    "no_input",
    "invalid_input",
    "failed",
)


async def list_calls(c: Call) -> web.Response:
    outcome = c.request.query.get("outcome")
    if outcome is not None and outcome not in OUTCOMES:
        raise ApiError(
            VALIDATION_FAILED, f"outcome must be one of {', '.join(OUTCOMES)}", "outcome"
        )
    limit = c.query_int("limit", 100, 1, 1000)
    return _json(
        await c.service.list_calls(
            c.principal,
            c.tenant_id,
            c.query_datetime("since"),
            c.query_datetime("before"),
            outcome,
            limit,
        )
    )


async def list_audit(c: Call) -> web.Response:
    limit = c.query_int("limit", 100, 1, 1000)
    before_id = c.query_int("before_id", 0, 1, 2**62) or None
    return _json(await c.service.list_audit(c.principal, c.tenant_id, before_id, limit))


async def export_tenant(c: Call) -> web.Response:
    return _json(await c.service.export_tenant(c.principal, c.tenant_id))


async def import_tenant(c: Call) -> web.Response:
    body = await c.body(s.TenantExport)
    return _json(await c.service.import_tenant(c.principal, c.tenant_id, body, c.request_id))


T = "/v1/tenants/{tenant_id}"
ROUTES: list[Route] = [
    Route(
        "POST",
        "/v1/tenants",
        create_tenant,
        "Create a tenant (with its receptionist)",
        "carrier",
        s.TenantCreate,
        s.Tenant,
        HTTPStatus.CREATED,
    ),
    Route(
        "GET",
        "/v1/tenants",
        list_tenants,
        "List tenants (a tenant token sees its own)",
        "tenant",
        response=s.TenantList,
    ),
    Route("GET", T, get_tenant, "Read a tenant", response=s.Tenant),
    Route(
        "PATCH",
        T,
        patch_tenant,
        "Change a tenant's name, locale, time zone or status",
        "carrier",
        s.TenantPatch,
        s.Tenant,
    ),
    Route(
        "DELETE",
        T,
        delete_tenant,
        "Delete a suspended tenant and everything it owns",
        "carrier",
        status=HTTPStatus.NO_CONTENT,
    ),
    Route(
        "POST",
        f"{T}/tokens",
        issue_tenant_token,
        "Issue a tenant admin token (shown once)",
        "carrier",
        s.TokenCreate,
        s.IssuedToken,
        HTTPStatus.CREATED,
    ),
    Route(
        "GET",
        f"{T}/tokens",
        list_tenant_tokens,
        "List a tenant's tokens",
        "carrier",
        response=s.TokenList,
    ),
    Route(
        "DELETE",
        f"{T}/tokens/{{token_id}}",
        revoke_tenant_token,
        "Revoke a tenant token",
        "carrier",
        status=HTTPStatus.NO_CONTENT,
    ),
    Route(
        "POST",
        "/v1/tokens",
        issue_carrier_token,
        "Issue a carrier token (shown once)",
        "carrier",
        s.TokenCreate,
        s.IssuedToken,
        HTTPStatus.CREATED,
    ),
    Route(
        "GET",
        "/v1/tokens",
        list_carrier_tokens,
        "List carrier tokens",
        "carrier",
        response=s.TokenList,
    ),
    Route(
        "DELETE",
        "/v1/tokens/{token_id}",
        revoke_carrier_token,
        "Revoke a carrier token",
        "carrier",
        status=HTTPStatus.NO_CONTENT,
    ),
    Route(
        "POST",
        f"{T}/numbers",
        add_number,
        "Route a phone number to the tenant",
        "carrier",
        s.NumberCreate,
        s.PhoneNumber,
        HTTPStatus.CREATED,
    ),
    Route(
        "GET",
        f"{T}/numbers",
        list_numbers,
        "List the tenant's phone numbers",
        response=s.NumberList,
    ),
    Route(
        "DELETE",
        f"{T}/numbers/{{e164}}",
        delete_number,
        "Stop routing a number to the tenant",
        "carrier",
        status=HTTPStatus.NO_CONTENT,
    ),
    Route(
        "POST",
        f"{T}/extensions",
        create_extension,
        "Create an extension",
        body=s.ExtensionCreate,
        response=s.Extension,
        status=HTTPStatus.CREATED,
    ),
    Route("GET", f"{T}/extensions", list_extensions, "List extensions", response=s.ExtensionList),
    Route(
        "GET",
        f"{T}/extensions/{{number}}",
        get_extension,
        "Read an extension",
        response=s.Extension,
    ),
    Route(
        "PATCH",
        f"{T}/extensions/{{number}}",
        patch_extension,
        "Change an extension",
        body=s.ExtensionPatch,
        response=s.Extension,
    ),
    Route(
        "DELETE",
        f"{T}/extensions/{{number}}",
        delete_extension,
        "Delete an extension nothing uses any more",
        status=HTTPStatus.NO_CONTENT,
    ),
    Route(
        "POST",
        f"{T}/ring-groups",
        create_ring_group,
        "Create a ring group",
        body=s.RingGroupCreate,
        response=s.RingGroup,
        status=HTTPStatus.CREATED,
    ),
    Route(
        "GET", f"{T}/ring-groups", list_ring_groups, "List ring groups", response=s.RingGroupList
    ),
    Route(
        "GET",
        f"{T}/ring-groups/{{number}}",
        get_ring_group,
        "Read a ring group",
        response=s.RingGroup,
    ),
    Route(
        "PATCH",
        f"{T}/ring-groups/{{number}}",
        patch_ring_group,
        "Change a ring group",
        body=s.RingGroupPatch,
        response=s.RingGroup,
    ),
    Route(
        "DELETE",
        f"{T}/ring-groups/{{number}}",
        delete_ring_group,
        "Delete a ring group no key uses",
        status=HTTPStatus.NO_CONTENT,
    ),
    Route(
        "POST",
        f"{T}/conference-rooms",
        create_room,
        "Create a conference room",
        body=s.ConferenceRoomCreate,
        response=s.ConferenceRoom,
        status=HTTPStatus.CREATED,
    ),
    Route(
        "GET",
        f"{T}/conference-rooms",
        list_rooms,
        "List conference rooms",
        response=s.ConferenceRoomList,
    ),
    Route(
        "GET",
        f"{T}/conference-rooms/{{number}}",
        get_room,
        "Read a conference room",
        response=s.ConferenceRoom,
    ),
    Route(
        "PATCH",
        f"{T}/conference-rooms/{{number}}",
        patch_room,
        "Change a conference room",
        body=s.ConferenceRoomPatch,
        response=s.ConferenceRoom,
    ),
    Route(
        "DELETE",
        f"{T}/conference-rooms/{{number}}",
        delete_room,
        "Delete a conference room no key uses",
        status=HTTPStatus.NO_CONTENT,
    ),
    Route(
        "GET",
        f"{T}/receptionist",
        get_receptionist,
        "Read the receptionist's settings (with ETag)",
        response=s.Receptionist,
        etag=True,
    ),
    Route(
        "PATCH",
        f"{T}/receptionist",
        patch_receptionist,
        "Change greeting, dial-extension, timeouts, retries (If-Match)",
        body=s.ReceptionistPatch,
        response=s.Receptionist,
        etag=True,
    ),
    Route(
        "GET",
        f"{T}/receptionist/keys",
        get_keys,
        "All ten keys (with ETag)",
        response=s.KeyList,
        etag=True,
    ),
    Route(
        "PUT",
        f"{T}/receptionist/keys/{{digit}}",
        put_key,
        "Assign a key (If-Match)",
        body=s.KeyAssignment,
        response=s.KeyList,
        etag=True,
    ),
    Route(
        "DELETE",
        f"{T}/receptionist/keys/{{digit}}",
        delete_key,
        "Unassign a key (If-Match)",
        response=s.KeyList,
        etag=True,
    ),
    Route(
        "GET",
        f"{T}/directory",
        get_directory,
        "Every extension's reachability",
        response=s.DirectoryList,
    ),
    Route(
        "PATCH",
        f"{T}/directory",
        patch_directory,
        "Change reachability in bulk, all or nothing",
        body=s.DirectoryPatch,
        response=s.DirectoryList,
    ),
    Route(
        "POST",
        f"{T}/prompts",
        create_prompt,
        "Create a prompt: JSON text to speak, or a multipart upload (field `file`)",
        upload=True,
        body=s.TtsPrompt,
        response=s.Prompt,
        status=HTTPStatus.CREATED,
    ),
    Route("GET", f"{T}/prompts", list_prompts, "List prompts", response=s.PromptList),
    Route("GET", f"{T}/prompts/{{prompt_id}}", get_prompt, "Read a prompt", response=s.Prompt),
    Route(
        "GET",
        f"{T}/prompts/{{prompt_id}}/audio",
        get_prompt_audio,
        "A prompt's audio (8 kHz WAV), rendered first if needed",
        audio=True,
    ),
    Route(
        "GET", f"{T}/voicemail", list_voicemail, "List voicemail messages", response=s.VoicemailList
    ),
    Route(
        "DELETE",
        f"{T}/voicemail/{{message_id}}",
        delete_voicemail,
        "Delete a voicemail message",
        status=HTTPStatus.NO_CONTENT,
    ),
    Route(
        "GET",
        f"{T}/voicemail/{{message_id}}/audio",
        get_voicemail_audio,
        "A voicemail message's recording (8 kHz WAV)",
        audio=True,
    ),
    Route(
        "GET",
        f"{T}/calls",
        list_calls,
        "Call records, newest first",
        response=s.CallList,
        query={
            "since": "ISO 8601 time, inclusive",
            "before": "ISO 8601 time, exclusive",
            "outcome": "one of " + ", ".join(OUTCOMES),
            "limit": "1 to 1000 (100)",
        },
    ),
    Route(
        "GET",
        f"{T}/audit",
        list_audit,
        "The audit log, newest first",
        response=s.AuditList,
        query={"before_id": "for the next page", "limit": "1 to 1000 (100)"},
    ),
    Route(
        "GET",
        f"{T}/export",
        export_tenant,
        "The whole receptionist as one document",
        response=s.TenantExport,
    ),
    Route(
        "POST",
        f"{T}/import",
        import_tenant,
        "Replace the receptionist with a document, atomically",
        body=s.TenantExport,
        response=s.TenantExport,
    ),
]


# --- middleware ----------------------------------------------------------------------------


def _error_response(error: ApiError, request_id: str) -> web.Response:
    body = s.Error(code=error.code, message=error.message, field=error.field, details=error.details)
    return web.Response(
        text=body.model_dump_json(),
        status=error.status,
        content_type="application/json",
        headers={**error.headers, "X-Request-Id": request_id},
    )


def _http_metrics(metrics: Metrics) -> tuple[Counter, Histogram]:
    requests = Counter(
        f"{METRIC_PREFIX}_admin_http_requests_total",
        "Admin API requests.",
        ["route", "method", "status"],
        registry=metrics.registry,
    )
    latency = Histogram(
        f"{METRIC_PREFIX}_admin_http_request_duration_seconds",
        "Admin API latency.",
        ["route", "method"],
        registry=metrics.registry,
        buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
    )
    return requests, latency


def make_middleware(metrics: Metrics) -> Any:
    """Request id, metrics, and the one place where every error becomes a JSON answer."""
    requests, latency = _http_metrics(metrics)

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
        except ApiError as error:
            response = _error_response(error, request_id)
        except web.HTTPRequestEntityTooLarge:
            response = _error_response(
                ApiError(PAYLOAD_TOO_LARGE, "the body is too large"), request_id
            )
        except web.HTTPMethodNotAllowed as error:
            response = _error_response(
                ApiError(
                    METHOD_NOT_ALLOWED,
                    f"{request.method} is not allowed here",
                    headers={"Allow": ",".join(sorted(error.allowed_methods))},
                ),
                request_id,
            )
        except web.HTTPNotFound:
            response = _error_response(
                ApiError(ErrorCode.NOT_FOUND, "no such resource"), request_id
            )
        except Exception as error:
            if database_unreachable(error):  # tokens are checked there too: every route
                log.warning("admin.database_unavailable", route=route, error=repr(error))
                unavailable = ApiError(
                    DATABASE_UNAVAILABLE,
                    "the database cannot be reached; nothing was changed, try again shortly",
                    headers={"Retry-After": str(DATABASE_RETRY_AFTER_S)},
                )
                response = _error_response(unavailable, request_id)
            else:
                log.exception("admin.request_failed", route=route, method=request.method)
                internal = ApiError(ErrorCode.INTERNAL, "internal error")
                response = _error_response(internal, request_id)
        response.headers["X-Request-Id"] = request_id
        requests.labels(route=route, method=request.method, status=str(response.status)).inc()
        latency.labels(route=route, method=request.method).observe(time.perf_counter() - started)
        return response

    return middleware


def _wrap(route: Route) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    async def handle(request: web.Request) -> web.StreamResponse:
        app = request.app
        principal = await authenticate(
            app[POOL_KEY], app[PEPPER_KEY], request.headers.get("Authorization")
        )
        app[LIMITER_KEY].check(principal.token_id)
        call = Call(request, principal, app[SERVICE_KEY])
        if "tenant_id" in request.match_info:
            # Before anything else: another tenant's paths answer 404, whatever follows.
            principal.require_tenant(call.tenant_id)
        if route.scope == "carrier":
            principal.require_carrier()
        return await route.handler(call)

    return handle


def add_routes(app: web.Application) -> None:
    """Wire every route of `ROUTES` into the application."""
    for route in ROUTES:
        app.router.add_route(route.method, route.path, _wrap(route))
