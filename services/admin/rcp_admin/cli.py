"""`receptionist`: the operator's command line, on the same logic as the REST API.

    receptionist migrate [REVISION]
    receptionist tenant create --slug SLUG --name NAME [--locale fr-FR] [--timezone Europe/Paris]
    receptionist tenant list
    receptionist token issue --name NAME [--tenant SLUG]
    receptionist extensions import --tenant SLUG FILE.csv
    receptionist device list --tenant SLUG
    receptionist device add --tenant SLUG --name NAME --endpoint PJSIP/ENDPOINT
    receptionist device change --tenant SLUG NAME [--name NEW] [--endpoint PJSIP/ENDPOINT]
    receptionist device remove --tenant SLUG NAME
    receptionist export --tenant SLUG [--output FILE]
    receptionist import --tenant SLUG FILE
    receptionist retention apply [--every SECONDS]
    receptionist user add --email EMAIL --role ROLE [--tenant SLUG] [--name NAME]
                          [--language fr|en]
    receptionist user invite --email EMAIL --role ROLE [--tenant SLUG] [--name NAME]
                             [--language fr|en]
    receptionist user list [--tenant SLUG]
    receptionist number list [--prefix +3319]
    receptionist number route E164 --tenant SLUG
    receptionist number move E164 --to SLUG
    receptionist number release E164

Every change is audited under the name `cli:<user>` and announced on NATS like an API
change. `retention apply` deletes the call records and voicemail older than each tenant's
retention (audited as `retention job`), once or every SECONDS until stopped (SIGTERM).
`user add` makes a person who can sign in at once, with a password printed this once (without
`--tenant`: one of the carrier's staff, e.g. its first operator); `user invite` emails them an
invitation through the SMTP relay instead.
Settings come from the same RCP_* environment variables as the services.

Other installed packages may add commands through the entry point group
`receptionist.commands` (the local stack adds `receptionist demo`); see `Command`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import csv
import getpass
import io
import json
import signal
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any, Protocol, TextIO
from uuid import UUID

import aiohttp
import asyncpg
from pydantic import ValidationError
from rcp.db.migrate import upgrade
from rcp.db.pool import create_pool
from rcp.db.scope import Scope, ScopedPool
from rcp.mail import SmtpSender
from rcp.messaging import connect_nats
from rcp.settings import refuse_unfit_for_production
from rcp.telemetry import Metrics
from rcp.vocabulary import UserLanguage, UserRole
from tqdm import tqdm

from rcp_admin import schemas as s
from rcp_admin.app import build_store
from rcp_admin.auth import Principal
from rcp_admin.errors import ApiError
from rcp_admin.media import NatsMediaGateway
from rcp_admin.passwords import generated_password
from rcp_admin.resources import (
    devices,
    export,
    extensions,
    numbers,
    retention,
    tenants,
    tokens,
    users,
)
from rcp_admin.resources.extensions import EXTENSIONS
from rcp_admin.routing import validation_error
from rcp_admin.settings import CliSettings, Settings
from rcp_admin.unit_of_work import Store

CSV_COLUMNS = extensions.COLUMNS  # one column per field of an extension
TRUE = {"1", "true", "yes", "y", "oui", "o", "vrai", "x"}
FALSE = {"0", "false", "no", "n", "non", "faux", ""}


class CliError(Exception):
    """A problem to report in one line, with exit status 1."""


@dataclass
class RowError:
    """Why one CSV row was not imported."""

    line: int
    field: str | None
    message: str

    def __str__(self) -> str:
        where = f" ({self.field})" if self.field else ""
        return f"line {self.line}{where}: {self.message}"


@dataclass
class ImportReport:
    """What a CSV import did: rows kept, rows refused and why."""

    imported: int = 0
    errors: list[RowError] = field(default_factory=list)


def parse_bool(value: str, name: str) -> bool:
    """CSV booleans as spreadsheets write them, in English and French."""
    folded = value.strip().lower()
    if folded in TRUE:
        return True
    if folded in FALSE:
        return False
    raise ValueError(f"{name} must be yes or no (or true/false, oui/non, 1/0), not {value!r}")


def read_extension_rows(text: str) -> Iterable[tuple[int, dict[str, Any] | RowError]]:
    """Each data row of an extensions CSV (comma, semicolon or tab separated), or its error."""
    text = text.removeprefix("\ufeff")
    sample = text[:4096]
    try:
        dialect: Any = csv.Sniffer().sniff(
            sample.splitlines()[0] if sample else "", delimiters=",;\t"
        )
    except csv.Error:
        dialect = csv.excel
    reader = csv.DictReader(io.StringIO(text), dialect=dialect)
    header = [name.strip() for name in reader.fieldnames or []]
    unknown = [name for name in header if name not in CSV_COLUMNS]
    missing = [name for name in ("number", "kind") if name not in header]
    if unknown or missing:
        problems = ([f"unknown column(s) {', '.join(unknown)}"] if unknown else []) + (
            [f"missing column(s) {', '.join(missing)}"] if missing else []
        )
        if "dial_string" in unknown:
            problems.append(
                "extensions ring a device now, never a dial string: name one of the tenant's "
                "devices in a device column (receptionist device list --tenant SLUG)"
            )
        raise CliError(f"header: {'; '.join(problems)}; columns are {', '.join(CSV_COLUMNS)}")
    reader.fieldnames = header
    for row in reader:
        try:
            yield reader.line_num, _row_values(row)
        except ValueError as error:
            yield reader.line_num, RowError(reader.line_num, None, str(error))


BOOLEAN_COLUMNS = ("voicemail_enabled", "reachable_by_extension", "reachable_by_name")
OPTIONAL_COLUMNS = ("device", "external_number", "voicemail_email")


def _row_values(row: dict[str | None, Any]) -> dict[str, Any]:
    """One CSV row's fields; empty optional cells are left out so that defaults apply."""
    if None in row:
        raise ValueError("more values than columns")
    values: dict[str, Any] = {}
    for name, raw in row.items():
        value = (raw or "").strip()
        if name in BOOLEAN_COLUMNS:
            if value:
                values[str(name)] = parse_bool(value, str(name))
        elif name not in OPTIONAL_COLUMNS or value:
            values[str(name)] = value
    return values


