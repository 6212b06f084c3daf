"""Asterisk ARI through aioari, behind `AriPort` and `AriCallPort` (rcp_stasis.ports).

aioari 0.10.2 is the client the design asks for; nothing outside this module sees it. Its
defects (docs/asterisk.md, "The ARI client") are worked around here:

- it puts `user:password` unencoded into the WebSocket URL: our HTTP client sends credentials
  in an Authorization header only, for REST and the WebSocket alike;
- boolean query parameters crash yarl: every query value is sent as a string, booleans as
  "true"/"false";
- `run()` returns when the socket closes: `_run` reconnects with exponential backoff, and a
  WebSocket heartbeat notices a peer that vanished without closing;
- event callbacks are awaited one at a time: our one listener only routes each event to its
  call's queue, so a slow call never delays another;
- per-object subscriptions (`channel.on_event`) leak unless closed: we make none, one
  client-wide listener serves every call;
- HTTP errors surface as aiohttp *server* exception classes: our HTTP client raises
  `AriError` (`AriNotFound` for 404) before aioari sees a response;
- a body parameter is wrapped by its name, so `PUT /applications/{app}/eventFilter` would
  send `{"filter": {...}}`, which Asterisk answers 200 and ignores: that one request is made
  directly;
- each operation call costs more than its HTTP request needs: aioari builds a new class per
  call (`Repository.__getattr__`), aioswagger11 url-encodes every call's arguments for a debug
  line that is not logged and walks the operation's parameter descriptions, and the answer
  is made into an object we only take the JSON of. Measured under bench/calls, that was about
  a tenth of the service's CPU. `AriConnection.operation` therefore reads each operation's
  description from aioari once (`_Operation`: method, path, which parameter goes where, from
  the resource descriptions aioari loaded from Asterisk) and makes the request itself through
  the same HTTP client; the answer is its JSON, as before, or not decoded at all where nobody
  reads it (`command`: a call's created channel, bridge and playback);
- aioari hands each message on the socket to its listeners through a dispatch that costs
  several times the call itself: our client (`_Client`) calls our one listener directly.

Operations travel on the event WebSocket itself once Asterisk answers there (ARI's REST over
WebSocket, Asterisk 22.3 and later): a `RESTRequest` message (request id, method, path with
its query, JSON body) answered by a `RESTResponse` on the same socket, in order with the
events. Measured on this machine (docs/asterisk.md, "Load facts"), a request costs the
service about a third of the CPU of the same request over HTTP through aiohttp (60 against
150-170 microseconds) and Asterisk about two thirds (40 against 60). Each connection asks
once, right after the socket is up (`_probe_rest_over_socket`); until Asterisk has answered,
when it does not (an older Asterisk), when the socket is down, or with
`rest_over_websocket=False`, operations go over HTTP as before. Answers map to the same
errors either way (`AriNotFound` for 404, `AriError` otherwise, status 0 when Asterisk did not
answer in time). The application's event filter lets `RESTResponse` through: without it,
Asterisk filters the answers out like any event.

What is left per request is its `send` system call, which on loopback also runs Asterisk's
side of the delivery (and wakes it): under load the largest single cost of the service (27% of
its samples at 200 calls, bench/calls). The requests made in one turn of the event loop (the
calls that the events of that turn woke) therefore leave together, in one `send`
(`_BatchedFrames`): their frames are aiohttp's own (its `WebSocketWriter`, masking included),
written into a buffer that is handed to the socket's transport at the end of the turn. The
cost of a call is then its number of requests and how many share a `send`: `on_request` counts
them by operation (docs/asterisk.md, "Load facts", lists a menu call's).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import random
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from http import HTTPStatus
from typing import Any, cast
from urllib.parse import quote_plus

import aioari
import aiohttp
import structlog
from aiohttp.http import WebSocketWriter, WSMsgType
from rcp import tasks
from rcp.callflow.events import (
    DialResult,
    DialStatus,
    Hangup,
    RecordingFailed,
    RecordingFinished,
)
from rcp.errors import ReceptionistError

from rcp_stasis.ports import AsteriskEvent, CallHandler, KeyPressed, PlaybackEnded

log = structlog.get_logger(__name__)

# The only events a call needs; Asterisk is asked not to send the others (each event costs
# it CPU, and this service a JSON parse: see "Load facts" in docs/asterisk.md). Not
# ChannelStateChange (the answer of a leg comes as a Dial event) nor PlaybackStarted (a
# playback is stopped by its id whether or not it has started): no call uses them, and a
# menu call had about four of them. Nor StasisEnd: a channel of ours that goes says so
# first by its ChannelHangupRequest and last by its ChannelDestroyed (with the cause a leg
# that never answered needs), and one that leaves the application alive does so because we
# asked (`continue_in_dialplan`); a transferred call had two.
CALL_EVENT_TYPES = (
    "StasisStart",
    "ChannelDtmfReceived",
    "ChannelHangupRequest",
    "ChannelDestroyed",
    "Dial",
    "PlaybackFinished",
    "RecordingStarted",
    "RecordingFinished",
    "RecordingFailed",
    "ApplicationReplaced",
    "RESTResponse",  # the answers to requests made on the WebSocket
)
LAG_EVENT_TYPES = frozenset({"ChannelDtmfReceived", "Dial"})
"""The events whose age is measured on arrival: those a caller waits on (a key, an answer)."""
GOING_EVENT_TYPES = frozenset({"ChannelHangupRequest", "StasisEnd", "ChannelDestroyed"})
"""A channel is going: its hangup request (the first word of it), or its departure
(StasisEnd is not asked for, but understood)."""
# ARI's words for how a leg's ringing ended, read here so that calls hear the flow's.
# Q.850 causes of a leg that ended before it answered (Asterisk sends no final Dial event
# for a leg that is busy, rings out or cannot be reached: its ChannelDestroyed says why).
BUSY_CAUSES = frozenset({17, 21})  # user busy, call rejected
NO_ANSWER_CAUSES = frozenset({18, 19})  # no user responding, no answer
DIAL_STATUSES = {
    "ANSWER": DialStatus.ANSWERED,
    "BUSY": DialStatus.BUSY,
    "NOANSWER": DialStatus.NO_ANSWER,
}
# Still ringing, or ended by us: nothing for the flow.
QUIET_DIAL_STATUSES = frozenset({"", "RINGING", "PROGRESS", "PROCEEDING", "CANCEL"})
END_OF_CALL = object()
ACCEPT_JSON = {"Accept": "application/json"}
LEG_ENTRY_TIMEOUT_S = 5.0
PROBE_TIMEOUT_S = 2.0
"""How long a new WebSocket's first request may wait for its answer before operations stay on
HTTP for that connection (an Asterisk without REST over WebSocket does not answer at all)."""
ANSWER_SWEEP_S = 0.25
"""How often requests on the WebSocket are checked for an overdue answer (their time-out is
met to within this)."""
RELEASE_ATTEMPTS = 3  # each failed release step is tried again after 1 s, then 2 s
RELEASE_RETRY_S = 1.0
CALL_STOP = {"recancel_after_s": 20.0, "patience_s": 60.0}
"""Stopping a call's task on the way out: time to release what it holds, within a bound."""

