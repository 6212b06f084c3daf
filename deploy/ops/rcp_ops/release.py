"""Pinning a release's images in the prod overlay, and refusing to deploy without them.

    python -m rcp_ops.release pin receptionist/services=REGISTRY/services@sha256:<digest> \\
                                  receptionist/asterisk=REGISTRY/asterisk@sha256:<digest>
    python -m rcp_ops.release check       exit 1 while an image of ours has no real digest

The prod overlay (`k8s/overlays/prod/kustomization.yaml`) names our two images by digest,
never by tag; the repository holds all-zero placeholder digests, which no registry serves,
because the digest exists only once a release has built and pushed the image. A release
(the job that builds `deploy/compose/Dockerfile` and `deploy/compose/asterisk/Dockerfile` and
pushes them) runs `pin` with the digests the registry answered, then `check`, then applies
the overlay (docs/operations.md). `pin` edits only the `images:` entries, comments kept.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Callable
from pathlib import Path

OVERLAY = Path(__file__).resolve().parents[3] / "k8s" / "overlays" / "prod" / "kustomization.yaml"
OURS = ("receptionist/services", "receptionist/asterisk")
PLACEHOLDER = "sha256:" + "0" * 64
REFERENCE = re.compile(r"(?P<name>[a-z0-9][a-z0-9._/:-]*?)@(?P<digest>sha256:[0-9a-f]{64})")


class ReleaseError(ValueError):
    """A reference that cannot pin a release (a tag, the placeholder, an image not ours)."""


def _entry(name: str) -> re.Pattern[str]:
    """An entry of the overlay's `images:` list: its `- name:` line and its indented body."""
    return re.compile(rf"^(?P<head>  - name: {re.escape(name)}\n)(?P<body>(?:    .*\n)*)", re.M)


def digests(text: str) -> dict[str, str]:
    """Each image of ours and the digest the overlay gives it ('' if none)."""
    found = {}
    for name in OURS:
        entry = _entry(name).search(text)
        digest = re.search(r"^    digest: (\S+)$", entry["body"], re.M) if entry else None
        found[name] = digest.group(1) if digest else ""
    return found


def unpinned(text: str) -> list[str]:
    """The images of ours without a real digest (missing, or the placeholder)."""
    return [
        name
        for name, digest in digests(text).items()
        if not re.fullmatch(r"sha256:[0-9a-f]{64}", digest) or digest == PLACEHOLDER
    ]


def _replaced_by(body: str) -> Callable[[re.Match[str]], str]:
    def replace(entry: re.Match[str]) -> str:
        return entry["head"] + body

    return replace


def pin(text: str, references: dict[str, str]) -> str:
    """The overlay with each image of ours in `references` (name -> `registry/path@sha256:...`)
    run from that registry path at that digest."""
    for name, reference in references.items():
        if name not in OURS:
            raise ReleaseError(f"{name}: not an image of ours ({', '.join(OURS)})")
        parsed = REFERENCE.fullmatch(reference)
        if parsed is None:
            raise ReleaseError(f"{name}: {reference!r} is not an image by digest (name@sha256:...)")
        if parsed["digest"] == PLACEHOLDER:
            raise ReleaseError(f"{name}: the all-zero digest is the repository's placeholder")
        body = f"    newName: {parsed['name']}\n    digest: {parsed['digest']}\n"
        text, count = _entry(name).subn(_replaced_by(body), text)
        if count != 1:
            raise ReleaseError(f"{name}: no entry of its own under images: in the overlay")
    return text


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m rcp_ops.release",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--overlay", type=Path, default=OVERLAY)
    commands = parser.add_subparsers(dest="command", required=True)
    pinning = commands.add_parser("pin", help="set the digests of a release's images")
    pinning.add_argument("images", nargs="+", metavar="NAME=REFERENCE@sha256:DIGEST")
    commands.add_parser("check", help="exit 1 while an image of ours has no real digest")
    args = parser.parse_args(argv)
    text = args.overlay.read_text()
    if args.command == "pin":
        references = dict(image.partition("=")[::2] for image in args.images)
        try:
            args.overlay.write_text(pin(text, references))
        except ReleaseError as error:
            print(f"rcp_ops.release: {error}", file=sys.stderr)
            return 2
        return 0
    missing = unpinned(text)
    for name in missing:
        print(
            f"rcp_ops.release: {name} has no release digest in {args.overlay} "
            "(run: python -m rcp_ops.release pin NAME=REGISTRY/PATH@sha256:DIGEST)",
            file=sys.stderr,
        )
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main())