async def import_extensions(
    store: Store, actor: Principal, tenant_id: UUID, text: str, progress: TextIO | None
) -> ImportReport:
    """Create one extension per CSV row; good rows are kept, bad rows reported."""
    rows = list(read_extension_rows(text))
    report = ImportReport()
    for line, parsed in tqdm(
        rows, desc="extensions", unit="row", file=progress, disable=progress is None
    ):
        if isinstance(parsed, RowError):
            report.errors.append(parsed)
            continue
        try:
            body = s.ExtensionCreate.model_validate(parsed)
            await EXTENSIONS.create(store, actor, tenant_id, body, None)
        except ValidationError as error:
            problem = validation_error(error)
            report.errors.append(RowError(line, problem.field, problem.message))
        except ApiError as error:
            report.errors.append(RowError(line, error.field, error.message))
        else:
            report.imported += 1
    return report


async def _device(store: Store, actor: Principal, args: argparse.Namespace, out: TextIO) -> None:
    """List, add, change or remove a tenant's devices."""
    tenant_id = await tenant_by_slug(store.pool, args.tenant)
    if args.action == "list":
        for device in (await devices.list_all(store, actor, tenant_id)).items:
            used = ", ".join(device.extensions) or "-"
            print(f"{device.name:<24} {device.endpoint:<40} {used}", file=out)
        return
    if args.action == "remove":
        await devices.delete(store, actor, tenant_id, args.device, None)
        print(f"device {args.device} removed", file=out)
        return
    if args.action == "add":
        body = s.DeviceCreate(name=args.name, endpoint=args.endpoint)
        made = await devices.create(store, actor, tenant_id, body, None)
    else:
        changes = {k: v for k, v in (("name", args.name), ("endpoint", args.endpoint)) if v}
        made = await devices.update(
            store, actor, tenant_id, args.device, s.DevicePatch(**changes), None
        )
    print(made.model_dump_json(indent=2), file=out)


