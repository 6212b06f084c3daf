"""Asterisk 22 for the local stack, without Docker.

Debian's stable release has no Asterisk package; its sid suite has Asterisk 22. The stack
builds a sid root folder with debootstrap (once; it is reused), renders the configuration
templates of deploy/asterisk/ into it, and runs Asterisk inside it with chroot. The root
shares the host's network, so ARI on 127.0.0.1 is reachable from the host.
"""

from __future__ import annotations

import base64
import os
import re
import shutil
import subprocess
import urllib.error
import urllib.request
from http import HTTPStatus
from pathlib import Path

from rcp_asterisk import AsteriskValues, carrier_networks, render_folder
from rcp_asterisk.render import rendered_files

from rcp_devstack.processes import StackError, read_pid, run, start_detached, stop_pid, wait_until
from rcp_devstack.settings import REPO_ROOT, StackSettings

TEMPLATES = REPO_ROOT / "deploy" / "asterisk"
# The local stack's own contexts (tests, benchmarks), appended to the production dialplan.
DEV_DIALPLAN = REPO_ROOT / "deploy" / "local" / "asterisk" / "extensions.conf"
SOUNDS = TEMPLATES / "sounds"
# baresip-core: a real SIP phone for the tests of the carrier trunk (tests/sip_support.py).
PACKAGES = "asterisk,asterisk-modules,asterisk-core-sounds-en,ca-certificates,baresip-core"
APT_IN_ROOT = ("apt-get", "-o", "Acquire::Check-Valid-Until=false", "-q", "-y")


def debian_mirror() -> str:
    """The Debian mirror this machine's own apt sources use (never written into the repo)."""
    override = os.environ.get("RCP_DEBIAN_MIRROR")
    if override:
        return override
    candidates: list[str] = []
    sources_dir = Path("/etc/apt/sources.list.d")
    for path in sorted(sources_dir.glob("*.sources")) if sources_dir.exists() else []:
        for block in path.read_text().split("\n\n"):
            uris = re.search(r"^URIs:\s*(\S+)", block, re.MULTILINE)
            suites = re.search(r"^Suites:\s*(.+)$", block, re.MULTILINE)
            if uris and suites and "security" not in suites.group(1):
                candidates.append(uris.group(1))
    legacy = Path("/etc/apt/sources.list")
    if legacy.exists():
        for line in legacy.read_text().splitlines():
            match = re.match(r"^deb\s+(?:\[[^\]]*\]\s+)?(\S+)\s+(\S+)", line.strip())
            if match and "security" not in match.group(2):
                candidates.append(match.group(1))
    for uri in candidates:
        if uri.startswith(("http://", "https://")):
            return uri
    raise StackError("no Debian mirror found in /etc/apt sources; set RCP_DEBIAN_MIRROR")


def ensure_root(settings: StackSettings) -> str:
    """Build the sid root with Asterisk unless it is already there (adding baresip to a root
    built before the tests needed it)."""
    root = settings.asterisk_dir
    if (root / "usr" / "sbin" / "asterisk").exists():
        return f"Asterisk root: reusing {root}" + ensure_baresip(settings)
    if os.geteuid() != 0:
        raise StackError("building the Asterisk root needs root (debootstrap, chroot): use sudo")
    if shutil.which("debootstrap") is None:
        raise StackError("debootstrap is not installed: apt-get install debootstrap")
    partial = root.with_name(root.name + ".partial")
    if partial.exists():
        _unmount_proc(partial)
        shutil.rmtree(partial)
    partial.parent.mkdir(parents=True, exist_ok=True)
    run(
        [
            "debootstrap",
            "--variant=minbase",
            f"--include={PACKAGES}",
            settings.asterisk_suite,
            str(partial),
            debian_mirror(),
        ],
        "debootstrap of the Asterisk root",
        timeout=1800,
    )
    partial.rename(root)
    return f"Asterisk root: built {root} (Debian {settings.asterisk_suite})"


