"""NATS: connecting, typed request/reply over `nats.micro`, and the JetStream events stream.

The connection is checked by `NatsProbe` (a message sent round the server to the service's
own inbox), never by `flush()` with a time-out: nats-py leaves a client deaf for good when a
PONG arrives after its `flush` gave up (docs/nats-client.md). A stalled server is detected by
the client's own pings (`RCP_NATS_PING_INTERVAL_S`, `RCP_NATS_MAX_OUTSTANDING_PINGS`): the
connection is then dropped and replaced.

Requesters call `request()`, which returns the typed result or raises `RemoteError` (the
service's typed error) or `ServiceUnavailable` (nobody answered). Responders wrap their
handlers with `endpoint()`, which decodes and validates the request, and maps every failure
to a typed error reply in this one place.
"""

from __future__ import annotations

import asyncio
import json
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from typing import Any, Generic, TypeVar
from uuid import UUID

import structlog
from nats.aio.client import Client as NatsClient
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription
from nats.errors import NoRespondersError
from nats.errors import TimeoutError as NatsTimeoutError
from nats.js import JetStreamContext
from nats.js.api import DiscardPolicy, RetentionPolicy, StorageType, StreamConfig
from nats.js.errors import NotFoundError
from nats.micro.request import Request
from pydantic import BaseModel, ValidationError

from rcp import nats_access, subjects, tasks
from rcp.contracts import SCHEMA_VERSION, ErrorBody, Message, Reply, TenantMessage
from rcp.errors import ErrorCode, ReceptionistError, RemoteError, ServiceUnavailable
from rcp.settings import CommonSettings
from rcp.telemetry import Metrics

log = structlog.get_logger(__name__)

RequestT = TypeVar("RequestT", bound=Message)
ResultT = TypeVar("ResultT", bound=BaseModel)

# What nats-server answers a connection it does not let in.
AUTHORIZATION_VIOLATION = "Authorization Violation"

# Call events are kept a week, and the stream never outgrows 1 GiB on one node.
EVENTS_MAX_AGE_S = 7 * 24 * 3600
EVENTS_MAX_BYTES = 1024**3


def nats_options(settings: CommonSettings) -> dict[str, Any]:
    """How `settings` log in to NATS (`nats.connect` keywords): the process's user and
    password, its user's inbox prefix (no other user may read its replies), TLS."""
    options: dict[str, Any] = {}
    user = settings.effective_nats_user
    if user:
        options.update(
            user=user,
            password=settings.nats_password_of_user(),
            inbox_prefix=nats_access.inbox_prefix(user),
        )
    if settings.nats_tls_ca_file is not None:
        options["tls"] = ssl.create_default_context(cafile=str(settings.nats_tls_ca_file))
    return options


@asynccontextmanager
async def connect_nats(
    settings: CommonSettings, name: str, metrics: Metrics | None = None
) -> AsyncIterator[NatsClient]:
    """A NATS connection that reconnects forever and is drained on exit.

    A server that is not there yet is waited for; one that refuses the user and password is
    not: `NatsLoginRefused` at once, naming where the password comes from.
    """
    refused: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    async def on_error(error: Exception) -> None:
        if metrics is not None:
            metrics.nats_errors.labels(kind=type(error).__name__).inc()
        log.warning("nats.error", error=repr(error))
        if AUTHORIZATION_VIOLATION in str(error) and not refused.done():
            refused.set_result(None)

    closing = False

    async def on_disconnected() -> None:
        if not closing:  # draining on the way out disconnects too: that is no news
            log.warning("nats.disconnected")

    async def on_reconnected() -> None:
        log.info("nats.reconnected")

    client = NatsClient()
    connecting = asyncio.create_task(
        _connect(client, settings, name, on_error, on_disconnected, on_reconnected)
    )
    either: list[asyncio.Future[Any]] = [connecting, refused]
    await asyncio.wait(either, return_when=asyncio.FIRST_COMPLETED)
    if not connecting.done():  # it would try again forever with the same password
        await tasks.stop(connecting)
        await client.close()  # the socket of the last attempt
        raise NatsLoginRefused(settings)
    connecting.result()
    refused.cancel()  # later refusals (a password changed meanwhile) are logged, retried
    try:
        yield client
    finally:
        closing = True
        if not client.is_closed:
            await client.drain()