async def _user(store: Store, actor: Principal, args: argparse.Namespace, out: TextIO) -> None:
    """People: listed, added with a password shown once, or invited by email."""
    tenant_id = None if args.tenant is None else await tenant_by_slug(store.pool, args.tenant)
    if args.action == "list":
        for user in (await users.list_all(store, actor, tenant_id)).items:
            print(
                f"{user.id}  {user.email:<40} {user.role:<9} {user.status:<8} {user.name}", file=out
            )
        return
    body = s.UserCreate(email=args.email, name=args.name, role=args.role, language=args.language)
    if args.action == "add":
        password = generated_password()
        made = await users.create_with_password(store, actor, tenant_id, body, password)
        print(f"{made.email} ({made.role}) can sign in with this password, shown once:", file=out)
        print(password, file=out)
        return
    invited = await users.invite(store, actor, tenant_id, body, None)
    if invited.invitation.sent:
        print(
            f"{invited.email}: invitation sent (works until {invited.invitation.expires_at})",
            file=out,
        )
    else:
        raise CliError(
            f"{invited.email}: user made, invitation not sent: {invited.invitation.problem}"
        )


@asynccontextmanager
async def admin_store(settings: Settings) -> AsyncIterator[Store]:
    """The same store the API uses, with config-changed published on NATS (and the media
    service asked to forget the audio of what is deleted)."""
    metrics = Metrics("admin-cli")
    async with (
        create_pool(settings, "receptionist-cli") as pool,
        connect_nats(settings, "receptionist-cli", metrics) as nats,
        aiohttp.ClientSession() as http,
    ):
        # The operator on the host acts for the carrier: every tenant's rows.
        yield build_store(
            settings,
            pool,
            nats,
            metrics,
            Scope.carrier(),
            NatsMediaGateway(nats, http, settings.media_nats_scope),
            SmtpSender(settings) if settings.mail_enabled else None,
        )


async def _retention(store: Store, every_s: float | None, out: TextIO, err: TextIO) -> int:
    """Apply every tenant's retention once, or every `every_s` seconds until SIGTERM."""
    stop = asyncio.Event()
    if every_s is not None:
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stop.set)
    while True:
        try:
            expired = await retention.apply(store)
        except (asyncpg.PostgresError, OSError, ApiError) as error:
            if every_s is None:
                raise
            print(f"receptionist: retention: {error!r}; next round in {every_s:g} s", file=err)
        else:
            records = sum(e.call_records for e in expired)
            messages = sum(e.voicemail for e in expired)
            for one in expired:
                print(
                    f"{one.tenant_id}: {one.call_records} call record(s), "
                    f"{one.voicemail} voicemail message(s) deleted",
                    file=out,
                )
            print(
                f"retention applied: {records} call record(s) and {messages} voicemail "
                f"message(s) deleted, in {len(expired)} tenant(s)",
                file=out,
                flush=True,
            )
        if every_s is None:
            return 0
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(every_s):  # not wait_for: 3.11's swallows a cancel
                await stop.wait()
        if stop.is_set():
            return 0


async def _maintain(args: argparse.Namespace, settings: Settings, out: TextIO, err: TextIO) -> int:
    """The schema's migrations, or the retention job."""
    if args.command == "migrate":
        await asyncio.to_thread(upgrade, settings.database_url, args.revision)
        return 0
    async with admin_store(settings) as store:
        return await _retention(store, args.every, out, err)


async def _number(store: Store, actor: Principal, args: argparse.Namespace, out: TextIO) -> None:
    """Phone numbers: listed, routed to a tenant, moved to another, released."""
    if args.action == "list":
        for routed in (await numbers.list_routed(store, actor, args.prefix)).items:
            print(f"{routed.e164:<16} {routed.tenant_slug:<24} {routed.tenant_name}", file=out)
        return
    if args.action == "route":
        tenant_id = await tenant_by_slug(store.pool, args.tenant)
        body = s.NumberCreate(e164=args.e164)
        await numbers.add(store, actor, tenant_id, body, None)
        print(f"{args.e164} routed to {args.tenant}", file=out)
        return
    owner: UUID | None = await store.pool.fetchval(
        "SELECT tenant_id FROM phone_numbers WHERE e164 = $1", args.e164
    )
    if owner is None:
        raise CliError(f"{args.e164} is routed to no tenant")
    if args.action == "move":
        moved = await numbers.move(
            store, actor, args.e164, await tenant_by_slug(store.pool, args.to), None
        )
        print(f"{moved.e164} moved to {moved.tenant_slug}", file=out)
        return
    await numbers.remove(store, actor, owner, args.e164, None)
    print(f"{args.e164} released", file=out)


