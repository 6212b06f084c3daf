"""The committed web manager build: made from the committed sources, shipped, and served."""

from __future__ import annotations

import hashlib
import json
import re
import tomllib
from fnmatch import fnmatch

from admin_support import Admin
from rcp_admin.web import DIST, load_assets
from rcp_devstack.settings import REPO_ROOT

WEB = REPO_ROOT / "web"
# The same files, hashed the same way, as web/vite.config.ts when it writes source-hash.txt.
TOP_FILES = ["index.html", "package.json", "package-lock.json", "tsconfig.json", "vite.config.ts"]


def source_hash() -> str:
    names = sorted(
        [
            *TOP_FILES,
            *(p.relative_to(WEB).as_posix() for p in (WEB / "src").rglob("*") if p.is_file()),
        ]
    )
    digest = hashlib.sha256()
    for name in names:
        digest.update(f"{name}\0".encode())
        digest.update((WEB / name).read_bytes())
        digest.update(b"\0")
    return digest.hexdigest()


def referenced_assets(index: str) -> list[str]:
    return re.findall(r'(?:src|href)="/assets/([^"]+)"', index)


def test_committed_build_was_made_from_the_committed_sources() -> None:
    stamp = (DIST / "source-hash.txt").read_text().strip()
    assert stamp == source_hash(), (
        "web/ changed since the last build: run `npm ci && npm run build` in web/ and commit "
        "services/admin/rcp_admin/web_dist/"
    )


def test_index_references_only_assets_that_exist_and_every_asset_is_used() -> None:
    index, assets = load_assets()
    assert index is not None
    referenced = referenced_assets(index.decode())
    assert any(name.endswith(".js") for name in referenced)
    assert any(name.endswith(".css") for name in referenced)
    assert sorted(referenced) == sorted(assets)


def test_package_data_ships_every_built_file() -> None:
    pyproject = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())
    patterns = pyproject["tool"]["setuptools"]["package-data"]["rcp_admin"]
    package = DIST.parent
    built = [p.relative_to(package).as_posix() for p in DIST.rglob("*") if p.is_file()]
    assert built
    assert [name for name in built if not any(fnmatch(name, g) for g in patterns)] == []


def test_lockfile_names_no_registry_host() -> None:
    lock = json.loads((WEB / "package-lock.json").read_text())
    resolved = [
        package["resolved"]
        for package in lock["packages"].values()
        if "://" in package.get("resolved", "")
    ]
    assert resolved == []


async def test_admin_serves_the_manager_and_its_assets_with_cache_and_security_headers(
    admin: Admin,
) -> None:
    session, base = admin.carrier.session, admin.carrier.base
    async with session.get(f"{base}/") as response:
        assert response.status == 200
        assert response.content_type == "text/html"
        assert response.headers["Cache-Control"] == "no-cache"
        assert "default-src 'self'" in response.headers["Content-Security-Policy"]
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        index = await response.text()
    for name in referenced_assets(index):
        async with session.get(f"{base}/assets/{name}") as response:
            assert response.status == 200, name
            assert response.content_type in {
                "text/javascript",
                "application/javascript",
                "text/css",
            }
            assert "immutable" in response.headers["Cache-Control"]
            assert await response.read() == (DIST / "assets" / name).read_bytes()
    for missing in ("nope.js", "..%2Findex.html", "..%2F..%2Fweb.py"):
        async with session.get(f"{base}/assets/{missing}") as response:
            assert response.status == 404
            assert (await response.json())["code"] == "not_found"
