"""Prompts made playable by the media service (`rcp.media.<tenant>.ensure`): the PromptPort.

A URI the media service gives names its content, so it never changes meaning: the URI of a
piece of spoken text is kept for good (in a bounded cache), while those of a tenant's own
prompts (a greeting can be edited) are dropped whenever the tenant's configuration changes.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from dataclasses import KW_ONLY, dataclass, field
from uuid import UUID

from nats.aio.client import Client as NatsClient
from rcp.callflow.prompts import Playable, SpokenText, TenantPrompt, Tone
from rcp.contracts.media import EnsurePrompt
from rcp.errors import ErrorCode, ServiceUnavailable
from rcp.media_client import ENSURE_TIMEOUT_S, ensure_prompt

_CacheKey = tuple[UUID, TenantPrompt | SpokenText]


@dataclass(slots=True)
class NatsPrompts:
    """Asks the media service (in `scope`) for each prompt's URI, once per tenant and piece;
    keeps the last `max_entries` URIs."""

    nc: NatsClient
    _: KW_ONLY
    scope: str = ""
    timeout_s: float = ENSURE_TIMEOUT_S
    budget_s: float | None = None
    max_entries: int = 100_000
    _uris: OrderedDict[_CacheKey, str] = field(default_factory=OrderedDict, init=False)
    _asking: dict[_CacheKey, asyncio.Future[str]] = field(default_factory=dict, init=False)
    requests: int = field(default=0, init=False)
    """How many requests went to the media service (for tests and logs)."""

    async def uri_for(self, tenant_id: UUID, piece: Playable, budget_s: float | None = None) -> str:
        """What ARI's `play` takes for one piece: `sound:<url>`, or `tone:<name>`; asked
        within `budget_s` when given (what the caller's wait leaves), else the adapter's."""
        if isinstance(piece, Tone):
            return f"tone:{piece.value}"
        key: _CacheKey = (tenant_id, piece)
        uri = self._uris.get(key)
        if uri is not None:
            self._uris.move_to_end(key)
            return uri
        budget_s = self.budget_s if budget_s is None else budget_s
        asking = self._asking.get(key)
        if asking is not None:  # the same piece asked by several calls at once: one request
            try:
                async with asyncio.timeout(budget_s):
                    return await asyncio.shield(asking)
            except TimeoutError:
                raise ServiceUnavailable(
                    ErrorCode.TIMEOUT, f"no prompt within {budget_s:g} s"
                ) from None
            except asyncio.CancelledError:
                if asking.cancelled():  # the asker hung up, not us: ask ourselves
                    return await self.uri_for(tenant_id, piece, budget_s)
                raise
        future: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        self._asking[key] = future
        try:
            uri = await self._ask(tenant_id, piece, budget_s)
        except asyncio.CancelledError:  # this call hung up: the others ask again
            future.cancel()
            raise
        except Exception as error:
            future.set_exception(error)
            future.exception()  # marked as retrieved: nobody else may be waiting
            raise
        finally:
            del self._asking[key]
        future.set_result(uri)
        self._uris[key] = uri
        if len(self._uris) > self.max_entries:
            self._uris.popitem(last=False)
        return uri

    async def _ask(
        self, tenant_id: UUID, piece: TenantPrompt | SpokenText, budget_s: float | None
    ) -> str:
        self.requests += 1
        if isinstance(piece, TenantPrompt):
            ask = EnsurePrompt(tenant_id=tenant_id, prompt_id=piece.prompt_id)
        else:
            ask = EnsurePrompt(tenant_id=tenant_id, text=piece.text, language=piece.language)
        playable = await ensure_prompt(
            self.nc, ask, scope=self.scope, timeout_s=self.timeout_s, budget_s=budget_s
        )
        return playable.media

    def forget(self, tenant_id: UUID) -> None:
        """Drop the URIs of the tenant's own prompts: the next play asks again."""
        for key in [k for k in self._uris if k[0] == tenant_id and isinstance(k[1], TenantPrompt)]:
            del self._uris[key]
