"""The browser the web manager's tests drive can start: every shared library it links is there.

A minimal Debian lacks some of them (Playwright's bundled Node.js links libatomic), and a
missing one shows up only as a browser that will not start; ./rcp installs them all.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from playwright._impl._driver import compute_driver_executable

CHROMIUM_DIR = Path("/usr/lib/chromium")


def _is_elf(path: Path) -> bool:
    with path.open("rb") as file:
        return file.read(4) == b"\x7fELF"


def _binaries() -> list[Path]:
    node, _cli = compute_driver_executable()
    found = [Path(node), CHROMIUM_DIR / "chromium", CHROMIUM_DIR / "chrome_crashpad_handler"]
    found += sorted(p for p in CHROMIUM_DIR.glob("*.so*") if p.is_file() and _is_elf(p))
    return found


@pytest.mark.parametrize("binary", _binaries(), ids=lambda path: path.name)
def test_every_shared_library_of_the_browser_and_its_driver_is_installed(binary: Path) -> None:
    assert binary.is_file(), f"{binary} is missing: ./rcp installs Chromium and Playwright"
    linked = subprocess.run(
        ["/usr/bin/ldd", str(binary)], capture_output=True, text=True, timeout=60, check=True
    ).stdout
    missing = [line.strip() for line in linked.splitlines() if "not found" in line]
    assert missing == [], f"{binary} links libraries this machine lacks: {missing}"