def ensure_baresip(settings: StackSettings) -> str:
    """Install baresip-core in the root if missing (the SIP tests' phone); '' if it was there."""
    root = settings.asterisk_dir
    if (root / "usr" / "bin" / "baresip").exists():
        return ""
    if os.geteuid() != 0:
        raise StackError("installing baresip in the Asterisk root needs root (chroot): use sudo")
    # The sid index served here may carry an expired Release date: apt refuses it otherwise.
    try:
        run(["chroot", str(root), *APT_IN_ROOT, "install", "baresip-core"], "baresip-core")
    except StackError:
        run(["chroot", str(root), *APT_IN_ROOT, "update"], "apt-get update in the Asterisk root")
        run(["chroot", str(root), *APT_IN_ROOT, "install", "baresip-core"], "baresip-core")
    return ", baresip-core installed"


def asterisk_values(settings: StackSettings) -> AsteriskValues:
    """The local stack's settings as the renderer's values (everything on 127.0.0.1)."""
    return AsteriskValues(
        ari_password=settings.ari_password,
        ari_user=settings.ari_user,
        ari_app=settings.ari_app,
        asterisk_http_host="127.0.0.1",
        asterisk_http_port=_ari_port(settings),
        asterisk_sip_host="127.0.0.1",
        asterisk_sip_port=settings.asterisk_sip_port,
        asterisk_rtp_start=settings.asterisk_rtp_start,
        asterisk_rtp_end=settings.asterisk_rtp_end,
        carrier_host=settings.carrier_host,
        carrier_addresses=carrier_networks(settings.carrier_addresses),
        fallback_dial=settings.fallback_dial,
        test_phones_app=settings.test_phones_app,
    )


def rendered(settings: StackSettings) -> dict[str, str]:
    """This checkout's configuration, file name to text, as the local stack renders it."""
    return rendered_files(TEMPLATES, asterisk_values(settings), [DEV_DIALPLAN])


def render_config(settings: StackSettings) -> list[str]:
    """Render deploy/asterisk/*.conf (and the local stack's test contexts) into the root's
    /etc/asterisk; return the names of the files whose content changed (all the first time)."""
    etc = settings.asterisk_dir / "etc" / "asterisk"
    changed = render_folder(TEMPLATES, etc, asterisk_values(settings), [DEV_DIALPLAN])
    render_sounds(settings)
    return changed


def render_sounds(settings: StackSettings) -> None:
    """Speak deploy/asterisk/sounds/*.txt into the root's sounds (when a text is newer)."""
    out = settings.asterisk_dir / "usr" / "share" / "asterisk" / "sounds" / "rcp"
    texts = list(SOUNDS.glob("*.txt"))  # <name>.<lang>.txt -> rcp/<name>-<lang>.wav
    newest = max(text.stat().st_mtime for text in texts)
    rendered = [out / (text.stem.replace(".", "-") + ".wav") for text in texts]
    if all(wav.exists() and wav.stat().st_mtime >= newest for wav in rendered):
        return
    run(
        ["sh", str(SOUNDS / "render.sh"), str(out.parent)],
        "rendering Asterisk's fallback prompts (espeak-ng, sox)",
    )


def _ari_port(settings: StackSettings) -> int:
    match = re.match(r"^https?://[^/:]+:(\d+)", settings.ari_url)
    return int(match.group(1)) if match else 8088


def ari_answers(settings: StackSettings) -> bool:
    """Whether ARI answers with our credentials."""
    token = base64.b64encode(f"{settings.ari_user}:{settings.ari_password}".encode()).decode()
    request = urllib.request.Request(  # noqa: S310 - a fixed http:// URL on loopback
        f"{settings.ari_url}/ari/asterisk/info", headers={"Authorization": f"Basic {token}"}
    )
    try:
        with urllib.request.urlopen(request, timeout=2) as response:  # noqa: S310
            return bool(response.status == HTTPStatus.OK)
    except (urllib.error.URLError, OSError):
        return False


def _mount_proc(root: Path) -> None:
    proc = root / "proc"
    if not os.path.ismount(proc):
        proc.mkdir(exist_ok=True)
        run(["mount", "-t", "proc", "proc", str(proc)], "mounting /proc in the Asterisk root")


def _unmount_proc(root: Path) -> None:
    proc = root / "proc"
    if os.path.ismount(proc):
        run(["umount", "-l", str(proc)], "unmounting /proc in the Asterisk root")