ConnectedHook = Callable[["AriConnection", int], Awaitable[None]]
"""Called each time the event WebSocket is up (with how many times it has been so far)."""


class AriError(ReceptionistError):
    """An ARI request failed (`status` is the HTTP status, 0 when Asterisk did not answer)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__("ari_error", message, {"status": status})
        self.status = status


class AriNotFound(AriError):
    """ARI answered 404: the channel, playback, bridge or recording is gone."""


@dataclass(frozen=True)
class _Operation:
    """One ARI operation as aioari's resource descriptions give it, read once: what a call
    of it needs to become an HTTP request (what aioswagger11's `Operation.__call__` does on
    every call)."""

    nickname: str
    method: str
    uri: str  # with {placeholders} for the path parameters
    kinds: Mapping[str, str]  # parameter -> path, query or body
    required: frozenset[str]

    @classmethod
    def of(cls, described: Any) -> _Operation:
        """From an aioswagger11 `Operation` (its `uri` and `json`)."""
        parameters = described.json.get("parameters", [])
        return cls(
            nickname=described.json["nickname"],
            method=described.json["httpMethod"],
            uri=described.uri,
            kinds={p["name"]: p["paramType"] for p in parameters},
            required=frozenset(p["name"] for p in parameters if p["required"]),
        )

    def request(
        self, arguments: Mapping[str, Any]
    ) -> tuple[str, dict[str, object], dict[str, object] | None]:
        """The URL, query and JSON body of a call with these arguments (None ones left out)."""
        unknown = arguments.keys() - self.kinds.keys()
        if unknown:
            raise TypeError(f"{self.nickname!r} does not have parameters {sorted(unknown)}")
        missing = {name for name in self.required if arguments.get(name) is None}
        if missing:
            raise TypeError(f"missing required parameter(s) {sorted(missing)} of {self.nickname!r}")
        uri, query, body = self.uri, {}, {}
        for name, value in arguments.items():
            if value is None:
                continue
            kind = self.kinds[name]
            if kind == "path":
                uri = uri.replace(f"{{{name}}}", path_value(value))
            elif kind == "query":
                query[name] = value
            else:  # body: wrapped by its name, as aioswagger11 does
                body[name] = value
        return uri, query, body or None


_PATH_SAFE = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")


def path_value(value: object) -> str:
    """A path parameter, url-encoded; the ids a call uses (letters, digits, `-._~`) as they
    are, without the cost of `quote_plus` on every request."""
    text = str(value)
    return text if _PATH_SAFE.issuperset(text) else quote_plus(text)


def query_value(value: object) -> str:
    """A query parameter as ARI expects it: booleans as "true"/"false", lists comma-joined."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | tuple):
        return ",".join(query_value(item) for item in value)
    return str(value)