class NatsLoginRefused(ReceptionistError):
    """The NATS server refused this process's user and password."""

    def __init__(self, settings: CommonSettings) -> None:
        user = settings.effective_nats_user
        where = (
            "RCP_NATS_PASSWORD"
            if settings.nats_password
            else f"RCP_NATS_PASSWORD, or the file {settings.nats_credentials_dir / user}"
        )
        super().__init__(
            ErrorCode.UNAUTHORIZED,
            f"NATS refused the user {user!r}: check its password ({where})"
            if user
            else "NATS refused an anonymous connection: set RCP_NATS_USER and RCP_NATS_PASSWORD",
            {"user": user},
        )


async def _connect(
    client: NatsClient,
    settings: CommonSettings,
    name: str,
    on_error: Callable[[Exception], Awaitable[None]],
    on_disconnected: Callable[[], Awaitable[None]],
    on_reconnected: Callable[[], Awaitable[None]],
) -> None:
    await client.connect(
        servers=settings.nats_servers,
        name=f"{name}/{settings.instance_id}",
        # Annotated int, used as asyncio's time-out: seconds with a fraction work.
        connect_timeout=settings.nats_connect_timeout_s,  # type: ignore[arg-type]
        max_reconnect_attempts=-1,
        reconnect_time_wait=1,
        ping_interval=settings.nats_ping_interval_s,
        max_outstanding_pings=settings.nats_max_outstanding_pings,
        error_cb=on_error,
        disconnected_cb=on_disconnected,
        reconnected_cb=on_reconnected,
        **nats_options(settings),
    )


class NatsProbe:
    """Proves that a NATS connection carries messages: one goes round the server and back.

    It replaces `flush(timeout=...)` as a readiness check. A flush that times out cancels
    the future its PONG would complete; when the late PONG comes, nats-py's read loop fails
    on the cancelled future and stops for good, and every later `flush()` returns at once
    (docs/nats-client.md). A probe that times out here only leaves an unanswered future of
    our own, which the late echo finds done and leaves alone.
    """

    def __init__(self, client: NatsClient) -> None:
        self._client = client
        self._inbox = client.new_inbox()
        self._waiting: dict[bytes, asyncio.Future[None]] = {}
        self._subscription: Subscription | None = None
        self._sent = 0

    async def _echoed(self, msg: Msg) -> None:
        waiter = self._waiting.pop(msg.data, None)
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    async def check(self, timeout_s: float) -> None:
        """Return once a message sent now has come back; raise TimeoutError after `timeout_s`."""
        if not self._client.is_connected:
            raise ConnectionError("not connected to NATS (reconnecting)")
        if self._subscription is None:
            self._subscription = await self._client.subscribe(self._inbox, cb=self._echoed)
        self._sent += 1
        token = str(self._sent).encode()
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiting[token] = waiter
        try:
            await self._client.publish(self._inbox, token)
            async with asyncio.timeout(timeout_s):
                await waiter
        except TimeoutError:
            message = f"no message came back through NATS within {timeout_s:g} s"
            raise TimeoutError(message) from None
        finally:
            self._waiting.pop(token, None)

    async def close(self) -> None:
        """Drop the probe's subscription."""
        if self._subscription is not None and not self._client.is_closed:
            await self._subscription.unsubscribe()
        self._subscription = None


async def reached_server(client: NatsClient, timeout_s: float = 10.0) -> None:
    """Return once what the client sent before (subscriptions too) is on the server: what
    `flush()` is for, without its risk (see `NatsProbe`)."""
    probe = NatsProbe(client)
    try:
        await probe.check(timeout_s)
    finally:
        await probe.close()


async def request(
    client: NatsClient,
    subject: str,
    message: Message,
    result_type: type[ResultT],
    timeout_s: float,
) -> ResultT:
    """Send a request and return its typed result; raise its typed error otherwise."""
    try:
        msg = await client.request(subject, message.model_dump_json().encode(), timeout=timeout_s)
    except NoRespondersError as error:
        raise ServiceUnavailable(
            ErrorCode.UNAVAILABLE, f"no service answers {subject}", {"subject": subject}
        ) from error
    except NatsTimeoutError as error:
        raise ServiceUnavailable(
            ErrorCode.TIMEOUT,
            f"no reply on {subject} within {timeout_s:g} s",
            {"subject": subject},
        ) from error
    try:
        reply: Reply[ResultT] = Reply[result_type].model_validate_json(msg.data)  # type: ignore[valid-type]
    except ValidationError as error:
        raise RemoteError(
            ErrorCode.INTERNAL, f"malformed reply on {subject}", {"subject": subject}
        ) from error
    if reply.error is not None:
        raise RemoteError(reply.error.code, reply.error.message, reply.error.details)
    if reply.result is None:
        raise RemoteError(ErrorCode.INTERNAL, f"empty reply on {subject}", {"subject": subject})
    return reply.result


