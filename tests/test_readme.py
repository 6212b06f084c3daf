"""The README documents every setting and the two commands CI and users rely on."""

from __future__ import annotations

from pathlib import Path

from rcp_admin.settings import Settings as AdminSettings
from rcp_devstack.settings import REPO_ROOT, StackSettings
from rcp_directory.settings import Settings as DirectorySettings
from rcp_media.settings import Settings as MediaSettings
from rcp_stasis.settings import Settings as StasisSettings

README = (REPO_ROOT / "README.md").read_text()


def test_every_setting_has_its_environment_variable_in_the_readme() -> None:
    fields = (
        set(StackSettings.model_fields)
        | set(AdminSettings.model_fields)
        | set(MediaSettings.model_fields)
        | set(DirectorySettings.model_fields)
        | set(StasisSettings.model_fields)
    )
    missing = sorted(
        f"RCP_{name.upper()}" for name in fields if f"RCP_{name.upper()}" not in README
    )
    assert missing == []


def test_ci_runs_the_readme_test_command() -> None:
    assert "\n./rcp test " in README
    assert "\n./rcp up " in README
    assert "./rcp test" in Path(REPO_ROOT / ".ci" / "run").read_text()
