"""The web manager: the front-end built from `web/` and shipped in this package, served as is.

The pages call only the public `/v1` API with the token the user signs in with; this module
serves files and nothing else. Built asset names carry a content hash, so they are cached for
good; the index is revalidated on every load so that a new build is picked up at once.
"""

from __future__ import annotations

import mimetypes
from dataclasses import dataclass
from pathlib import Path

from aiohttp import web

DIST = Path(__file__).parent / "web_dist"
INDEX = "index.html"

# The pages load only their own files and call only this origin.
CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "media-src 'self' blob:",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}
NOT_BUILT = """<!doctype html><html lang="en"><meta charset="utf-8"><title>Receptionist</title>
<p>The web manager is not built in this installation. From a clone of the repository:
<code>cd web &amp;&amp; npm ci &amp;&amp; npm run build</code>. The REST API is at
<a href="/docs">/docs</a>.</p></html>"""


@dataclass(frozen=True)
class Asset:
    """One built file, read once when the service starts."""

    body: bytes
    content_type: str


def load_assets(dist: Path = DIST) -> tuple[bytes | None, dict[str, Asset]]:
    """The index page and the files under assets/, by name (only these can ever be served)."""
    index = dist / INDEX
    folder = dist / "assets"
    assets: dict[str, Asset] = {}
    if folder.is_dir():
        for path in sorted(folder.iterdir()):
            if path.is_file():
                content_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
                assets[path.name] = Asset(path.read_bytes(), content_type)
    return (index.read_bytes() if index.is_file() else None), assets


def add_web_routes(app: web.Application, dist: Path = DIST) -> None:
    """Serve the web manager at `/` and its files at `/assets/{name}`."""
    index, assets = load_assets(dist)

    async def page(_: web.Request) -> web.Response:
        if index is None:
            return web.Response(
                text=NOT_BUILT, content_type="text/html", status=503, headers=SECURITY_HEADERS
            )
        return web.Response(
            body=index,
            content_type="text/html",
            charset="utf-8",
            headers={**SECURITY_HEADERS, "Cache-Control": "no-cache"},
        )

    async def asset(request: web.Request) -> web.Response:
        found = assets.get(request.match_info["name"])
        if found is None:
            raise web.HTTPNotFound
        return web.Response(
            body=found.body,
            content_type=found.content_type,
            headers={
                **SECURITY_HEADERS,
                "Cache-Control": "public, max-age=31536000, immutable",
            },
        )

    app.router.add_get("/", page)
    app.router.add_get("/assets/{name}", asset)