def _prepare_dirs(root: Path) -> None:
    # Without the recording folder every ARI record fails with HTTP 500.
    for folder in (
        "var/spool/asterisk/recording",
        "var/log/asterisk",
        "run/asterisk",
        "var/lib/asterisk",
    ):
        (root / folder).mkdir(parents=True, exist_ok=True)
    run(
        [
            "chroot",
            str(root),
            "chown",
            "-R",
            "asterisk:asterisk",
            "/var/spool/asterisk",
            "/var/log/asterisk",
            "/run/asterisk",
            "/var/lib/asterisk",
        ],
        "giving Asterisk its folders",
    )


def remove_call_detail_records(root: Path) -> list[Path]:
    """Delete the call detail records an Asterisk of before kept in its root (CSV files with
    every caller's number, never deleted); cdr.conf now keeps none. Return what went."""
    gone = []
    for folder in ("cdr-csv", "cdr-custom"):
        for record in sorted((root / "var" / "log" / "asterisk" / folder).glob("*.csv")):
            record.unlink()
            gone.append(record)
    return gone


def ensure_asterisk(settings: StackSettings) -> str:
    """Start Asterisk in its root (or reload the running one if its configuration changed);
    wait until ARI answers."""
    root = settings.asterisk_dir
    changed = render_config(settings)
    remove_call_detail_records(root)
    pid_file = settings.run_dir / "asterisk.pid"
    pid = read_pid(pid_file)
    if pid is not None:
        # Not reloaded for nothing: each reload of Asterisk 22 leaves one more internal
        # subscription behind (`stasis/p:manager:core`), which every later event then visits.
        if changed:
            run(["chroot", str(root), "asterisk", "-rx", "core reload"], "reloading Asterisk")
        wait_until(
            lambda: ari_answers(settings), 30, "Asterisk ARI", settings.run_dir / "asterisk.log"
        )
        state = f"{', '.join(changed)} changed, reloaded" if changed else "configuration unchanged"
        return f"Asterisk: running (pid {pid}), {state}; ARI at {settings.ari_url}"
    if os.geteuid() != 0:
        raise StackError("running Asterisk in its root needs root (chroot): use sudo")
    settings.run_dir.mkdir(parents=True, exist_ok=True)
    _mount_proc(root)
    _prepare_dirs(root)
    log_file = settings.run_dir / "asterisk.log"
    start_detached(
        ["chroot", str(root), "asterisk", "-f", "-n", "-U", "asterisk", "-G", "asterisk"],
        pid_file,
        log_file,
    )
    wait_until(lambda: ari_answers(settings), 90, "Asterisk ARI", log_file)
    return f"Asterisk 22: started in {root}; ARI at {settings.ari_url}"


def asterisk_cli(settings: StackSettings, command: str) -> str:
    """Run an Asterisk CLI command on the running Asterisk."""
    return run(
        ["chroot", str(settings.asterisk_dir), "asterisk", "-rx", command],
        f"asterisk -rx {command!r}",
    )


# How each file is reloaded on a running Asterisk.
RELOADS = {
    "extensions.conf": "dialplan reload",
    "pjsip.conf": "module reload res_pjsip.so",
    "logger.conf": "logger reload",
}


def ensure_dialplan(
    settings: StackSettings,
    contexts: tuple[str, ...],
    files: tuple[str, ...] = ("extensions.conf",),
) -> bool:
    """Render and reload `files` (the dialplan, by default) if the running Asterisk's differ
    from this checkout's (another checkout sharing it may have rendered its own) or the
    dialplan lacks one of `contexts`; True if reloaded."""
    etc = settings.asterisk_dir / "etc" / "asterisk"
    wanted = rendered(settings)
    stale = [
        name
        for name in files
        if not (etc / name).exists() or (etc / name).read_text() != wanted[name]
    ]
    missing = [
        context
        for context in contexts
        if f"Context '{context}'" not in asterisk_cli(settings, f"dialplan show {context}")
    ]
    if missing and "extensions.conf" not in stale:
        stale.append("extensions.conf")
    if not stale:
        return False
    render_config(settings)
    for name in stale:
        asterisk_cli(settings, RELOADS[name])
    return True