# A second attempt needs at least this much of the budget left to be worth sending.
MIN_RETRY_S = 0.3


async def request_within(
    client: NatsClient,
    subject: str,
    message: Message,
    result_type: type[ResultT],
    *,
    attempt_s: float,
    budget_s: float,
) -> ResultT:
    """`request()` for an idempotent request on a caller's path: each attempt waits at most
    `attempt_s`, and one that finds no responder or no reply is sent once more, if the whole
    stays within `budget_s`."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + budget_s
    try:
        return await request(client, subject, message, result_type, min(attempt_s, budget_s))
    except ServiceUnavailable as error:
        # "No responders" comes back at once: a pause gives another instance time to appear.
        pause_s = 0.1 if error.code == ErrorCode.UNAVAILABLE else 0.0
        remaining = deadline - loop.time() - pause_s
        if remaining < MIN_RETRY_S:
            raise
        log.info("nats.request_retried", subject=subject, error=error.code)
        await asyncio.sleep(pause_s)
        return await request(client, subject, message, result_type, min(attempt_s, remaining))


class Encoded(Generic[ResultT]):
    """A result already encoded as its contract's JSON (a `ResultT` as `model_dump_json`
    writes it), for a handler that assembles its replies from bytes encoded beforehand;
    `endpoint` sends it as it is."""

    __slots__ = ("json",)

    def __init__(self, json: bytes) -> None:
        self.json = json


# A reply with a result, around the result's JSON: as `Reply.model_dump_json` writes it.
_RESULT_REPLY = b'{"schema_version":%d,"result":%%b,"error":null}' % SCHEMA_VERSION


def endpoint(
    request_type: type[RequestT],
    handle: Callable[[RequestT], Awaitable[BaseModel | Encoded[Any]]],
) -> Callable[[Request], Awaitable[None]]:
    """Adapt a typed handler to a `nats.micro` endpoint; every error becomes a typed reply.

    A request about a tenant (a `TenantMessage`) is about the tenant its subject names
    (`subjects.TenantRequest`): a body naming another is refused (`forbidden`), one naming
    none is given the subject's."""

    async def handler(req: Request) -> None:
        try:
            result = await handle(_parse(request_type, req.data, req.subject))
        except ReceptionistError as error:
            await _respond_error(
                req, ErrorBody(code=error.code, message=error.message, details=error.details)
            )
            return
        except Exception:
            log.exception("nats.handler_failed", subject=req.subject)
            await _respond_error(req, ErrorBody(code=ErrorCode.INTERNAL, message="internal error"))
            return
        # The result's own JSON inside the reply's, rather than a `Reply` model dumped with
        # serialize_as_any (over twice the cost for a page of matches); the same bytes.
        encoded = result.json if isinstance(result, Encoded) else result.model_dump_json().encode()
        await req.respond(_RESULT_REPLY % encoded)

    return handler


def _parse(request_type: type[RequestT], data: bytes, subject: str) -> RequestT:
    """Decode and validate a request, refusing other schema versions with their own code."""
    if issubclass(request_type, TenantMessage):
        parsed = _parse_tenant_request(request_type, data, subject)
        if parsed is not None:
            return parsed
    payload = _decode(data)
    version = payload.get("schema_version", SCHEMA_VERSION)
    if version != SCHEMA_VERSION:
        raise _unsupported(version)
    if issubclass(request_type, TenantMessage):
        payload["tenant_id"] = str(_subject_tenant(subject, payload.get("tenant_id")))
    try:
        return request_type.model_validate(payload)
    except ValidationError as error:
        raise ReceptionistError(
            ErrorCode.INVALID_REQUEST,
            "the request does not match its contract",
            {"errors": _validation_details(error)},
        ) from error


def _parse_tenant_request(
    request_type: type[RequestT], data: bytes, subject: str
) -> RequestT | None:
    """The common case in one step: a request naming its subject's tenant, validated from
    its JSON by pydantic. None for any other (`_parse` then finds what is wrong, as always)."""
    tenant_id = subjects.request_tenant(subject)
    if tenant_id is None:
        return None
    try:
        parsed = request_type.model_validate_json(data)
    except ValidationError:
        return None
    if parsed.schema_version != SCHEMA_VERSION:
        raise _unsupported(parsed.schema_version)
    # By their numbers: a UUID's own `__eq__` is Python code, run on every request.
    if parsed.tenant_id.int != tenant_id.int:  # type: ignore[attr-defined]  # a TenantMessage
        return None
    return parsed


