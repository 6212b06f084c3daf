"""rcp-stack: bring the local stack up, stop it, show it, call it.

rcp-stack up          PostgreSQL, NATS (JetStream), Asterisk 22, migrations, services,
                      the demo tenant, and a demo call
rcp-stack infra       only what the tests need: PostgreSQL, NATS, Asterisk, migrations
rcp-stack down        stop everything this stack started
rcp-stack status      what runs, and where
rcp-stack demo-call   place the demo call again
rcp-stack token       issue an admin token (carrier scope, or --tenant SLUG)
"""

from __future__ import annotations

import argparse
import asyncio
import sys

from rcp.db.migrate import upgrade
from rcp.db.pool import create_pool

from rcp_devstack import asterisk, demo, natsserver, postgres, roles, services
from rcp_devstack.processes import StackError, read_pid
from rcp_devstack.settings import StackSettings


def _say(line: str) -> None:
    print(f"  {line}", flush=True)


def _infra(settings: StackSettings) -> None:
    settings.state_dir.mkdir(parents=True, exist_ok=True)
    settings.run_dir.mkdir(parents=True, exist_ok=True)
    print("Receptionist local stack", flush=True)
    _say(postgres.ensure_postgres(settings))
    _say(natsserver.ensure_nats(settings))
    _say(asterisk.ensure_root(settings))
    _say(asterisk.ensure_asterisk(settings))
    upgrade(settings.database_url, configure_logging=False)
    _say("Schema: migrated to the latest revision (alembic head)")
    roles.ensure_logins_sync(settings.database_url, settings.database_services_password)
    _say("Database roles: each service logs in as its own (rcp_admin, rcp_stasis, ...)")


async def _token(settings: StackSettings, name: str | None, tenant: str | None) -> str:
    async with create_pool(settings, "rcp-stack") as pool:
        return await demo.issue_admin_token(
            pool, settings.token_pepper, name or "rcp-stack", tenant
        )


async def _first_operator(settings: StackSettings) -> str | None:
    async with create_pool(settings, "rcp-stack") as pool:
        return await demo.ensure_first_operator(pool)


def _up(settings: StackSettings) -> None:
    _infra(settings)
    for line in services.start_services(settings):
        _say(line)
    specs = list(demo.DEMOS.values())
    for spec, seeded in zip(specs, asyncio.run(demo.seed_demos(settings, specs)), strict=True):
        _say(
            f"Demo tenant '{spec.slug}' ({spec.locale}, {seeded.tenant_id}) answers on {seeded.number}"
        )
    print("Demo tenant's keys, read through the admin API", flush=True)
    for line in asyncio.run(demo.demo_keys_through_api(settings, services.ADMIN_API)):
        _say(line)
    demo.run_demo(settings, list(demo.DEMOS))  # what `receptionist demo` does
    _status(settings)
    password = asyncio.run(_first_operator(settings))
    if password is not None:
        print(
            f"Carrier operator: {demo.FIRST_OPERATOR}, password {password} (shown once; sign "
            f"in at {services.ADMIN_API}/)",
            flush=True,
        )
    else:
        print(
            "Carrier operator: made by an earlier ./rcp up (another: .venv/bin/receptionist "
            "user add --role operator --email ...)",
            flush=True,
        )
    print("Admin token: ./rcp token                 (carrier scope, shown once)", flush=True)
    print("             ./rcp token --tenant demo   (the demo tenant's admin only)", flush=True)
    print("Stop it all: ./rcp down", flush=True)


def _status(settings: StackSettings) -> None:
    print("Where things listen", flush=True)
    db = settings.database_url.split("@")[-1]
    _say(f"PostgreSQL   {db}   up: {postgres.answers(settings.database_url)}")
    _say(
        f"NATS         {settings.nats_url}   monitor http://127.0.0.1:{settings.nats_monitor_port}"
    )
    _say(
        f"Asterisk ARI {settings.ari_url}/ari (user {settings.ari_user})   "
        f"up: {asterisk.ari_answers(settings)}"
    )
    _say(
        f"SIP (carrier trunk) udp 127.0.0.1:{settings.asterisk_sip_port}, "
        f"RTP {settings.asterisk_rtp_start}-{settings.asterisk_rtp_end}"
    )
    for name, port in services.SERVICES.items():
        pid = read_pid(settings.run_dir / f"{name}.pid")
        state = (
            "not running"
            if pid is None
            else ", ".join(
                f"{check}: {result}" for check, result in services.readiness(port).items()
            )
        )
        _say(f"{name:<12} ops http://127.0.0.1:{port}   {state}")
    for name, command in services.SCHEDULED.items():
        pid = read_pid(settings.run_dir / f"{name}.pid")
        state = "not running" if pid is None else f"every {command[-1]} s (pid {pid})"
        _say(f"{name:<12} {' '.join(command[:3])}   {state}")
    _say(f"Admin API    {services.ADMIN_API}/v1   (OpenAPI /openapi.json, docs /docs)")
    _say(f"Logs: {settings.run_dir}")


def _down(settings: StackSettings) -> None:
    print("Stopping the Receptionist local stack", flush=True)
    for line in services.stop_services(settings):
        _say(line)
    _say(asterisk.stop_asterisk(settings))
    _say(natsserver.stop_nats(settings))
    _say(postgres.stop_postgres(settings))


def main(argv: list[str] | None = None) -> int:
    """Entry point of rcp-stack."""
    parser = argparse.ArgumentParser(
        prog="rcp-stack", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = parser.add_subparsers(dest="command", required=True)
    for name in ("up", "infra", "down", "services-down", "status", "demo-call"):
        sub.add_parser(name)
    token = sub.add_parser("token")
    token.add_argument(
        "--tenant", default=None, help="a tenant's slug: a token for that tenant only"
    )
    token.add_argument("--name", default=None, help="what the token is for (shown in lists)")
    args = parser.parse_args(argv)
    settings = StackSettings()
    try:
        if args.command == "up":
            _up(settings)
        elif args.command == "infra":
            _infra(settings)
        elif args.command == "down":
            _down(settings)
        elif args.command == "services-down":
            for line in services.stop_services(settings):
                _say(line)
        elif args.command == "status":
            _status(settings)
        elif args.command == "demo-call":
            demo.run_demo(settings, list(demo.DEMOS))
        else:
            print(asyncio.run(_token(settings, args.name, args.tenant)))
    except (StackError, LookupError) as error:
        print(f"rcp-stack {args.command}: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