# Commands carried out by a function of their own.
BY_COMMAND: dict[str, Callable[[Store, Principal, argparse.Namespace, TextIO], Awaitable[None]]] = {
    "device": _device,
    "number": _number,
    "user": _user,
}


async def tenant_by_slug(pool: ScopedPool, slug: str) -> UUID:
    """A tenant's id from its slug (or its id)."""
    found: UUID | None = await pool.fetchval(
        "SELECT id FROM tenants WHERE slug = $1 OR id::text = $1", slug
    )
    if found is None:
        raise CliError(f"no tenant {slug!r}")
    return found


async def run(args: argparse.Namespace, settings: Settings, out: TextIO, err: TextIO) -> int:
    """Carry out one parsed command; return the exit status."""
    actor = Principal(token_id=None, name=f"cli:{getpass.getuser()}", tenant_id=None)
    if args.command in ("migrate", "retention"):
        return await _maintain(args, settings, out, err)
    async with admin_store(settings) as store:
        pool = store.pool
        if args.command == "tenant" and args.action == "create":
            tenant = await tenants.create(
                store,
                actor,
                s.TenantCreate(
                    slug=args.slug, name=args.name, locale=args.locale, timezone=args.timezone
                ),
                None,
            )
            print(tenant.model_dump_json(indent=2), file=out)
        elif args.command == "tenant":
            for tenant in (await tenants.list_all(store, actor)).items:
                print(f"{tenant.id}  {tenant.slug:<24} {tenant.status:<9} {tenant.name}", file=out)
        elif args.command == "token":
            tenant_id = None if args.tenant is None else await tenant_by_slug(pool, args.tenant)
            issued = await tokens.issue(
                store, actor, tenant_id, s.TokenCreate(name=args.name), None
            )
            print(issued.token, file=out)
        elif (handler := BY_COMMAND.get(args.command)) is not None:
            await handler(store, actor, args, out)
        elif args.command == "extensions":
            tenant_id = await tenant_by_slug(pool, args.tenant)
            report = await import_extensions(
                store,
                actor,
                tenant_id,
                await asyncio.to_thread(Path(args.file).read_text, "utf-8"),
                err,
            )
            print(
                f"{report.imported} extension(s) imported, {len(report.errors)} row(s) refused",
                file=out,
            )
            for problem in report.errors:
                print(f"  {problem}", file=out)
            return 1 if report.errors else 0
        elif args.command == "export":
            document = await export.export(store, actor, await tenant_by_slug(pool, args.tenant))
            text = document.model_dump_json(indent=2, exclude_none=True)
            if args.output:
                await asyncio.to_thread(Path(args.output).write_text, text + "\n", "utf-8")
            else:
                print(text, file=out)
        else:
            tenant_id = await tenant_by_slug(pool, args.tenant)
            document = s.TenantExport.model_validate(
                json.loads(await asyncio.to_thread(Path(args.file).read_text, "utf-8"))
            )
            await export.import_(store, actor, tenant_id, document, None)
            print(f"imported into {args.tenant}", file=out)
    return 0


def _people_and_numbers(commands: Any) -> None:
    """The grammar of `user` and `number`."""
    user = commands.add_parser("user", help="list, add or invite people who sign in")
    user_actions = user.add_subparsers(dest="action", required=True)
    user_list = user_actions.add_parser("list")
    user_list.add_argument("--tenant", help="slug (default: the carrier's staff)")
    for action, text in (
        ("add", "a person who signs in at once: the password is printed once"),
        ("invite", "a person invited by email to choose a password"),
    ):
        one = user_actions.add_parser(action, help=text)
        one.add_argument("--email", required=True)
        one.add_argument(
            "--role",
            required=True,
            choices=[r.value for r in UserRole],
            help="a tenant's admin, editor or viewer; the carrier's operator or support",
        )
        one.add_argument("--tenant", help="slug (default: one of the carrier's staff)")
        one.add_argument("--name", default="")
        one.add_argument("--language", default="fr", choices=[v.value for v in UserLanguage])
    number = commands.add_parser("number", help="list, route, move or release phone numbers")
    number_actions = number.add_subparsers(dest="action", required=True)
    number_actions.add_parser("list").add_argument("--prefix", default="")
    route = number_actions.add_parser("route", help="route a number to a tenant")
    route.add_argument("e164")
    route.add_argument("--tenant", required=True)
    moving = number_actions.add_parser("move", help="move a number to another tenant")
    moving.add_argument("e164")
    moving.add_argument("--to", required=True, help="the slug of the tenant it goes to")
    number_actions.add_parser("release", help="stop routing a number").add_argument("e164")


