"""What extensions, ring groups and conference rooms share: a number in the tenant's plan.

Each is a `NumberedEntity` subclass: its entity name (from which its table, its path and its
words are made), its wire models, and the few steps that differ (how a row becomes its model,
how it is inserted and updated, what still uses it). Create, list, read, change and delete,
their handlers and their routes are written once, here.
"""

from __future__ import annotations

from http import HTTPStatus
from typing import TYPE_CHECKING, Any, ClassVar
from uuid import UUID

import asyncpg
from aiohttp import web
from pydantic import BaseModel

from rcp_admin.auth import Principal
from rcp_admin.errors import IN_USE, ApiError
from rcp_admin.routing import TENANT, Call, Handler, Route, answer, created, no_content
from rcp_admin.unit_of_work import Change, Reader, Store, fetch_one, jsonable

if TYPE_CHECKING:
    from rcp_admin.unit_of_work import Connection


async def keys_using(
    connection: Reader, tenant_id: UUID, column: str, target_id: UUID
) -> list[str]:
    """The keys that transfer to a target (column: a constant naming the target's kind)."""
    digits = await connection.fetch(
        f"""SELECT k.digit, m.name, m.is_first FROM key_assignments k
              JOIN menus m ON m.tenant_id = k.tenant_id AND m.id = k.menu_id
             WHERE k.tenant_id = $1 AND k.{column} = $2 ORDER BY NOT m.is_first, m.name, k.digit""",
        tenant_id,
        target_id,
    )
    return [
        f"key {d['digit']}" if d["is_first"] else f"key {d['digit']} of menu {d['name']}"
        for d in digits
    ]