def stop_asterisk(settings: StackSettings) -> str:
    """Stop Asterisk now (calls are cut: this is the developer's stack) and unmount /proc."""
    pid_file = settings.run_dir / "asterisk.pid"
    pid = read_pid(pid_file)
    if pid is None:
        _unmount_proc(settings.asterisk_dir)
        return "Asterisk: not running"
    try:
        asterisk_cli(settings, "core stop now")
    except StackError:
        stop_pid(pid)
    wait_until(lambda: read_pid(pid_file) is None, 30, "Asterisk to stop", None)
    pid_file.unlink(missing_ok=True)
    _unmount_proc(settings.asterisk_dir)
    return "Asterisk: stopped"


PRIVATE_DIRS = ("var/lib", "var/spool", "run", "var/log", "var/cache")


class PrivateAsterisk:
    """A second Asterisk in the same root, with a configuration, ports and folders of its own:
    for the tests that restart Asterisk, which must never do that to the shared one.

    It reads the root's /etc/asterisk (copied, then this checkout's templates rendered over
    it) from /etc/asterisk-<name>, keeps its database, spool (recordings), control socket,
    logs and media cache in folders named after it, and listens on the ports of `settings`
    (ARI from its `ari_url`, SIP, RTP).
    """

    def __init__(self, settings: StackSettings, name: str, log_file: Path) -> None:
        self.settings = settings
        self.name = name
        self.log_file = log_file
        self.root = settings.asterisk_dir
        self.etc = f"/etc/asterisk-{name}"
        self.process: subprocess.Popen[bytes] | None = None

    def _inside(self, path: str) -> Path:
        return self.root / path.lstrip("/")

    def prepare(self) -> None:
        """Write its configuration and make its folders (as root)."""
        etc = self._inside(self.etc)
        shutil.copytree(self._inside("/etc/asterisk"), etc, dirs_exist_ok=True)
        for name, text in rendered(self.settings).items():
            (etc / name).write_text(text)
        folders = {
            "astetcdir": self.etc,
            "astdbdir": f"/var/lib/asterisk-{self.name}",
            "astspooldir": f"/var/spool/asterisk-{self.name}",
            "astrundir": f"/run/asterisk-{self.name}",
            "astlogdir": f"/var/log/asterisk-{self.name}",
            "astcachedir": f"/var/cache/asterisk-{self.name}",
        }
        lines = [f"{key} => {value}" for key, value in folders.items()]
        (etc / "asterisk.conf").write_text(
            "; Written by rcp_devstack.asterisk.PrivateAsterisk.\n[directories]\n"
            + "\n".join(lines)
            + "\nastmoddir => /usr/lib/x86_64-linux-gnu/asterisk/modules\n"
            "astvarlibdir => /var/lib/asterisk\nastkeydir => /var/lib/asterisk\n"
            "astdatadir => /usr/share/asterisk\nastagidir => /usr/share/asterisk/agi-bin\n"
            "astsbindir => /usr/sbin\n[options]\n"
        )
        owned = list(folders.values())  # its configuration too: copied, it is root's
        owned.append(f"{folders['astspooldir']}/recording")
        for folder in owned:
            self._inside(folder).mkdir(parents=True, exist_ok=True)
        run(["chroot", str(self.root), "chown", "-R", "asterisk:asterisk", *owned], "chown")

    def start(self) -> None:
        """Start it (return at once; `ready` says when ARI answers)."""
        _mount_proc(self.root)
        with self.log_file.open("ab") as log:
            self.process = subprocess.Popen(
                [
                    "chroot",
                    str(self.root),
                    "asterisk",
                    "-C",
                    f"{self.etc}/asterisk.conf",
                    "-f",
                    "-n",
                    "-U",
                    "asterisk",
                    "-G",
                    "asterisk",
                ],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    def answers(self) -> bool:
        """Whether its ARI answers."""
        return ari_answers(self.settings)

    def stop(self, timeout_s: float = 30.0) -> None:
        """Stop it (SIGTERM, then SIGKILL); every call on it is cut."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def remove(self) -> None:
        """Delete its configuration and folders (once stopped)."""
        shutil.rmtree(self._inside(self.etc), ignore_errors=True)
        for folder in PRIVATE_DIRS:
            shutil.rmtree(self._inside(f"/{folder}/asterisk-{self.name}"), ignore_errors=True)