def parser() -> argparse.ArgumentParser:
    """The command line's grammar."""
    root = argparse.ArgumentParser(
        prog="receptionist",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = root.add_subparsers(dest="command", required=True)
    migrate = commands.add_parser("migrate", help="bring the schema up to date")
    migrate.add_argument("revision", nargs="?", default="head")
    tenant = commands.add_parser("tenant", help="create or list tenants")
    tenant_actions = tenant.add_subparsers(dest="action", required=True)
    create = tenant_actions.add_parser("create")
    create.add_argument("--slug", required=True)
    create.add_argument("--name", required=True)
    create.add_argument("--locale", default="fr-FR")
    create.add_argument("--timezone", default="Europe/Paris")
    tenant_actions.add_parser("list")
    token = commands.add_parser("token", help="issue an admin token (shown once)")
    token.add_argument("action", choices=["issue"])
    token.add_argument("--name", required=True)
    token.add_argument("--tenant", help="slug: a token for this tenant only (default: carrier)")
    _people_and_numbers(commands)
    extensions = commands.add_parser("extensions", help="import extensions from CSV")
    extensions.add_argument("action", choices=["import"])
    extensions.add_argument("--tenant", required=True)
    extensions.add_argument("file")
    device = commands.add_parser("device", help="list or provision a tenant's devices")
    device_actions = device.add_subparsers(dest="action", required=True)
    for action in ("list", "add", "change", "remove"):
        one = device_actions.add_parser(action)
        one.add_argument("--tenant", required=True)
        if action in ("change", "remove"):
            one.add_argument("device", help="the device's name")
        if action in ("add", "change"):
            one.add_argument("--name", required=action == "add")
            one.add_argument("--endpoint", required=action == "add", help="PJSIP/<endpoint>")
    export = commands.add_parser("export", help="write a tenant's receptionist as JSON")
    export.add_argument("--tenant", required=True)
    export.add_argument("--output")
    restore = commands.add_parser(
        "import", help="replace a tenant's receptionist from JSON, atomically"
    )
    restore.add_argument("--tenant", required=True)
    restore.add_argument("file")
    retention_command = commands.add_parser(
        "retention",
        help="delete call records and voicemail older than each tenant's retention",
    )
    retention_command.add_argument("action", choices=["apply"])
    retention_command.add_argument(
        "--every",
        type=float,
        metavar="SECONDS",
        help="apply it again every SECONDS until stopped (the local stack's schedule)",
    )
    for name, command in plugged_commands().items():
        command.add_arguments(commands.add_parser(name, help=command.help))
    return root


class Command(Protocol):
    """A command another package adds to `receptionist` (entry point group below)."""

    help: str

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        """Declare the command's arguments."""

    def run(self, args: argparse.Namespace) -> int:
        """Carry the command out, printing its problems as `receptionist: NAME: ...`."""


COMMANDS_GROUP = "receptionist.commands"


def plugged_commands() -> dict[str, Command]:
    """The commands installed packages add, by name (loaded only when the CLI starts)."""
    return {entry.name: entry.load() for entry in entry_points(group=COMMANDS_GROUP)}


def main(argv: list[str] | None = None) -> int:
    """Entry point of `receptionist`."""
    args = parser().parse_args(argv)
    plugged = plugged_commands().get(args.command)
    if plugged is not None:
        return plugged.run(args)
    try:
        settings = CliSettings()
        refuse_unfit_for_production(settings, "receptionist")
        return asyncio.run(run(args, settings, sys.stdout, sys.stderr))
    except ValidationError as error:
        problem = validation_error(error)
        print(f"receptionist: {problem.message} ({problem.field})", file=sys.stderr)
    except ApiError as error:
        where = f" ({error.field})" if error.field else ""
        print(f"receptionist: {error.message}{where}", file=sys.stderr)
    except (CliError, OSError, json.JSONDecodeError) as error:
        print(f"receptionist: {error}", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
