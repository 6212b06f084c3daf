"""The prod overlay runs our images by the digests a release pins (`rcp_ops.release`): the
repository's all-zero placeholders cannot be deployed past the release check, a tag or the
placeholder cannot be pinned, and a pinned overlay renders every container of ours at its
registry path and digest. Offline: kubectl kustomize renders the overlay."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from rcp_devstack.settings import REPO_ROOT
from rcp_ops import release

KUBECTL = Path(sys.executable).parent / "kubectl"
SERVICES = "registry.example.net/rcp/services@sha256:" + "1a" * 32
ASTERISK = "registry.example.net/rcp/asterisk@sha256:" + "2b" * 32


def _images(overlay: Path) -> list[str]:
    rendered = subprocess.run(
        [str(KUBECTL), "kustomize", str(overlay)],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    images = []
    for resource in yaml.safe_load_all(rendered.stdout):
        spec: dict[str, Any] = (resource or {}).get("spec", {})
        pod = spec.get("jobTemplate", {}).get("spec", spec).get("template", {}).get("spec", {})
        for container in pod.get("initContainers", []) + pod.get("containers", []):
            images.append(container["image"])
    return images


def _release(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "rcp_ops.release", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_the_repositorys_placeholder_digests_fail_the_release_check() -> None:
    text = release.OVERLAY.read_text()
    assert set(release.digests(text).values()) == {release.PLACEHOLDER}
    checked = _release("check")
    assert checked.returncode == 1
    assert [line.split()[1] for line in checked.stderr.splitlines()] == list(release.OURS)


def test_a_release_pins_its_images_and_the_overlay_runs_them_by_digest(tmp_path: Path) -> None:
    shutil.copytree(REPO_ROOT / "k8s", tmp_path / "k8s")
    overlay = tmp_path / "k8s" / "overlays" / "prod"
    before = (overlay / "kustomization.yaml").read_text()
    pinned = _release(
        "--overlay",
        overlay / "kustomization.yaml",
        "pin",
        f"receptionist/services={SERVICES}",
        f"receptionist/asterisk={ASTERISK}",
    )
    assert pinned.returncode == 0, pinned.stderr
    after = (overlay / "kustomization.yaml").read_text()
    assert _release("--overlay", overlay / "kustomization.yaml", "check").returncode == 0
    # Only the two entries changed: every comment and every other line is kept.
    assert [line for line in before.splitlines() if "digest:" not in line] == [
        line for line in after.splitlines() if "digest:" not in line and "newName:" not in line
    ]
    ours = [image for image in _images(overlay) if "registry.example.net" in image]
    assert set(ours) == {SERVICES, ASTERISK}
    assert len(ours) > 8  # every service's containers and init containers, Asterisk's too
    assert not [image for image in _images(overlay) if "receptionist/" in image]


@pytest.mark.parametrize(
    ("reference", "why"),
    [
        ("registry.example.net/rcp/services:1.4.0", "not an image by digest"),
        ("registry.example.net/rcp/services", "not an image by digest"),
        ("registry.example.net/rcp/services@sha256:abc", "not an image by digest"),
        (f"registry.example.net/rcp/services@{release.PLACEHOLDER}", "placeholder"),
    ],
)
def test_a_tag_or_the_placeholder_cannot_pin_a_release(reference: str, why: str) -> None:
    text = release.OVERLAY.read_text()
    with pytest.raises(release.ReleaseError, match=why):
        release.pin(text, {"receptionist/services": reference})


def test_an_image_that_is_not_ours_cannot_be_pinned() -> None:
    with pytest.raises(release.ReleaseError, match="not an image of ours"):
        release.pin(release.OVERLAY.read_text(), {"postgres": SERVICES})
