"""The OpenAPI 3.1 document and a human docs page, generated from the route table."""

from __future__ import annotations

import html
import re
from http import HTTPStatus
from typing import Any

from pydantic import TypeAdapter
from pydantic.json_schema import models_json_schema

from rcp_admin import schemas as s
from rcp_admin.resources import ROUTES
from rcp_admin.routing import Route

REF = "#/components/schemas/{model}"

# Which errors each kind of route can answer, and why.
COMMON_ERRORS = {
    HTTPStatus.UNAUTHORIZED: "No token or session, or an unknown, revoked or expired one",
    HTTPStatus.FORBIDDEN: "The caller's tenant is suspended (tenant_suspended); a change made "
    "with a session cookie lacks its CSRF token (csrf_failed); the person's role may only "
    "read (read_only) or is not the tenant's admin",
    HTTPStatus.TOO_MANY_REQUESTS: "Too many requests for this token, or too many failed "
    "authentications from this address (see Retry-After)",
    HTTPStatus.SERVICE_UNAVAILABLE: "The database cannot be reached (code "
    "database_unavailable): nothing was changed; try again after Retry-After seconds",
}


def _schemas() -> tuple[dict[type[Any], str], dict[str, Any]]:
    models = {route.response for route in ROUTES if route.response is not None}
    models |= {route.body for route in ROUTES if isinstance(route.body, type)}
    models.add(s.Error)
    ordered = sorted(models, key=lambda model: model.__name__)
    mapping, top = models_json_schema(
        [
            (
                model,
                "serialization"
                if model in {r.response for r in ROUTES} | {s.Error}
                else "validation",
            )
            for model in ordered
        ],
        ref_template=REF,
    )
    refs = {model: mapping[(model, mode)]["$ref"] for (model, mode) in mapping}
    components: dict[str, Any] = dict(top.get("$defs", {}))
    key_schema = TypeAdapter(s.KeyAssignment).json_schema(ref_template=REF)
    components.update(key_schema.pop("$defs", {}))
    components["KeyAssignment"] = key_schema
    return refs, components