def _unsupported(version: object) -> ReceptionistError:
    return ReceptionistError(
        ErrorCode.UNSUPPORTED_SCHEMA_VERSION,
        f"schema version {version} is not supported (this service speaks {SCHEMA_VERSION})",
    )


def _subject_tenant(subject: str, claimed: object) -> UUID:
    """The tenant a request's subject names; the body may repeat it, never name another."""
    tenant_id = subjects.request_tenant(subject)
    if tenant_id is None:
        raise ReceptionistError(ErrorCode.INVALID_REQUEST, f"the subject {subject} names no tenant")
    if claimed is not None and _uuid_or_none(claimed) != tenant_id:
        raise ReceptionistError(
            ErrorCode.FORBIDDEN,
            "the request's tenant_id is not the tenant its subject names",
            {"subject_tenant_id": str(tenant_id), "tenant_id": str(claimed)},
        )
    return tenant_id


def _uuid_or_none(value: object) -> UUID | None:
    try:
        return UUID(str(value))
    except ValueError:
        return None


def _decode(data: bytes) -> dict[str, Any]:
    try:
        payload = json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ReceptionistError(ErrorCode.INVALID_REQUEST, "the request is not JSON") from error
    if not isinstance(payload, dict):
        raise ReceptionistError(ErrorCode.INVALID_REQUEST, "the request is not a JSON object")
    return payload


def _validation_details(error: ValidationError) -> list[dict[str, str]]:
    return [
        {"field": ".".join(str(part) for part in item["loc"]), "message": item["msg"]}
        for item in error.errors()
    ]


async def _respond_error(req: Request, body: ErrorBody) -> None:
    data = Reply[BaseModel](error=body).model_dump_json().encode()
    # respond_error also sets the Nats-Service-Error(-Code) headers of the micro protocol.
    await req.respond_error(body.code, body.message, data=data)


async def ensure_streams(js: JetStreamContext) -> None:
    """Create or update the JetStream streams Receptionist needs (idempotent)."""
    config = StreamConfig(
        name=subjects.EVENTS_STREAM,
        subjects=[subjects.EVENTS_ALL],
        retention=RetentionPolicy.LIMITS,
        storage=StorageType.FILE,
        max_age=EVENTS_MAX_AGE_S,
        max_bytes=EVENTS_MAX_BYTES,
        discard=DiscardPolicy.OLD,
        duplicate_window=120,
    )
    try:
        await js.stream_info(subjects.EVENTS_STREAM)
    except NotFoundError:
        await js.add_stream(config)
    else:
        await js.update_stream(config)


async def publish_event(
    js: JetStreamContext, subject: str, event: TenantMessage, message_id: str | None = None
) -> int:
    """Publish an event to JetStream and return its stream sequence once it is stored."""
    headers = {"Nats-Msg-Id": message_id} if message_id else None
    ack = await js.publish(subject, event.model_dump_json().encode(), headers=headers)
    return int(ack.seq)


class NotAllStored(Exception):
    """Messages published together were not all stored: the first `stored` of them were (in
    their order), the next was refused or its acknowledgement did not come in time."""

    def __init__(self, stored: int, reason: str) -> None:
        super().__init__(f"{stored} stored, then: {reason}")
        self.stored = stored


