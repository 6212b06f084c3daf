"""Package edges: the product (libs/rcp, services/*) never imports the tooling around it.

Every import of every product module is read with `ast` (those inside functions too), so an
import that only runs on one path is caught as surely as one at the top of a file.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TOOLING = {"rcp_devstack", "rcp_ops", "bench", "tests"}
SERVICES = {path.name for path in ROOT.glob("services/*/rcp_*") if path.is_dir()}


def product_packages() -> dict[str, Path]:
    """Each product package by name: the shared library and every service."""
    packages = {"rcp": ROOT / "libs" / "rcp"}
    packages |= {path.name: path for path in ROOT.glob("services/*/rcp_*") if path.is_dir()}
    return packages


def imported(path: Path) -> Iterator[tuple[int, str]]:
    """The top-level package of each absolute import in a module, with its line."""
    for node in ast.walk(ast.parse(path.read_text("utf-8"), str(path))):
        if isinstance(node, ast.Import):
            yield from ((node.lineno, alias.name.split(".")[0]) for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.lineno, node.module.split(".")[0]


def edges() -> list[str]:
    """Every import from a product package into a package it must not use."""
    found = []
    for package, folder in product_packages().items():
        forbidden = TOOLING | (SERVICES - {package})
        for path in sorted(folder.rglob("*.py")):
            for line, target in imported(path):
                if target in forbidden:
                    found.append(f"{path.relative_to(ROOT)}:{line} imports {target}")
    return found


def test_there_are_product_modules_to_read() -> None:
    assert {"rcp", "rcp_admin", "rcp_directory", "rcp_media", "rcp_stasis"} <= set(
        product_packages()
    )
    assert sum(1 for _ in (ROOT / "services").rglob("*.py")) > 50


def test_the_product_imports_neither_the_tooling_nor_another_service() -> None:
    assert edges() == []


def test_an_import_inside_a_function_is_seen(tmp_path: Path) -> None:
    module = tmp_path / "module.py"
    module.write_text("def f():\n    from rcp_devstack import demo\n    import bench.calls\n")
    assert list(imported(module)) == [(2, "rcp_devstack"), (3, "bench")]