class NumberedEntity:
    """One kind of numbered thing of a tenant, and its five operations."""

    entity: ClassVar[str]  # in the audit log and config-changed: ring_group
    # The wire models: create body, patch body, one, a list.
    models: ClassVar[tuple[type[BaseModel], type[BaseModel], type[BaseModel], type[BaseModel]]]
    unused: ClassVar[str]  # ends the summary of its delete: "no key uses"
    operations: ClassVar[str] = ""  # its operations' names, if not its entity's: "room"
    in_use_hint: ClassVar[str] = ""
    patch_keeps_nulls: ClassVar[bool] = True  # a null in a patch clears the field

    @property
    def table(self) -> str:
        """Its table: ring_groups."""
        return f"{self.entity}s"

    @property
    def noun(self) -> str:
        """Its name in messages and summaries: ring group."""
        return self.entity.replace("_", " ")

    def prepare(self, values: dict[str, Any]) -> dict[str, Any]:
        """A create body's values, checked before the write begins."""
        return values

    async def to_model(self, reader: Reader, tenant_id: UUID, row: asyncpg.Record) -> Any:
        """A row as the API shows it."""
        return self.models[2].model_validate(dict(row))

    async def insert(
        self, connection: Connection, tenant_id: UUID, values: dict[str, Any]
    ) -> asyncpg.Record:
        """Insert one from a create body's values."""
        raise NotImplementedError

    async def update(
        self,
        connection: Connection,
        tenant_id: UUID,
        current: asyncpg.Record,
        before: Any,
        body: Any,
    ) -> asyncpg.Record:
        """Apply a patch body to the current row: its fields over what was there."""
        patched = body.model_dump(exclude_unset=True, exclude_none=not self.patch_keeps_nulls)
        return await self.replace(
            connection, tenant_id, current["id"], before.model_dump() | patched
        )

    async def replace(
        self, connection: Connection, tenant_id: UUID, row_id: UUID, values: dict[str, Any]
    ) -> asyncpg.Record:
        """Write all the values of one."""
        raise NotImplementedError

    async def users(self, connection: Connection, tenant_id: UUID, row_id: UUID) -> list[str]:
        """What still uses one, in words an admin understands."""
        raise NotImplementedError

    async def row(
        self, reader: Reader, tenant_id: UUID, number: str, field_name: str = "number"
    ) -> asyncpg.Record:
        """The row of one number; 404 naming `field_name` if there is none."""
        found: asyncpg.Record = await fetch_one(
            reader,
            (f"{self.noun} {number}", field_name),
            f"SELECT * FROM {self.table} WHERE tenant_id = $1 AND number = $2",
            tenant_id,
            number,
        )
        return found

    async def _current(
        self, store: Store, actor: Principal, tenant_id: UUID, number: str, change: Change
    ) -> asyncpg.Record:
        await store.tenant_row(actor, tenant_id, change.connection)
        return await self.row(change.connection, tenant_id, number)

    async def create(
        self, store: Store, actor: Principal, tenant_id: UUID, body: Any, request_id: str | None
    ) -> Any:
        """A new one."""
        values = self.prepare(body.model_dump())
        async with store.tenant_write(
            actor, tenant_id, self.entity, "create", body.number, request_id
        ) as change:
            row = await self.insert(change.connection, tenant_id, values)
            made = await self.to_model(change.connection, tenant_id, row)
            change.after = jsonable(made)
        return made

    async def list_all(self, store: Store, actor: Principal, tenant_id: UUID) -> list[Any]:
        """All of the tenant's, by number."""
        rows = await store.tenant_rows(
            actor, tenant_id, f"SELECT * FROM {self.table} WHERE tenant_id = $1 ORDER BY number"
        )
        return [await self.to_model(store.pool, tenant_id, r) for r in rows]

    async def read(self, store: Store, actor: Principal, tenant_id: UUID, number: str) -> Any:
        """One, by its number."""
        async with store.tenant_read(actor, tenant_id) as connection:
            row = await self.row(connection, tenant_id, number)
            return await self.to_model(connection, tenant_id, row)

    async def change(
        self,
        store: Store,
        actor: Principal,
        tenant_id: UUID,
        number: str,
        body: Any,
        request_id: str | None,
    ) -> Any:
        """Change one (its number too)."""
        async with store.write(actor, tenant_id, self.entity, "update", number, request_id) as c:
            current = await self._current(store, actor, tenant_id, number, c)
            before = await self.to_model(c.connection, tenant_id, current)
            row = await self.update(c.connection, tenant_id, current, before, body)
            after = await self.to_model(c.connection, tenant_id, row)
            c.record(before, after, key=after.number)
        return after

    async def delete(
        self, store: Store, actor: Principal, tenant_id: UUID, number: str, request_id: str | None
    ) -> None:
        """Delete one that nothing uses any more."""
        async with store.write(actor, tenant_id, self.entity, "delete", number, request_id) as c:
            row = await self._current(store, actor, tenant_id, number, c)
            users = await self.users(c.connection, tenant_id, row["id"])
            if users:
                raise ApiError(
                    IN_USE,
                    f"{self.noun} {number} is still used by {', '.join(users)}{self.in_use_hint}",
                    "number",
                    {"used_by": users},
                )
            c.before = jsonable(await self.to_model(c.connection, tenant_id, row))
            await c.connection.execute(f"DELETE FROM {self.table} WHERE id = $1", row["id"])

    def routes(self) -> list[Route]:
        """Its five routes, in the order the API documents them."""
        create_body, patch_body, model, listing = self.models

        async def create(c: Call) -> web.Response:
            body = await c.body(create_body)
            return created(await self.create(c.store, c.principal, c.tenant_id, body, c.request_id))

        async def list_(c: Call) -> web.Response:
            return answer(listing(items=await self.list_all(c.store, c.principal, c.tenant_id)))

        async def get(c: Call) -> web.Response:
            return answer(await self.read(c.store, c.principal, c.tenant_id, c.number))

        async def patch(c: Call) -> web.Response:
            body = await c.body(patch_body)
            return answer(
                await self.change(c.store, c.principal, c.tenant_id, c.number, body, c.request_id)
            )

        async def delete(c: Call) -> web.Response:
            await self.delete(c.store, c.principal, c.tenant_id, c.number, c.request_id)
            return no_content()

        one = self.operations or self.entity
        handlers: dict[str, Handler] = {
            f"create_{one}": create,
            f"list_{one}s": list_,
            f"get_{one}": get,
            f"patch_{one}": patch,
            f"delete_{one}": delete,
        }
        for name, handler in handlers.items():
            handler.__name__ = handler.__qualname__ = name  # the OpenAPI operation ids
        a = f"an {self.noun}" if self.noun[0] in "aeiou" else f"a {self.noun}"
        path = f"{TENANT}/{self.table.replace('_', '-')}"
        item = f"{path}/{{number}}"
        return [
            Route(
                "POST",
                path,
                create,
                f"Create {a}",
                body=create_body,
                response=model,
                status=HTTPStatus.CREATED,
            ),
            Route("GET", path, list_, f"List {self.noun}s", response=listing),
            Route("GET", item, get, f"Read {a}", response=model),
            Route("PATCH", item, patch, f"Change {a}", body=patch_body, response=model),
            Route(
                "DELETE", item, delete, f"Delete {a} {self.unused}", status=HTTPStatus.NO_CONTENT
            ),
        ]