class PipelinedPublisher:
    """Publishes messages to JetStream without waiting for each acknowledgement.

    Every message of a `publish` call is written to NATS before any acknowledgement is
    awaited, on one connection (so the stream stores them in their order), then their
    acknowledgements are awaited together. What nats-py's `publish_async` does per message
    (a NUID, random bytes, a future and its callbacks, the acknowledgement decoded into a
    `PubAck`), this does per call: one future, replies matched by a counter, and an
    acknowledgement read as stored unless it carries an error. The reply subscription is
    the connection's, made on first use; nats-py sends it again after a reconnection.
    """

    def __init__(self, jetstream: JetStreamContext) -> None:
        # nats-py gives a JetStreamContext's connection no public name.
        self._client: NatsClient = jetstream._nc
        self._prefix = ""
        self._subscribing: asyncio.Lock = asyncio.Lock()
        self._sent = 0
        self._waiting: dict[str, tuple[_Acks, int]] = {}

    async def publish(self, messages: Sequence[tuple[str, bytes, str]], timeout_s: float) -> None:
        """Publish (subject, payload, message id) in order, and return once JetStream has
        stored them all; raise `NotAllStored` if it refused one or did not acknowledge
        them all within `timeout_s` (the message ids make a message published again count
        once), or nats-py's error if the connection would not take them."""
        if not self._prefix:
            await self._subscribe()
        acks = _Acks(len(messages))
        tokens = []
        try:
            for index, (subject, payload, message_id) in enumerate(messages):
                self._sent += 1
                token = str(self._sent)
                tokens.append(token)
                self._waiting[token] = (acks, index)
                reply = self._prefix + token
                await self._client.publish(
                    subject, payload, reply=reply, headers={"Nats-Msg-Id": message_id}
                )
            try:
                async with asyncio.timeout(timeout_s):
                    await acks.all_stored
            except TimeoutError:
                raise NotAllStored(acks.stored_first(), "not acknowledged in time") from None
        finally:
            for token in tokens:
                self._waiting.pop(token, None)
            if acks.all_stored.done() and not acks.all_stored.cancelled():
                acks.all_stored.exception()  # seen, whether raised above or not

    async def _subscribe(self) -> None:
        async with self._subscribing:
            if not self._prefix:
                prefix = self._client.new_inbox() + "."
                await self._client.subscribe(prefix + "*", cb=self._acknowledged)
                self._prefix = prefix

    async def _acknowledged(self, msg: Msg) -> None:
        found = self._waiting.pop(msg.subject[len(self._prefix) :], None)
        if found is None:  # given up on already
            return
        acks, index = found
        if msg.headers and msg.headers.get("Status"):  # 503: no stream (leader) answers
            acks.refused(f"status {msg.headers.get('Status')}")
        elif b'"error"' in msg.data:
            acks.refused(msg.data.decode(errors="replace"))
        else:
            acks.stored(index)


class _Acks:
    """The acknowledgements of one `PipelinedPublisher.publish` call."""

    __slots__ = ("_flags", "_left", "all_stored")

    def __init__(self, count: int) -> None:
        self._flags = [False] * count
        self._left = count
        self.all_stored: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        if not count:
            self.all_stored.set_result(None)

    def stored(self, index: int) -> None:
        if not self._flags[index]:
            self._flags[index] = True
            self._left -= 1
            if not self._left and not self.all_stored.done():
                self.all_stored.set_result(None)

    def refused(self, reason: str) -> None:
        if not self.all_stored.done():
            self.all_stored.set_exception(NotAllStored(self.stored_first(), reason))

    def stored_first(self) -> int:
        """How many messages, from the first, are stored."""
        for index, stored in enumerate(self._flags):
            if not stored:
                return index
        return len(self._flags)


class ConcurrentRequests:
    """Runs each request of the endpoints it wraps in its own task, at most `limit` at once.

    nats-py awaits a subscription's callbacks one at a time, so a slow request (a render of
    several hundred milliseconds) would otherwise hold every other request of its endpoint
    behind it. Past `limit` running requests the subscription waits and NATS buffers.
    """

    def __init__(self, limit: int) -> None:
        self._slots = asyncio.Semaphore(limit)
        self._running: set[asyncio.Task[None]] = set()

    def wrap(
        self,
        handler: Callable[[Request], Awaitable[None]],
        inline: Callable[[Request], bool] | None = None,
    ) -> Callable[[Request], Awaitable[None]]:
        """`handler` (an `endpoint()`, which never raises) run in a task of its own.

        A request for which `inline` says True never waits (e.g. its data is in memory): it
        is answered in the subscription's callback, without a task's cost."""

        async def spawn(req: Request) -> None:
            if inline is not None and inline(req):
                await handler(req)
                return
            await self._slots.acquire()
            task = asyncio.create_task(self._run(handler, req))
            self._running.add(task)
            task.add_done_callback(self._running.discard)

        return spawn

    async def _run(self, handler: Callable[[Request], Awaitable[None]], req: Request) -> None:
        try:
            await handler(req)
        finally:
            self._slots.release()

    async def drain(self) -> None:
        """Wait for the requests already running (call once their subscriptions are stopped)."""
        while self._running:
            await asyncio.gather(*self._running, return_exceptions=True)