def _parameters(route: Route) -> list[dict[str, Any]]:
    parameters = [
        {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
        for name in re.findall(r"{(\w+)}", route.path)
    ]
    parameters += [
        {
            "name": name,
            "in": "query",
            "required": False,
            "description": text,
            "schema": {"type": "string"},
        }
        for name, text in route.query.items()
    ]
    if route.etag and route.method != "GET":
        parameters.append(
            {
                "name": "If-Match",
                "in": "header",
                "required": False,
                "description": "The ETag you read; a stale one answers 412",
                "schema": {"type": "string"},
            }
        )
    return parameters


UPLOAD_SCHEMA = {
    "type": "object",
    "required": ["file"],
    "properties": {
        "file": {
            "type": "string",
            "format": "binary",
            "description": "WAV, MP3, OGG/Opus, FLAC or M4A",
        }
    },
}


def _success(route: Route, refs: dict[type[Any], str]) -> dict[str, Any]:
    success: dict[str, Any] = {"description": HTTPStatus(route.status).phrase}
    if route.response is not None:
        success["content"] = {"application/json": {"schema": {"$ref": refs[route.response]}}}
    if route.audio:
        success["content"] = {"audio/wav": {"schema": {"type": "string", "format": "binary"}}}
    if route.csv:
        success["content"] = {"text/csv": {"schema": {"type": "string"}}}
    if route.archive and route.method == "GET":
        success["content"]["application/zip"] = {"schema": {"type": "string", "format": "binary"}}
    if route.etag:
        success["headers"] = {"ETag": {"schema": {"type": "string"}}}
    return success


def _failures(route: Route) -> dict[HTTPStatus, str]:
    """Which errors a route can answer, and why."""
    failures = dict(COMMON_ERRORS)
    if route.scope == "public":
        failures = {
            HTTPStatus.TOO_MANY_REQUESTS: "Too many failures from this address or for this "
            "account (see Retry-After)",
            HTTPStatus.SERVICE_UNAVAILABLE: COMMON_ERRORS[HTTPStatus.SERVICE_UNAVAILABLE],
        }
        if route.path == "/v1/session":
            failures[HTTPStatus.UNAUTHORIZED] = "The email or the password is wrong"
            failures[HTTPStatus.FORBIDDEN] = "The account is disabled, or its tenant suspended"
        if route.path.startswith("/v1/links/"):
            failures[HTTPStatus.GONE] = "The link was used or has expired (link_invalid)"
    if route.scope != "public" and (route.path != "/v1/tenants" or route.method == "POST"):
        failures[HTTPStatus.NOT_FOUND] = "No such resource, or another tenant's"
    if route.scope == "carrier":
        failures[HTTPStatus.FORBIDDEN] = (
            "Needs a carrier token (or the token's tenant is suspended: tenant_suspended)"
        )
    if route.body is not None:
        failures[HTTPStatus.BAD_REQUEST] = "The body is not JSON"
        failures[HTTPStatus.REQUEST_ENTITY_TOO_LARGE] = "The body is too large"
        failures[HTTPStatus.UNSUPPORTED_MEDIA_TYPE] = "The body is not application/json"
    if route.body is not None or route.query or "{digit}" in route.path:
        failures[HTTPStatus.UNPROCESSABLE_ENTITY] = "Something is invalid: `field` names it"
    if route.method in ("POST", "PATCH", "PUT", "DELETE"):
        failures[HTTPStatus.CONFLICT] = "The number is used, or the thing is still in use"
        failures[HTTPStatus.UNPROCESSABLE_ENTITY] = "Something is invalid: `field` names it"
    if route.etag and route.method != "GET":
        failures[HTTPStatus.PRECONDITION_FAILED] = "If-Match does not match: reload first"
    if route.audio or route.upload or route.archive:
        failures[HTTPStatus.SERVICE_UNAVAILABLE] = "The media service does not answer"
    if route.audio:
        failures[HTTPStatus.GONE] = "The stored audio file is lost (media_lost)"
    return failures


def _operation(route: Route, refs: dict[type[Any], str]) -> dict[str, Any]:
    error = {"content": {"application/json": {"schema": {"$ref": REF.format(model="Error")}}}}
    responses = {str(int(route.status)): _success(route, refs)}
    for status, text in _failures(route).items():
        responses[str(int(status))] = {"description": text, **error}
    operation: dict[str, Any] = {
        "summary": route.summary,
        "operationId": f"{route.method.lower()}_{route.handler.__name__}",
        "parameters": _parameters(route),
        "responses": responses,
        "security": [] if route.scope == "public" else [{"bearer": []}, {"session": []}],
    }
    if route.body is not None:
        ref = refs[route.body] if route.body in refs else REF.format(model="KeyAssignment")
        content: dict[str, Any] = {"application/json": {"schema": {"$ref": ref}}}
        if route.upload:
            content["multipart/form-data"] = {"schema": UPLOAD_SCHEMA}
        if route.archive:
            content["application/zip"] = {"schema": {"type": "string", "format": "binary"}}
        operation["requestBody"] = {"required": True, "content": content}
    return operation


def openapi_document() -> dict[str, Any]:
    """The whole API as OpenAPI 3.1."""
    refs, components = _schemas()
    paths: dict[str, Any] = {}
    for route in ROUTES:
        paths.setdefault(route.path, {})[route.method.lower()] = _operation(route, refs)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Receptionist admin API",
            "version": "1.0.0",
            "description": (
                "Configure tenants' virtual receptionists: keys, extensions, ring groups, "
                "conference rooms, prompts, directory; read voicemail, calls and audit."
            ),
        },
        "servers": [{"url": "/"}],
        "paths": paths,
        "components": {
            "schemas": components,
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer"},
                "session": {
                    "type": "apiKey",
                    "in": "cookie",
                    "name": "rcp_session",
                    "description": "A person's session (POST /v1/session); every change "
                    "also sends the session's CSRF token in X-CSRF-Token",
                },
            },
        },
    }


def docs_page() -> str:
    """A self-contained HTML page listing every operation (no external assets)."""
    rows = "\n".join(
        f"<tr><td><code>{route.method}</code></td><td><code>{html.escape(route.path)}</code></td>"
        f"<td>{html.escape(route.summary)}</td><td>{route.scope}</td></tr>"
        for route in ROUTES
    )
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Receptionist admin API</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>body{{font-family:system-ui,sans-serif;margin:2rem;max-width:70rem}}
table{{border-collapse:collapse;width:100%}}
td,th{{border-bottom:1px solid #ddd;padding:.4rem;text-align:left}}
code{{font-size:.95em}}</style></head><body>
<h1>Receptionist admin API</h1>
<p>JSON over HTTP. Send <code>Authorization: Bearer &lt;token&gt;</code> with every request,
or sign in as a person (<code>POST /v1/session</code>): the session cookie then goes with every
request, and every change also sends the session's CSRF token in <code>X-CSRF-Token</code>.
A person's role (admin, editor, viewer; the carrier's operator or support) limits what they
may change. A carrier token reaches every tenant; a tenant token reaches its own tenant only
(other tenants' resources answer 404). Errors answer
<code>{{"code", "message", "field"}}</code>. Reads of the receptionist and its keys carry an
<code>ETag</code>; send it back in <code>If-Match</code> when you write, and a stale one
answers 412. The machine-readable description is <a href="/openapi.json">/openapi.json</a>
(OpenAPI 3.1).</p>
<table><thead><tr><th>Method</th><th>Path</th><th>What it does</th><th>Token</th></tr></thead>
<tbody>
{rows}
</tbody></table></body></html>"""
