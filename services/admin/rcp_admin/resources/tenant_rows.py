"""Settings a tenant has one row of at most, with defaults without it: the carrier's outbound
policy and call limits of the tenant, the tenant's retention.

Each is a `TenantRow` subclass: its entity name, table, columns, path, wire models and
summaries, how its row becomes its model and how new values are checked. Reading, changing
(upserted, audited and announced) and going back to the defaults (the row deleted), their
handlers and their routes are written once, here.
"""

from __future__ import annotations

from http import HTTPStatus
from typing import TYPE_CHECKING, Any, ClassVar
from uuid import UUID

import asyncpg
from aiohttp import web
from pydantic import BaseModel

from rcp_admin.auth import Principal
from rcp_admin.errors import VALIDATION_FAILED, ApiError
from rcp_admin.routing import TENANT, Call, Handler, Route, Scope, answer, no_content
from rcp_admin.unit_of_work import Reader, Store, jsonable

if TYPE_CHECKING:
    from rcp_admin.unit_of_work import Connection


class TenantRow:
    """One kind of settings row of a tenant, and its operations."""

    entity: ClassVar[str]  # in the audit log and config-changed: outbound_policy
    table: ClassVar[str]  # outbound_policies
    columns: ClassVar[tuple[str, ...]]  # what a patch may change
    path: ClassVar[str]  # under the tenant: /outbound-policy
    # The wire models: patch body, one.
    models: ClassVar[tuple[type[BaseModel], type[BaseModel]]]
    # What its read, change and reset do, in the API's documentation (no reset: None).
    summaries: ClassVar[tuple[str, str, str | None]]
    carrier_writes: ClassVar[bool] = True  # only the carrier changes it (a tenant token reads)

    @property
    def select(self) -> str:
        """The query of the tenant's row ($1: the tenant)."""
        return (
            f"SELECT {', '.join(self.columns)}, updated_at FROM {self.table} WHERE tenant_id = $1"
        )

    async def to_model(self, reader: Reader, tenant_id: UUID) -> Any:
        """The tenant's row (or the defaults without one) as the API shows it."""
        raise NotImplementedError

    def check(self, tenant: asyncpg.Record, values: dict[str, Any]) -> None:
        """Refuse values that do not make a valid row (ValueError, saying why)."""

    async def read(self, store: Store, actor: Principal, tenant_id: UUID) -> Any:
        """The tenant's row, or the defaults."""
        async with store.tenant_read(actor, tenant_id) as connection:
            return await self.to_model(connection, tenant_id)

    async def update(
        self, store: Store, actor: Principal, tenant_id: UUID, body: Any, request_id: str | None
    ) -> Any:
        """Change the fields given (a list replaces the one before; repeats are dropped)."""
        if self.carrier_writes:
            actor.require_carrier()
        async with store.write(actor, tenant_id, self.entity, "update", None, request_id) as c:
            tenant = await store.tenant_row(actor, tenant_id, c.connection, lock=True)
            before = await self.to_model(c.connection, tenant_id)
            values = before.model_dump(mode="json", include=set(self.columns)) | body.model_dump(
                mode="json", exclude_unset=True
            )
            values = {k: _unique(v) if isinstance(v, list) else v for k, v in values.items()}
            try:
                self.check(tenant, values)
            except ValueError as error:
                raise ApiError(VALIDATION_FAILED, str(error)) from error
            await self._upsert(c.connection, tenant_id, values)
            after = await self.to_model(c.connection, tenant_id)
            c.record(before, after)
        return after

    async def _upsert(
        self, connection: Connection, tenant_id: UUID, values: dict[str, Any]
    ) -> None:
        places = ", ".join(f"${n}" for n in range(2, len(self.columns) + 2))
        await connection.execute(
            f"""INSERT INTO {self.table} (tenant_id, {", ".join(self.columns)}) VALUES ($1, {places})
                ON CONFLICT (tenant_id) DO UPDATE SET
                    {", ".join(f"{k} = EXCLUDED.{k}" for k in self.columns)}""",
            tenant_id,
            *(values[k] for k in self.columns),
        )

    async def reset(
        self, store: Store, actor: Principal, tenant_id: UUID, request_id: str | None
    ) -> None:
        """Give the tenant the defaults again: its row is deleted."""
        if self.carrier_writes:
            actor.require_carrier()
        async with store.tenant_write(
            actor, tenant_id, self.entity, "delete", None, request_id, lock=True
        ) as c:
            c.before = jsonable(await self.to_model(c.connection, tenant_id))
            await c.connection.execute(f"DELETE FROM {self.table} WHERE tenant_id = $1", tenant_id)

    def routes(self) -> list[Route]:
        """Its routes, in the order the API documents them."""
        patch_body, model = self.models
        read_summary, change_summary, reset_summary = self.summaries
        writer: Scope = "carrier" if self.carrier_writes else "tenant"

        async def get(c: Call) -> web.Response:
            return answer(await self.read(c.store, c.principal, c.tenant_id))

        async def patch(c: Call) -> web.Response:
            body = await c.body(patch_body)
            return answer(await self.update(c.store, c.principal, c.tenant_id, body, c.request_id))

        async def delete(c: Call) -> web.Response:
            await self.reset(c.store, c.principal, c.tenant_id, c.request_id)
            return no_content()

        name = self.path.strip("/").replace("-", "_")
        handlers: dict[str, Handler] = {
            f"get_{name}": get,
            f"patch_{name}": patch,
            f"delete_{name}": delete,
        }
        for operation, handler in handlers.items():
            handler.__name__ = handler.__qualname__ = operation  # the OpenAPI operation ids
        path = TENANT + self.path
        routes = [
            Route("GET", path, get, read_summary, response=model),
            Route(
                "PATCH",
                path,
                patch,
                change_summary,
                scope=writer,
                body=patch_body,
                response=model,
            ),
        ]
        if reset_summary is not None:
            routes.append(
                Route(
                    "DELETE",
                    path,
                    delete,
                    reset_summary,
                    scope=writer,
                    status=HTTPStatus.NO_CONTENT,
                )
            )
        return routes


def _unique(items: list[Any]) -> list[Any]:
    return list(dict.fromkeys(items))
