"""The admin API finds the route of a request as aiohttp's own router does.

The resources under a tenant's root are looked up by the shape of the path
(`rcp_admin.routing.TenantResources`) instead of aiohttp trying them one by one: for every
operation of the API, every method, and paths no operation has, both must find the same
route, or answer the same 404, or the same 405 listing the same methods.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import make_mocked_request
from rcp_admin.resources import ROUTES
from rcp_admin.routing import TENANT, Route, TenantResources, _wrap, add_routes

TENANT_ID = "6f1c1f0e-4b6e-4a8e-9d59-1e2a3b4c5d6e"
METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE")


def aiohttp_only(routes: list[Route]) -> web.Application:
    """The same routes wired the way aiohttp alone would."""
    app = web.Application()
    for route in routes:
        app.router.add_route(route.method, route.path, _wrap(route))
    return app


def ours(routes: list[Route]) -> web.Application:
    app = web.Application()
    add_routes(app, routes)
    return app


def requested_paths() -> list[str]:
    """A path of each operation with its variables filled in, each also one segment shorter
    and longer, with a trailing slash, and with the word after the tenant's id changed."""
    paths = set()
    for route in ROUTES:
        path = re.sub(r"\{[^}]+\}", lambda m: TENANT_ID if "tenant" in m[0] else "7", route.path)
        paths |= {path, path.rsplit("/", 1)[0], f"{path}/8", f"{path}/"}
        parts = path.split("/")
        if len(parts) > 4:
            paths.add("/".join([*parts[:4], "nothing", *parts[5:]]))
    return sorted(paths)


async def found(app: web.Application, method: str, path: str) -> tuple[Any, ...]:
    match = await app.router.resolve(make_mocked_request(method, path, app=app))
    error = match.http_exception
    if error is not None:
        allowed: set[str] = getattr(error, "allowed_methods", set())
        return ("error", error.status, tuple(sorted(allowed)))
    resource = match.route.resource
    return ("route", match.route.method, resource and resource.canonical, dict(match))


async def test_every_request_finds_what_aiohttps_own_router_finds() -> None:
    expected, actual = aiohttp_only(ROUTES), ours(ROUTES)
    compared = 0
    for path in requested_paths():
        for method in METHODS:
            assert await found(actual, method, path) == await found(expected, method, path), (
                method,
                path,
            )
            compared += 1
    assert compared > 1000  # every operation, with its neighbours


async def test_the_tenant_routes_are_looked_up_through_one_resource() -> None:
    app = ours(ROUTES)
    held = [r for r in app.router.resources() if isinstance(r, TenantResources)]
    assert len(held) == 1
    assert len(held[0]) == sum(1 for route in ROUTES if route.path.startswith(TENANT))
    assert len(app.router.routes()) == len(ROUTES)


def test_a_tenant_route_whose_next_segment_is_a_variable_is_refused() -> None:
    routes = TenantResources(TENANT)
    with pytest.raises(ValueError, match="a word must follow"):
        routes.holds(TENANT + "/{thing}/sub")
