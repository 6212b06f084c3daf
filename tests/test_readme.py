"""The README and the reference it links: every setting documented, every page reachable.

The README is the way in; the reference lives in `docs/`, each page linked from the README.
"""

from __future__ import annotations

import re
from pathlib import Path

from rcp_admin.settings import Settings as AdminSettings
from rcp_devstack.settings import REPO_ROOT, StackSettings
from rcp_directory.settings import Settings as DirectorySettings
from rcp_media.settings import Settings as MediaSettings
from rcp_stasis.settings import Settings as StasisSettings

README = (REPO_ROOT / "README.md").read_text()
DOCS = REPO_ROOT / "docs"
CONFIGURATION = (DOCS / "configuration.md").read_text()


def test_every_setting_has_its_environment_variable_in_the_configuration_reference() -> None:
    fields = (
        set(StackSettings.model_fields)
        | set(AdminSettings.model_fields)
        | set(MediaSettings.model_fields)
        | set(DirectorySettings.model_fields)
        | set(StasisSettings.model_fields)
    )
    missing = sorted(
        f"RCP_{name.upper()}" for name in fields if f"RCP_{name.upper()}" not in CONFIGURATION
    )
    assert missing == []


def test_ci_runs_the_readme_test_command() -> None:
    assert "\n./rcp test " in README
    assert "\n./rcp up " in README
    assert "./rcp test" in Path(REPO_ROOT / ".ci" / "run").read_text()


def test_the_readme_links_every_reference_page_and_every_link_leads_somewhere() -> None:
    pages = {path.relative_to(REPO_ROOT).as_posix() for path in DOCS.glob("*.md")}
    linked = set(re.findall(r"\]\((docs/[^)#]+)", README))
    assert pages == linked
    for page in DOCS.glob("*.md"):
        for target in re.findall(r"\]\(([^)#:]+)(?:#[^)]*)?\)", page.read_text()):
            assert (page.parent / target).exists(), f"{page.name} links to missing {target}"


def test_the_repository_cites_nothing_outside_itself() -> None:
    skipped = {".git", ".venv", "node_modules", "__pycache__", "web_dist", "screenshots"}
    sources = [
        path
        for path in REPO_ROOT.rglob("*")
        if path.suffix in {".py", ".md", ".ts", ".tsx", ".yaml", ".yml", ".conf", ".toml"}
        and not skipped & set(path.relative_to(REPO_ROOT).parts)
        and path != Path(__file__).resolve()
    ]
    outside = re.compile(r"\.\./shared/|/work/shared|shared/notes")
    assert len(sources) > 100
    assert [p.name for p in sources if outside.search(p.read_text("utf-8"))] == []
