"""Serving prompts to Asterisk over HTTP, the way its media cache wants them.

`GET /media/v1/<tenant>/<key>-<signature>.<wav|wav16>`: the URL names the content (a new
text or file is a new URL), so it is cached for a year as immutable; the `ETag` lets Asterisk
revalidate with `If-None-Match` (answered 304) and ranges are served. The extension at the end
of the path is what Asterisk picks the format by (res_http_media_cache.c looks at the URL's
tail first, then the Content-Type). A wrong signature, another tenant's key or an unknown one
are all a plain 404, so that nothing can be enumerated.

A recording (a voicemail message: personal data, never played to callers) is served only at
`<key>-<expires>-<signature>`, a URL that stops working at `expires` (Unix seconds, signed
with the rest) and that nothing may keep (`no-store`).
"""

from __future__ import annotations

import time
import uuid
from http import HTTPStatus

from aiohttp import hdrs, web

from rcp_media.keys import AudioFormat, UrlSigner
from rcp_media.metrics import MediaMetrics
from rcp_media.service import MediaService

CACHE_CONTROL = "public, max-age=31536000, immutable"
EXPIRING_CACHE_CONTROL = "private, no-store"
_SERVED = (HTTPStatus.OK, HTTPStatus.PARTIAL_CONTENT)

TENANT = "/media/v1/{tenant:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}}"
ROUTE = TENANT + "/{key:[0-9a-f]{64}}-{signature:[0-9a-f]{32}}.{extension:wav16|wav}"
EXPIRING_ROUTE = (
    TENANT + "/{key:[0-9a-f]{64}}-{expires:[0-9]{1,12}}-{signature:[0-9a-f]{32}}"
    ".{extension:wav16|wav}"
)


def media_app(service: MediaService, signer: UrlSigner, metrics: MediaMetrics) -> web.Application:
    """The aiohttp application serving media files."""

    async def fetch(request: web.Request) -> web.StreamResponse:
        info = request.match_info
        tenant_id = uuid.UUID(info["tenant"])
        expires = int(info["expires"]) if "expires" in info else None
        if not signer.verify(tenant_id, info["key"], info["signature"], expires):
            raise web.HTTPNotFound
        if expires is not None and expires <= time.time():
            raise web.HTTPNotFound
        audio_format = AudioFormat(info["extension"])
        path = await service.file_for(
            info["key"], tenant_id, audio_format, expiring=expires is not None
        )
        if path is None:
            raise web.HTTPNotFound
        # FileResponse answers If-None-Match (304), Range (206) and sets ETag/Last-Modified.
        return web.FileResponse(
            path,
            headers={
                hdrs.CACHE_CONTROL: CACHE_CONTROL if expires is None else EXPIRING_CACHE_CONTROL,
                hdrs.CONTENT_TYPE: audio_format.content_type,
            },
        )

    async def count(request: web.Request, response: web.StreamResponse) -> None:
        if response.status >= HTTPStatus.BAD_REQUEST:
            # A failure must not be cached as if it were the immutable file.
            response.headers.pop(hdrs.CACHE_CONTROL, None)
        metrics.http_requests.labels(method=request.method, status=str(response.status)).inc()
        if (
            request.method == hdrs.METH_GET
            and response.status in _SERVED
            and response.content_length is not None
        ):
            metrics.served_bytes.inc(response.content_length)

    app = web.Application()
    app.router.add_get(ROUTE, fetch)
    app.router.add_get(EXPIRING_ROUTE, fetch)
    app.on_response_prepare.append(count)
    return app
