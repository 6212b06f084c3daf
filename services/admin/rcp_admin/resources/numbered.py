"""What extensions, ring groups and conference rooms share: a number in the tenant's plan.

Each is one `NumberedEntity`: its table, its wire models, and the few steps that differ (how
a row becomes its model, how it is inserted and updated, what still uses it). Create, list,
read, change and delete, their handlers and their routes are written once, here.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import TYPE_CHECKING, Any
from uuid import UUID

import asyncpg
from aiohttp import web
from pydantic import BaseModel

from rcp_admin.auth import Principal
from rcp_admin.errors import IN_USE, ApiError, not_found
from rcp_admin.routing import TENANT, Call, Handler, Route, answer, created, no_content
from rcp_admin.unit_of_work import Reader, Store, jsonable

if TYPE_CHECKING:
    from rcp_admin.unit_of_work import Connection

ToModel = Callable[[Reader, UUID, asyncpg.Record], Awaitable[Any]]
Insert = Callable[["Connection", UUID, dict[str, Any]], Awaitable[asyncpg.Record]]
Update = Callable[["Connection", UUID, asyncpg.Record, Any, Any], Awaitable[asyncpg.Record]]
Users = Callable[["Connection", UUID, UUID], Awaitable[list[str]]]


async def keys_using(
    connection: Reader, tenant_id: UUID, column: str, target_id: UUID
) -> list[str]:
    """The keys that transfer to a target (column: a constant naming the target's kind)."""
    digits = await connection.fetch(
        f"SELECT digit FROM key_assignments WHERE tenant_id = $1 AND {column} = $2 ORDER BY digit",
        tenant_id,
        target_id,
    )
    return [f"key {d['digit']}" for d in digits]


def _same(values: dict[str, Any]) -> dict[str, Any]:
    return values


@dataclass(frozen=True)
class NumberedEntity:
    """One kind of numbered thing of a tenant, and its five operations."""

    entity: str  # in the audit log and config-changed: extension, ring_group, conference_room
    table: str
    noun: str  # in messages: "extension 101", "ring group 200"
    path: str  # under the tenant's path
    operation: tuple[str, str]  # names of its operations: ("ring_group", "ring_groups")
    bodies: tuple[type[BaseModel], type[BaseModel]]  # (create, patch)
    models: tuple[type[BaseModel], type[BaseModel]]  # (one, list)
    summaries: tuple[str, str, str, str, str]  # create, list, read, change, delete
    to_model: ToModel
    insert: Insert
    update: Update
    users: Users
    in_use_hint: str = ""
    prepare: Callable[[dict[str, Any]], dict[str, Any]] = field(default=_same)

    async def row(
        self, reader: Reader, tenant_id: UUID, number: str, field_name: str = "number"
    ) -> asyncpg.Record:
        """The row of one number; 404 naming `field_name` if there is none."""
        found: asyncpg.Record | None = await reader.fetchrow(
            f"SELECT * FROM {self.table} WHERE tenant_id = $1 AND number = $2", tenant_id, number
        )
        if found is None:
            raise not_found(f"{self.noun} {number}", field_name)
        return found

    async def create(
        self, store: Store, actor: Principal, tenant_id: UUID, body: Any, request_id: str | None
    ) -> Any:
        """A new one."""
        values = self.prepare(body.model_dump())
        async with store.write(
            actor, tenant_id, self.entity, "create", body.number, request_id
        ) as change:
            await store.tenant_row(actor, tenant_id, change.connection)
            row = await self.insert(change.connection, tenant_id, values)
            made = await self.to_model(change.connection, tenant_id, row)
            change.after = jsonable(made)
        return made

    async def list_all(self, store: Store, actor: Principal, tenant_id: UUID) -> list[Any]:
        """All of the tenant's, by number."""
        await store.tenant_row(actor, tenant_id)
        rows = await store.pool.fetch(
            f"SELECT * FROM {self.table} WHERE tenant_id = $1 ORDER BY number", tenant_id
        )
        return [await self.to_model(store.pool, tenant_id, r) for r in rows]

    async def read(self, store: Store, actor: Principal, tenant_id: UUID, number: str) -> Any:
        """One, by its number."""
        await store.tenant_row(actor, tenant_id)
        return await self.to_model(
            store.pool, tenant_id, await self.row(store.pool, tenant_id, number)
        )

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
        async with store.write(
            actor, tenant_id, self.entity, "update", number, request_id
        ) as change:
            await store.tenant_row(actor, tenant_id, change.connection)
            current = await self.row(change.connection, tenant_id, number)
            before = await self.to_model(change.connection, tenant_id, current)
            row = await self.update(change.connection, tenant_id, current, before, body)
            after = await self.to_model(change.connection, tenant_id, row)
            change.record(before, after, key=after.number)
        return after

    async def delete(
        self, store: Store, actor: Principal, tenant_id: UUID, number: str, request_id: str | None
    ) -> None:
        """Delete one that nothing uses any more."""
        async with store.write(
            actor, tenant_id, self.entity, "delete", number, request_id
        ) as change:
            await store.tenant_row(actor, tenant_id, change.connection)
            row = await self.row(change.connection, tenant_id, number)
            users = await self.users(change.connection, tenant_id, row["id"])
            if users:
                raise ApiError(
                    IN_USE,
                    f"{self.noun} {number} is still used by {', '.join(users)}{self.in_use_hint}",
                    "number",
                    {"used_by": users},
                )
            change.before = jsonable(await self.to_model(change.connection, tenant_id, row))
            await change.connection.execute(f"DELETE FROM {self.table} WHERE id = $1", row["id"])

    def routes(self) -> list[Route]:
        """Its five routes, in the order the API documents them."""
        one, many = self.operation
        create_body, patch_body = self.bodies
        model, listing = self.models

        async def create(c: Call) -> web.Response:
            body = await c.body(create_body)
            return created(await self.create(c.store, c.principal, c.tenant_id, body, c.request_id))

        async def list_(c: Call) -> web.Response:
            return answer(listing(items=await self.list_all(c.store, c.principal, c.tenant_id)))

        async def get(c: Call) -> web.Response:
            return answer(await self.read(c.store, c.principal, c.tenant_id, c.number))

        async def patch(c: Call) -> web.Response:
            body = await c.body(patch_body)
            after = await self.change(
                c.store, c.principal, c.tenant_id, c.number, body, c.request_id
            )
            return answer(after)

        async def delete(c: Call) -> web.Response:
            await self.delete(c.store, c.principal, c.tenant_id, c.number, c.request_id)
            return no_content()

        handlers: dict[str, Handler] = {
            f"create_{one}": create,
            f"list_{many}": list_,
            f"get_{one}": get,
            f"patch_{one}": patch,
            f"delete_{one}": delete,
        }
        for name, handler in handlers.items():
            handler.__name__ = handler.__qualname__ = name  # the OpenAPI operation ids
        create_, list_all, get_, patch_, delete_ = handlers.values()
        s_create, s_list, s_read, s_change, s_delete = self.summaries
        path, item = f"{TENANT}/{self.path}", f"{TENANT}/{self.path}/{{number}}"
        return [
            Route(
                "POST",
                path,
                create_,
                s_create,
                body=create_body,
                response=model,
                status=HTTPStatus.CREATED,
            ),
            Route("GET", path, list_all, s_list, response=listing),
            Route("GET", item, get_, s_read, response=model),
            Route("PATCH", item, patch_, s_change, body=patch_body, response=model),
            Route("DELETE", item, delete_, s_delete, status=HTTPStatus.NO_CONTENT),
        ]
