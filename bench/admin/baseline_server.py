"""The benchmark's baseline: a trivial aiohttp handler answering a small JSON body."""

from __future__ import annotations

import sys

from aiohttp import web


async def handler(_: web.Request) -> web.Response:
    return web.json_response({"items": [{"digit": str(d), "assigned": False} for d in range(10)]})


def main() -> None:
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handler)
    web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), print=None, access_log=None)


if __name__ == "__main__":
    main()