class _AriHttp:
    """The HTTP client aioari (through aioswagger11) calls: ours, with its defects fixed."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        heartbeat_s: float,
        on_websocket: Callable[[aiohttp.ClientWebSocketResponse], None],
    ) -> None:
        self.session = session
        self._heartbeat_s = heartbeat_s
        self._on_websocket = on_websocket

    async def request(
        self,
        method: str,
        url: str,
        params: Mapping[str, object] | None = None,
        data: Any = None,
        headers: Mapping[str, str] | None = None,
    ) -> aiohttp.ClientResponse:
        query = {key: query_value(value) for key, value in (params or {}).items()}
        try:
            response = await self.session.request(
                method, url, params=query, data=data, headers=headers
            )
        except (aiohttp.ClientError, TimeoutError) as error:
            raise AriError(0, f"ARI {method} {url}: {error!r}") from error
        if response.status >= HTTPStatus.BAD_REQUEST:
            text = await response.text()
            error_type = AriNotFound if response.status == HTTPStatus.NOT_FOUND else AriError
            raise error_type(response.status, f"ARI {method} {url} -> {response.status} {text}")
        return response

    async def ws_connect(
        self, url: str, params: Mapping[str, object] | None = None
    ) -> aiohttp.ClientWebSocketResponse:
        query = {key: query_value(value) for key, value in (params or {}).items()}
        query["subscribeAll"] = "false"
        socket = await self.session.ws_connect(
            url,
            params=query,
            heartbeat=self._heartbeat_s,
            timeout=aiohttp.ClientWSTimeout(ws_receive=None, ws_close=10),
        )
        self._on_websocket(socket)
        return socket

    async def close(self) -> None:
        """The session belongs to the connection that made it."""


class _BatchedFrames:
    """Text frames for one WebSocket, sent together once per turn of the event loop (see the
    module's docstring): `send` frames a message into the buffer, and the first one of a turn
    schedules the write of the buffer to the socket's transport after what that turn runs."""

    def __init__(self, socket: aiohttp.ClientWebSocketResponse) -> None:
        self.socket = socket
        own = socket._writer  # aiohttp offers no public way to the socket's transport
        self._transport = own.transport
        # aiohttp's frame writer, writing into `self` (a transport's write and is_closing).
        self._frames = WebSocketWriter(own.protocol, cast(asyncio.Transport, self), use_mask=True)
        self._buffer = bytearray()
        self._write_scheduled = False

    @property
    def closed(self) -> bool:
        """Whether the socket is closed (or closing): nothing more can be sent on it."""
        return self.socket.closed or self._transport.is_closing()

    def write(self, data: bytes | bytearray | memoryview) -> None:
        """For the frame writer: a frame goes into the buffer."""
        self._buffer += data

    def is_closing(self) -> bool:
        """For the frame writer."""
        return self._transport.is_closing()

    async def send(self, text: str) -> None:
        """Frame a text message; it leaves at the end of this turn of the loop."""
        await self._frames.send_frame(text.encode(), WSMsgType.TEXT)
        if not self._write_scheduled:
            self._write_scheduled = True
            asyncio.get_running_loop().call_soon(self._write)

    def _write(self) -> None:
        self._write_scheduled = False
        if self._buffer and not self._transport.is_closing():
            self._transport.write(bytes(self._buffer))
        self._buffer.clear()


class _Client(aioari.Client):  # type: ignore[misc] # aioari has no type hints
    """aioari's client, each event handed to our one listener directly.

    aioari's `process_ws` copies its listener lists, formats a debug line (not logged) and asks
    whether the listener's result is awaitable, for every event and every answer on the
    socket: 3.7-6.1 µs a message, against 0.6-0.9 µs here (200,000 messages, three rounds, on
    the 2-core machine of bench/calls), about twenty messages a call. Our listener is a plain
    function that never waits (`_route`); one that raises is logged, as aioari does, and the
    socket goes on."""

    async def process_ws(self, msg: dict[str, Any]) -> None:
        for listener in self.event_listeners.get("*", ()):
            try:
                listener[0](msg)
            except Exception:
                log.exception("ari.event_listener_failed", type=msg.get("type"))


class AriConnection:
    """The Stasis application's WebSocket and REST client; runs one task per call.

    Use as an async context manager: entering starts the connection loop (which retries with
    backoff until Asterisk answers, and reconnects whenever the WebSocket drops); leaving
    cancels the calls still running, releases what they hold, and disconnects.
    """

    def __init__(
        self,
        *,
        url: str,
        user: str,
        password: str,
        app: str,
        handle_call: CallHandler,
        reconnect_min_s: float = 0.5,
        reconnect_max_s: float = 30.0,
        max_connections: int = 50,
        request_timeout_s: float = 10.0,
        heartbeat_s: float = 20.0,
        on_connected: ConnectedHook | None = None,
        on_request: Callable[[str], None] | None = None,
        on_answer: Callable[[float], None] | None = None,
        on_event: Callable[[str], None] | None = None,
        on_event_lag: Callable[[float], None] | None = None,
        rest_over_websocket: bool = True,
    ) -> None:
        self.url = url.rstrip("/")
        self._on_connected = on_connected
        self._on_request = on_request
        """Told the name of each ARI request made ("channels.answer"...), to count them."""
        self._on_answer = on_answer
        """Told how long each operation waited for Asterisk's answer (or its failure), s."""
        self._on_event = on_event
        """Told the type of each message from Asterisk (RESTResponse: an answer), to count them."""
        self._on_event_lag = on_event_lag
        """Told how old a key press or dial event was when it reached this service, s."""
        self.app = app
        self._credentials = aiohttp.encode_basic_auth(user, password)
        self._handle_call = handle_call
        self._reconnect_min_s = reconnect_min_s
        self._reconnect_max_s = reconnect_max_s
        self._max_connections = max_connections
        self._request_timeout_s = request_timeout_s
        self._heartbeat_s = heartbeat_s
        self._connected = asyncio.Event()
        self._owners: dict[str, AriCall] = {}
        self._call_tasks: set[asyncio.Task[None]] = set()
        self._session: aiohttp.ClientSession | None = None
        self._http: _AriHttp | None = None
        self._client: Any = None
        self._operations: dict[tuple[str, str], _Operation] = {}
        self._background: set[asyncio.Task[None]] = set()
        self._runner: asyncio.Task[None] | None = None
        self.connections = 0
        """How many times the event WebSocket was established (reconnections included)."""
        self._rest_over_websocket = rest_over_websocket
        self._socket: _BatchedFrames | None = None
        self._socket_answers = False  # Asterisk answered a request on this socket
        self._answers: dict[str, tuple[asyncio.Future[Mapping[str, Any]], float]] = {}
        """The requests on the socket awaiting their answer, and when they stop waiting."""
        self._request_ids = itertools.count()

    # --- lifetime ---------------------------------------------------------------------------

    async def __aenter__(self) -> AriConnection:
        self._session = aiohttp.ClientSession(
            headers={"Authorization": self._credentials},
            timeout=aiohttp.ClientTimeout(total=self._request_timeout_s),
            connector=aiohttp.TCPConnector(limit=self._max_connections),
        )
        self._http = _AriHttp(self._session, self._heartbeat_s, self._on_websocket)
        self._runner = asyncio.create_task(self._run(), name=f"ari-{self.app}")
        sweeper = asyncio.create_task(self._sweep_answers(), name=f"ari-answers-{self.app}")
        self._background.add(sweeper)
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._runner is not None:
            await tasks.stop(self._runner)
        # A cancelled call releases what it holds (hang-ups, destroys): it is given the time
        # for that before being cancelled again.
        await asyncio.gather(
            *(tasks.stop(task, **CALL_STOP) for task in self._call_tasks),
            *(tasks.stop(task) for task in self._background),
        )
        if self._client is not None:
            await self._client.close()
        if self._session is not None:
            await self._session.close()

    @property
    def connected(self) -> bool:
        """Whether the event WebSocket is up now."""
        return self._connected.is_set()

    @property
    def requests_on_websocket(self) -> bool:
        """Whether operations travel on the event WebSocket now (rather than over HTTP)."""
        socket = self._socket
        return self._socket_answers and socket is not None and not socket.closed

    async def wait_connected(self) -> None:
        """Return once the event WebSocket is up."""
        await self._connected.wait()

    @property
    def listener_count(self) -> int:
        """How many event listeners aioari holds for us (it must not grow with calls)."""
        if self._client is None:
            return 0
        return sum(len(listeners) for listeners in self._client.event_listeners.values())

    async def _run(self) -> None:
        """Connect, serve events until the socket closes, wait, and again, forever."""
        delay = self._reconnect_min_s
        while True:
            try:
                if self._client is None:
                    self._client = await self._new_client()
                await self._client.run(apps=self.app)
                log.warning("ari.disconnected", app=self.app)
            except AriError as error:
                log.warning("ari.unavailable", app=self.app, error=error.message)
            except (aiohttp.ClientError, OSError, TimeoutError) as error:
                log.warning("ari.unavailable", app=self.app, error=repr(error))
            except Exception:  # a bug here must not end the connection for good
                log.exception("ari.connection_failed", app=self.app)
            finally:  # stopped too: what calls still ask on the way out goes over HTTP
                self._socket_closed()
            if self._connected.is_set():
                delay = self._reconnect_min_s  # it was up: start backing off afresh
            self._connected.clear()
            # Jitter keeps several instances from reconnecting in step.
            await asyncio.sleep(delay * random.uniform(0.8, 1.2))  # noqa: S311
            delay = min(delay * 2, self._reconnect_max_s)

    async def _new_client(self) -> Any:
        client = _Client(self.url + "/", self._http)
        await client.init()  # loads the ARI resource descriptions; reconnecting reuses them
        self._operations = {}  # read again from these descriptions
        client.on_event("*", self._route)
        return client

    def _socket_closed(self) -> None:
        """The event WebSocket is gone: requests waiting for an answer on it fail (their
        callers see Asterisk not answering, as when an HTTP request breaks)."""
        self._socket, self._socket_answers = None, False
        answers, self._answers = self._answers, {}
        for answer, _ in answers.values():
            if not answer.done():
                answer.set_exception(AriError(0, "the ARI WebSocket closed before the answer"))

    def _on_websocket(self, socket: aiohttp.ClientWebSocketResponse) -> None:
        self._socket, self._socket_answers = _BatchedFrames(socket), False
        self.connections += 1
        self._connected.set()
        log.info("ari.connected", app=self.app, connections=self.connections)
        narrowing = asyncio.create_task(self._narrow_events())
        self._background.add(narrowing)
        narrowing.add_done_callback(self._background.discard)

    async def _narrow_events(self) -> None:
        body = {"allowed": [{"type": kind} for kind in CALL_EVENT_TYPES]}
        try:
            await self.rest("PUT", f"/applications/{self.app}/eventFilter", json=body)
        except AriError as error:  # every event then comes: more work, same behaviour
            log.warning("ari.event_filter_failed", app=self.app, error=error.message)
        if self._rest_over_websocket:
            await self._probe_rest_over_socket()
        if self._on_connected is not None:
            try:
                await self._on_connected(self, self.connections)
            except Exception:  # reconciling is best effort: calls go on either way
                log.exception("ari.on_connected_failed", app=self.app)

    async def _probe_rest_over_socket(self) -> None:
        """Ask Asterisk once, on the new socket, whether it answers requests there."""
        socket = self._socket
        if socket is None:
            return
        try:
            await self._on_socket(
                socket, "GET", f"applications/{self.app}", {}, None, PROBE_TIMEOUT_S
            )
        except AriError as error:
            log.warning("ari.requests_over_http", app=self.app, error=error.message)
            return
        if self._socket is socket:
            self._socket_answers = True
            log.info("ari.requests_over_websocket", app=self.app)

    # --- events -----------------------------------------------------------------------------

    def _route(self, message: dict[str, Any]) -> None:
        """Put an event on its call's queue (never waits: aioari awaits listeners in turn)."""
        kind = str(message.get("type", ""))
        if self._on_event is not None:
            self._on_event(kind)
        if kind == "RESTResponse":
            waiting = self._answers.pop(str(message.get("request_id")), None)
            if waiting is not None and not waiting[0].done():
                waiting[0].set_result(message)
            return
        channel_id = _channel_of(message)
        if kind == "ApplicationReplaced":
            log.error("ari.application_replaced", app=self.app)
            return
        if channel_id is None:
            return
        owner = self._owners.get(channel_id)
        if owner is None:
            if kind == "StasisStart" and message.get("application") == self.app:
                self._start_call(channel_id, message)
            return
        if kind in LAG_EVENT_TYPES and self._on_event_lag is not None:
            self._on_event_lag(event_age(message))
        owner.deliver(kind, channel_id, message)
        if kind == "ChannelDestroyed" and channel_id != owner.channel_id:
            self._owners.pop(channel_id, None)  # a leg is gone for good

    def _start_call(
        self, channel_id: str, message: Mapping[str, Any], handler: CallHandler | None = None
    ) -> AriCall:
        call = AriCall(self, channel_id, message)
        self._owners[channel_id] = call
        task = asyncio.create_task(
            self._serve(call, handler or self._handle_call), name=f"call-{channel_id}"
        )
        self._call_tasks.add(task)
        task.add_done_callback(self._call_tasks.discard)
        return call

    def owns(self, channel_id: str) -> bool:
        """Whether one of our calls holds the channel (as its caller or as one of its legs)."""
        return channel_id in self._owners

    def take_over(
        self,
        channel: Mapping[str, Any],
        handler: CallHandler,
        *,
        legs: Iterable[str] = (),
        bridges: Iterable[str] = (),
        conferences: Iterable[str] = (),
    ) -> None:
        """Run `handler` on a channel that is in the application with no call of ours (its
        call was run by a process that died), with what that call held."""
        channel_id = str(channel["id"])
        start = {"channel": channel, "args": stasis_args(channel)}
        call = self._start_call(channel_id, start, handler)
        call.held_already(legs=legs, bridges=bridges, conferences=conferences)

    async def _serve(self, call: AriCall, handler: CallHandler) -> None:
        try:
            await handler(call)
        except asyncio.CancelledError:  # shutting down: release before the session closes
            await call.release()
            raise
        except Exception:
            log.exception("ari.call_failed", channel=call.channel_id)
        await call.release()

    def _adopt(self, call: AriCall, channel_id: str) -> None:
        self._owners[channel_id] = call

    def _forget(self, channel_id: str) -> None:
        self._owners.pop(channel_id, None)

    # --- REST -------------------------------------------------------------------------------

    async def operation(self, resource: str, operation: str, /, **params: Any) -> Any:
        """Call an ARI operation as aioari describes it; its answer comes back as JSON (None
        for none)."""
        answer = await self._operate(resource, operation, params)
        return json.loads(answer) if answer else None

    async def command(self, resource: str, operation: str, /, **params: Any) -> None:
        """Call an ARI operation whose answer nobody reads: the channel, bridge or playback
        Asterisk describes in it is not decoded (three such answers a call)."""
        await self._operate(resource, operation, params)

    async def _operate(self, resource: str, operation: str, params: Mapping[str, Any]) -> Any:
        """An operation's request; its answer's body as Asterisk sent it (text or bytes)."""
        if self._client is None or self._http is None:
            raise AriError(0, "not connected to ARI yet")
        known = self._operations.get((resource, operation))
        if known is None:
            described = getattr(getattr(self._client, resource).api, operation, None)
            if described is None or not hasattr(described, "json"):
                raise AttributeError(f"ARI has no operation {resource}.{operation}")
            known = self._operations[(resource, operation)] = _Operation.of(described)
        url, query, body = known.request(params)
        if self._on_request is not None:
            self._on_request(f"{resource}.{operation}")
        started = time.monotonic()
        try:
            return await self._request(known, url, query, body)
        finally:
            if self._on_answer is not None:
                self._on_answer(time.monotonic() - started)

    async def _request(
        self,
        known: _Operation,
        url: str,
        query: Mapping[str, object],
        body: Mapping[str, object] | None,
    ) -> Any:
        """One operation's request, on the event WebSocket when Asterisk answers there; the
        answer's body, undecoded."""
        if self._http is None:
            raise AriError(0, "not connected to ARI yet")
        socket = self._socket
        if self._socket_answers and socket is not None and not socket.closed:
            path = url.removeprefix(f"{self.url}/ari/")
            timeout_s = self._request_timeout_s
            return await self._on_socket(socket, known.method, path, query, body, timeout_s)
        payload = None if body is None else aiohttp.JsonPayload(body)
        response = await self._http.request(
            known.method, url, params=query, data=payload, headers=ACCEPT_JSON
        )
        async with response:
            return await response.read()  # ARI answers JSON in UTF-8: no charset guessing

    async def _on_socket(
        self,
        socket: _BatchedFrames,
        method: str,
        path: str,
        query: Mapping[str, object],
        body: Mapping[str, object] | None,
        timeout_s: float,
    ) -> Any:
        """One request on the event WebSocket; its answer's body (JSON, undecoded), errors as
        over HTTP."""
        request_id = str(next(self._request_ids))
        request: dict[str, object] = {
            "type": "RESTRequest",
            "request_id": request_id,
            "method": method,
            "uri": path,
        }
        if query:
            request["query_strings"] = [
                {"name": name, "value": query_value(value)} for name, value in query.items()
            ]
        if body is not None:
            request["content_type"] = "application/json"
            request["message_body"] = json.dumps(body)
        loop = asyncio.get_running_loop()
        answer = loop.create_future()
        # No timer per request: `_sweep_answers` fails those still waiting at their deadline.
        self._answers[request_id] = (answer, loop.time() + timeout_s)
        try:
            await socket.send(json.dumps(request))
            message = await answer
        except (aiohttp.ClientError, ConnectionError) as error:
            raise AriError(0, f"ARI {method} {self.url}/ari/{path}: {error!r}") from error
        except TimeoutError as error:
            where = f"ARI {method} {self.url}/ari/{path}"
            raise AriError(0, f"{where}: no answer on the WebSocket in {timeout_s} s") from error
        finally:
            self._answers.pop(request_id, None)
        status = int(message.get("status_code", 0))
        text = str(message.get("message_body") or "")
        if status >= HTTPStatus.BAD_REQUEST or status == 0:
            error_type = AriNotFound if status == HTTPStatus.NOT_FOUND else AriError
            raise error_type(status, f"ARI {method} {self.url}/ari/{path} -> {status} {text}")
        return text

    async def _sweep_answers(self) -> None:
        """Fail the requests on the socket whose answer is overdue, every ANSWER_SWEEP_S: one
        task instead of a timer per request (a future awaited under `asyncio.timeout` cost
        12 µs against 0.7 µs without: 50,000 of them, the machine of bench/calls)."""
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(ANSWER_SWEEP_S)
            now = loop.time()
            for answer, deadline in list(self._answers.values()):
                if deadline <= now and not answer.done():
                    answer.set_exception(TimeoutError())

    async def rest(self, method: str, path: str, json: Any = None, **params: object) -> Any:
        """A raw ARI request, for what aioari cannot express."""
        if self._http is None:
            raise AriError(0, "the ARI connection is not open")
        data = None if json is None else aiohttp.JsonPayload(json)
        if self._on_request is not None:
            self._on_request(f"{method} {path.split('/')[1]}")
        response = await self._http.request(
            method, f"{self.url}/ari{path}", params=params, data=data
        )
        async with response:
            if response.status == HTTPStatus.NO_CONTENT:
                return None
            return await response.json()

    async def channels_in_app(self) -> list[str]:
        """Ids of the channels in the application now."""
        application = await self.operation("applications", "get", applicationName=self.app)
        return [str(channel) for channel in application.get("channel_ids", [])]

    async def channel(self, channel_id: str) -> dict[str, Any] | None:
        """A channel's state, or None if it is gone."""
        try:
            found: dict[str, Any] = await self.rest("GET", f"/channels/{channel_id}")
        except AriNotFound:
            return None
        return found

    async def bridges(self) -> list[dict[str, Any]]:
        """Every bridge Asterisk has now."""
        found: list[dict[str, Any]] = await self.rest("GET", "/bridges")
        return found

    async def hang_up_channel(self, channel_id: str) -> None:
        """Hang up a channel no call of ours holds; one already gone is no error."""
        with contextlib.suppress(AriNotFound):
            await self.rest("DELETE", f"/channels/{channel_id}")

    async def destroy_bridge(self, bridge_id: str) -> None:
        """Destroy a bridge no call of ours holds; one already gone is no error."""
        with contextlib.suppress(AriNotFound):
            await self.rest("DELETE", f"/bridges/{bridge_id}")


class AriRecordings:
    """Asterisk's stored recordings, over ARI's REST API with a session of the caller's."""

    def __init__(self, session: aiohttp.ClientSession, url: str) -> None:
        self._session = session
        self._base = f"{url.rstrip('/')}/ari/recordings/stored"

    async def recording_file(self, name: str) -> bytes | None:
        """A stored recording's file, or None if Asterisk has none by that name."""
        async with self._session.get(f"{self._base}/{name}/file") as response:
            if response.status == HTTPStatus.NOT_FOUND:
                return None
            if response.status >= HTTPStatus.BAD_REQUEST:
                raise AriError(response.status, f"ARI GET recording {name}: {response.status}")
            return await response.read()

    async def delete_recording(self, name: str) -> None:
        """Delete a stored recording; one already gone is no error."""
        async with self._session.delete(f"{self._base}/{name}") as response:
            if response.status not in (HTTPStatus.NO_CONTENT, HTTPStatus.NOT_FOUND):
                raise AriError(response.status, f"ARI DELETE recording {name}: {response.status}")


async def _together(*steps: Awaitable[Any]) -> None:
    """Await requests sent together (in one `send`); raise the first one's error, once all
    have answered."""
    results = await asyncio.gather(*steps, return_exceptions=True)
    for result in results:
        if isinstance(result, BaseException):
            raise result


def stasis_args(channel: Mapping[str, Any]) -> list[str]:
    """The arguments a channel entered the application with, read from where its dialplan is
    (`Stasis(app,+33...)`): what its StasisStart said, for a channel found later."""
    dialplan = channel.get("dialplan")
    data = str(dialplan.get("app_data", "")) if isinstance(dialplan, Mapping) else ""
    return data.split(",")[1:] if "," in data else []


def dial_result(status: object) -> DialStatus | None:
    """How a leg's ringing ended, from a Dial event's `dialstatus`, in the flow's words
    (CHANUNAVAIL and the like are FAILED); None while it rings, or once we cancelled it."""
    text = status if isinstance(status, str) else ""
    if text in QUIET_DIAL_STATUSES:
        return None
    return DIAL_STATUSES.get(text, DialStatus.FAILED)


def unanswered_result(cause: object) -> DialStatus:
    """Why a leg that never answered ended, from its ChannelDestroyed's Q.850 `cause`."""
    if cause in BUSY_CAUSES:
        return DialStatus.BUSY
    if cause in NO_ANSWER_CAUSES:
        return DialStatus.NO_ANSWER
    return DialStatus.FAILED


def event_age(message: Mapping[str, Any]) -> float:
    """How long ago Asterisk made an event, by its `timestamp` (Asterisk's clock against
    ours: on one machine, or NTP-synchronised ones), in seconds; 0 when it has none or it
    reads as being from the future."""
    try:
        made = datetime.fromisoformat(str(message["timestamp"])).timestamp()
    except (KeyError, ValueError):
        return 0.0
    return max(time.time() - made, 0.0)


def _channel_of(message: Mapping[str, Any]) -> str | None:
    """The channel an event is about: the dialled leg for Dial, the target of media events."""
    kind = message.get("type")
    if kind == "Dial":
        peer = message.get("peer")
        return str(peer["id"]) if isinstance(peer, Mapping) else None
    for media in ("playback", "recording"):
        if isinstance(target := message.get(media), Mapping):
            uri = str(target.get("target_uri", ""))
            return uri.removeprefix("channel:") if uri.startswith("channel:") else None
    channel = message.get("channel")
    return str(channel["id"]) if isinstance(channel, Mapping) else None


class AriCall:
    """One call in the application: its event queue and what it holds (implements AriCallPort)."""

    def __init__(
        self, connection: AriConnection, channel_id: str, start: Mapping[str, Any]
    ) -> None:
        self._connection = connection
        self.channel_id = channel_id
        self.args = tuple(str(arg) for arg in start.get("args", []))
        channel = start.get("channel", {})
        caller = channel.get("caller", {})
        self.caller_number: str | None = caller.get("number") or None
        # A Local channel caller (tests, the bench, the demo) is not told that a leg rings
        # (`ring`): told, it hears a ring tone that neither `DELETE .../ring` nor the leg's
        # answer stops (measured on Asterisk 22.10: 40 answered Local channels told to ring
        # cost Asterisk 100 CPU ms/s more, as much after the DELETE; the caller still heard
        # the tone with the phone answered). A trunk's caller (PJSIP) is told.
        self._told_ringing = not str(channel.get("name", "")).startswith("Local/")
        self._queue: asyncio.Queue[AsteriskEvent | object] = asyncio.Queue()
        self._playbacks: set[str] = set()
        self._legs: set[str] = set()
        self._answered: set[str] = set()  # legs that answered, until gone
        self._settled: set[str] = set()  # legs whose ringing's end or departure was told
        self._recording_since: dict[str, float] = {}  # when each recording started
        self._bridges: set[str] = set()
        self._conferences: set[str] = set()
        self._recordings: set[str] = set()
        self._legs_entered: dict[str, asyncio.Event] = {}
        self._caller_gone = False
        self._caller_left_told = False
        self._handed_back = False
        self._released = False
        self._owned: set[str] = {channel_id}
        """Every channel routed to this call: its own and every leg it ever dialled (a leg
        whose hang-up failed must not stay owned by a call that has ended)."""

    def _own(self, leg_id: str) -> None:
        """Route a leg's events to this call until it is released (hung up or not)."""
        self._owned.add(leg_id)
        self._connection._adopt(self, leg_id)

    def held_already(
        self,
        *,
        legs: Iterable[str] = (),
        bridges: Iterable[str] = (),
        conferences: Iterable[str] = (),
    ) -> None:
        """Take on what the call held before we had it: released with the call."""
        for leg in legs:  # bridged with the caller: their departure ends the call
            self._legs.add(leg)
            self._answered.add(leg)
            self._own(leg)
        self._bridges.update(bridges)
        self._conferences.update(conferences)

    def deliver(self, kind: str, channel_id: str, message: Mapping[str, Any]) -> None:
        """Tell the call's task what an ARI event about it means (if anything), and keep
        track of what has gone by itself."""
        event = self.told(kind, channel_id, message)
        if event is not None:
            self._queue.put_nowait(event)

    def told(  # noqa: PLR0911, PLR0912 - one case per ARI event
        self, kind: str, channel_id: str, message: Mapping[str, Any]
    ) -> AsteriskEvent | None:
        """What an ARI event means to the call, in the flow's words (None: nothing)."""
        caller = channel_id == self.channel_id
        if kind == "ChannelDtmfReceived":
            digit = message.get("digit")
            if caller and isinstance(digit, str) and digit:
                return KeyPressed(digit, time.monotonic())
        elif kind == "PlaybackFinished":
            playback = message.get("playback")
            if isinstance(playback, Mapping) and isinstance(ari_id := playback.get("id"), str):
                self._playbacks.discard(ari_id)
                return PlaybackEnded(ari_id, failed=playback.get("state") == "failed")
        elif kind == "Dial":
            result = dial_result(message.get("dialstatus"))
            if caller or result is None or channel_id in self._settled:
                return None
            if result is DialStatus.ANSWERED:
                self._answered.add(channel_id)
            else:
                self._settled.add(channel_id)
            return DialResult(channel_id, result)
        elif caller and kind in GOING_EVENT_TYPES:
            # The request comes first: the caller is going, whatever its other events say
            # meanwhile (a playback cut by the hangup reports itself "failed"), and releasing
            # the call does not hang it up again.
            self._caller_gone = True
            if not self._caller_left_told:
                self._caller_left_told = True
                return Hangup()
        elif kind in GOING_EVENT_TYPES:  # a leg: releasing the call leaves it alone
            self._legs.discard(channel_id)
            if channel_id in self._settled:
                return None
            if channel_id in self._answered:
                self._settled.add(channel_id)
                return Hangup(channel_id)
            if kind == "ChannelDestroyed":  # it never answered: its cause says why
                self._settled.add(channel_id)
                return DialResult(channel_id, unanswered_result(message.get("cause")))
        elif kind == "StasisStart":
            if (entered := self._legs_entered.pop(channel_id, None)) is not None:
                entered.set()
        elif kind.startswith("Recording"):
            return self._recording_event(kind, message.get("recording"))
        return None

    def _recording_event(self, kind: str, recording: object) -> AsteriskEvent | None:
        if not isinstance(recording, Mapping) or not isinstance(name := recording.get("name"), str):
            return None
        now = time.monotonic()
        if kind == "RecordingStarted":
            self._recording_since[name] = now
            return None
        self._recordings.discard(name)
        if kind == "RecordingFailed":
            cause = recording.get("cause")
            return RecordingFailed(name, "failed" if cause is None else str(cause))
        # Asterisk 22 reports a duration of 0 for recordings that are not: measured here.
        reported = recording.get("duration")
        measured = now - self._recording_since.pop(name, now)
        return RecordingFinished(
            name, max(float(reported) if isinstance(reported, int | float) else 0.0, measured)
        )

    async def events(self) -> AsyncIterator[AsteriskEvent]:
        """What happens to the call, in order, until the call is released."""
        while True:
            event = await self._queue.get()
            if event is END_OF_CALL:
                return
            yield cast(AsteriskEvent, event)

    async def _call(self, resource: str, operation: str, /, **params: Any) -> None:
        await self._connection.command(resource, operation, **params)

    async def _gone_ok(self, resource: str, operation: str, /, **params: Any) -> bool:
        try:
            await self._call(resource, operation, **params)
        except AriNotFound:
            return False
        return True

    async def answer(self) -> None:
        """Answer the caller's channel."""
        await self._call("channels", "answer", channelId=self.channel_id)

    async def play(self, playback_id: str, media: Sequence[str]) -> None:
        """Play media URIs one after the other as one playback."""
        self._playbacks.add(playback_id)
        try:
            await self._call(
                "channels",
                "playWithId",
                channelId=self.channel_id,
                playbackId=playback_id,
                media=list(media),
            )
        except AriError:
            self._playbacks.discard(playback_id)
            raise

    async def stop_playback(self, playback_id: str) -> bool:
        """Stop a playback; False if it had just finished (ARI answers 404)."""
        self._playbacks.discard(playback_id)
        return await self._gone_ok("playbacks", "stop", playbackId=playback_id)

    async def dial(
        self,
        leg_id: str,
        endpoint: str,
        timeout_s: int,
        caller_id: str | None = None,
        bridge_id: str | None = None,
    ) -> None:
        """Create a leg in the application and ring it; Dial events come to this call.

        `caller_id` becomes the leg's caller number (what a SIP phone shows; the far half of
        a Local channel does not inherit it).

        With `bridge_id`, the leg rings inside that mixing bridge with the caller (ARI's
        pattern for a created channel: into a bridge, then dialled), so that its answer
        connects them with no request at that moment. A bridge the call does not hold yet is
        made while the leg is being created (the two requests leave together); once the leg
        is in the application, it is added (with the caller, into a new bridge) and dialled,
        both requests again together: Asterisk runs a channel's commands in the order they
        reach it, and a leg dialled first would only move from ARI's own dialling bridge
        into ours.
        """
        # Registered first: the leg's StasisStart may arrive before the answer to `create`.
        self._own(leg_id)
        self._legs.add(leg_id)
        entered = self._legs_entered.setdefault(leg_id, asyncio.Event())
        # aioswagger refuses a parameter passed as None: leave `variables` out instead.
        variables = {"variables": {"CALLERID(num)": caller_id}} if caller_id else {}
        create = self._call(
            "channels",
            "create",
            endpoint=endpoint,
            app=self._connection.app,
            channelId=leg_id,
            originator=self.channel_id,
            **variables,
        )
        fresh = bridge_id is not None and bridge_id not in self._bridges
        try:
            if fresh and bridge_id is not None:
                self._bridges.add(bridge_id)
                bridge = self._call("bridges", "createWithId", bridgeId=bridge_id, type="mixing")
                await _together(create, bridge)
            else:
                await create
            # Dialling a created channel before its StasisStart fails with 409 ("Channel not
            # in Stasis application"), and so does adding it to a bridge: wait for it, briefly.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(LEG_ENTRY_TIMEOUT_S):
                    await entered.wait()
            # No `caller`: with one, Asterisk forwards the leg's busy or ringing indications to
            # the caller's channel, and such a frame ends the prompt playing there as "failed".
            dialling = self._call("channels", "dial", channelId=leg_id, timeout=timeout_s)
            if bridge_id is None:
                await dialling
            else:
                joining = [self.channel_id, leg_id] if fresh else leg_id
                add = self._call("bridges", "addChannel", bridgeId=bridge_id, channel=joining)
                await _together(add, dialling)
        except AriError:
            self._legs_entered.pop(leg_id, None)
            # Kept among the call's legs if this fails too: releasing the call tries again.
            with contextlib.suppress(AriError):
                await self.hang_up_leg(leg_id)
            raise

    async def ring(self) -> None:
        """Tell the caller's line that the callee rings (`POST .../ring`): an answered SIP
        line cannot signal it, so Asterisk plays its ringback tone in-band; the answer of a
        leg in the caller's bridge stops it (the bridge passes the answer on to the caller
        as "stop indicating"). Not for a Local channel caller (see `__init__`)."""
        if self._told_ringing:
            await self._call("channels", "ring", channelId=self.channel_id)

    async def stop_ringing(self) -> None:
        """Stop the caller's ringing (`DELETE .../ring`)."""
        if self._told_ringing:
            await self._call("channels", "ringStop", channelId=self.channel_id)

    async def hang_up_leg(self, leg_id: str) -> bool:
        """Hang up a leg, ringing or connected; False if it was gone. A leg whose hang-up
        fails (ARI too slow to answer) stays the call's, so that releasing it tries again."""
        gone = await self._gone_ok("channels", "hangup", channelId=leg_id, reason="normal")
        self._legs.discard(leg_id)
        return gone

    async def bridge(self, bridge_id: str, leg_id: str) -> None:
        """Put the caller and a leg together in a new mixing bridge."""
        self._bridges.add(bridge_id)
        await self._call("bridges", "createWithId", bridgeId=bridge_id, type="mixing")
        await self._call(
            "bridges", "addChannel", bridgeId=bridge_id, channel=[self.channel_id, leg_id]
        )

    async def destroy_bridge(self, bridge_id: str) -> bool:
        """Destroy one of the call's bridges; False if it was gone."""
        self._bridges.discard(bridge_id)
        return await self._gone_ok("bridges", "destroy", bridgeId=bridge_id)

    async def join_conference(self, conference_id: str) -> None:
        """Put the caller into a shared mixing bridge, created when missing."""
        self._conferences.add(conference_id)
        # POST /bridges/{id} creates the bridge, or leaves an existing one as it is.
        await self._call(
            "bridges", "createWithId", bridgeId=conference_id, type="mixing,dtmf_events"
        )
        await self._call("bridges", "addChannel", bridgeId=conference_id, channel=self.channel_id)

    async def leave_conference(self, conference_id: str) -> None:
        """Take the caller out of a shared bridge; destroy it once nobody is left."""
        self._conferences.discard(conference_id)
        with contextlib.suppress(AriError):  # 404: bridge gone; 422: caller already out
            await self._call(
                "bridges", "removeChannel", bridgeId=conference_id, channel=self.channel_id
            )
        with contextlib.suppress(AriNotFound):
            bridge = await self._connection.operation("bridges", "get", bridgeId=conference_id)
            if not bridge.get("channels"):
                await self._gone_ok("bridges", "destroy", bridgeId=conference_id)

    async def record(
        self,
        name: str,
        *,
        max_duration_s: int,
        max_silence_s: int,
        beep: bool,
        terminate_on: str,
    ) -> None:
        """Record the caller into `name` (wav); RecordingFinished or RecordingFailed follows."""
        self._recordings.add(name)
        await self._call(
            "channels",
            "record",
            channelId=self.channel_id,
            name=name,
            format="wav",
            maxDurationSeconds=max_duration_s,
            maxSilenceSeconds=max_silence_s,
            beep=beep,
            terminateOn=terminate_on,
            ifExists="overwrite",
        )

    async def stop_recording(self, name: str) -> bool:
        """Stop a recording and keep it; False if it had already stopped."""
        self._recordings.discard(name)
        return await self._gone_ok("recordings", "stop", recordingName=name)

    async def recording_stored(self, name: str) -> bool:
        """Whether Asterisk holds a finished recording by that name."""
        try:
            await self._connection.rest("GET", f"/recordings/stored/{name}")
        except AriNotFound:
            return False
        return True

    async def variable(self, name: str) -> str | None:
        """A channel variable of the caller's channel (None when unset or empty)."""
        try:
            found = await self._connection.operation(
                "channels", "getChannelVar", channelId=self.channel_id, variable=name
            )
        except AriNotFound:
            return None
        value = found.get("value") if isinstance(found, dict) else None
        return str(value) if value else None

    async def set_variable(self, name: str, value: str) -> None:
        """Set a channel variable on the caller's channel ("" clears it)."""
        await self._call(
            "channels", "setChannelVar", channelId=self.channel_id, variable=name, value=value
        )

    async def continue_in_dialplan(self) -> bool:
        """Hand the caller back to the dialplan at the next priority."""
        handed = await self._gone_ok("channels", "continueInDialplan", channelId=self.channel_id)
        self._handed_back = self._handed_back or handed
        return handed

    async def hang_up(self, reason: str = "normal") -> bool:
        """Hang up the caller (`reason`: normal, unallocated, busy...); False if already gone."""
        hung_up = await self._gone_ok(
            "channels", "hangup", channelId=self.channel_id, reason=reason
        )
        self._caller_gone = True  # releasing the call must not hang it up again, as "normal"
        return hung_up

    async def release(self) -> None:
        """Stop, hang up and destroy everything the call still holds; end its event stream.

        Best effort: each release is tried even when another fails, and what had already
        gone by itself (404) is no error.
        """
        if self._released:
            return
        self._released = True
        steps: list[tuple[str, str, dict[str, Any]]] = [
            *(("recordings", "stop", {"recordingName": r}) for r in self._recordings),
            *(("playbacks", "stop", {"playbackId": p}) for p in self._playbacks),
            *(("channels", "hangup", {"channelId": leg}) for leg in self._legs),
            *(("bridges", "destroy", {"bridgeId": b}) for b in self._bridges),
        ]
        if not (self._caller_gone or self._handed_back):
            steps.append(("channels", "hangup", {"channelId": self.channel_id}))
        for resource, operation, params in steps:
            await self._release_one(resource, operation, params)
        for conference in list(self._conferences):
            await self.leave_conference(conference)
        for channel_id in self._owned:
            self._connection._forget(channel_id)
        self._queue.put_nowait(END_OF_CALL)

    async def _release_one(self, resource: str, operation: str, params: dict[str, Any]) -> None:
        """One release step, tried again after a failure (an overloaded Asterisk answers
        late); what still fails is left to the orphan sweep (`Receptionist.sweep`)."""
        for attempt in range(1, RELEASE_ATTEMPTS + 1):
            try:
                await self._gone_ok(resource, operation, **params)
            except AriError as error:
                log.warning(
                    "ari.release_failed",
                    what=f"{resource}.{operation}",
                    attempt=attempt,
                    error=error.message,
                )
                if attempt < RELEASE_ATTEMPTS:
                    await asyncio.sleep(RELEASE_RETRY_S * attempt)
            else:
                return
