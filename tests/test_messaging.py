"""NATS request/reply through the libs/ helpers, and JetStream publishing, on a real server."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator

import pytest
from nats.aio.client import Client as NatsClient
from nats.aio.msg import Msg
from nats.micro import add_service
from nats.micro.request import Request
from nats.micro.service import Service
from rcp import subjects
from rcp.contracts import CallEvent, EchoRequest, EchoResult, Reply
from rcp.errors import ErrorCode, ReceptionistError, RemoteError, ServiceUnavailable
from rcp.messaging import (
    ConcurrentRequests,
    Encoded,
    NotAllStored,
    PipelinedPublisher,
    endpoint,
    ensure_streams,
    publish_event,
    request,
)

TENANT = uuid.UUID("6f1c1f3e-2d4b-4c55-9a77-0c9d7f0e1a01")


async def echo(req: EchoRequest) -> EchoResult:
    if req.payload == "refuse":
        raise ReceptionistError(ErrorCode.NOT_FOUND, "nothing called refuse", {"what": "refuse"})
    if req.payload == "crash":
        raise RuntimeError("a bug")
    return EchoResult(payload=req.payload[::-1])


async def ask(client: NatsClient, subject: str, payload: str) -> EchoResult:
    """Send an echo request through the libs/ helper."""
    request_ = EchoRequest(tenant_id=TENANT, payload=payload)
    return await request(client, subject, request_, EchoResult, timeout_s=5)


@pytest.fixture
async def echo_service(nats_client: NatsClient) -> AsyncIterator[tuple[Service, str]]:
    # A subject of its own per test, so that parallel runs on one server do not answer each other.
    scope = uuid.uuid4().hex
    service = await add_service(nats_client, name=subjects.ECHO_SERVICE, version="1.0.0")
    await service.add_endpoint(
        name="echo", subject=subjects.ECHO.every_tenant(scope), handler=endpoint(EchoRequest, echo)
    )
    try:
        yield service, subjects.ECHO.subject(TENANT, scope)
    finally:
        await service.stop()


async def test_request_returns_the_typed_result(
    nats_client: NatsClient, echo_service: tuple[Service, str]
) -> None:
    _, subject = echo_service
    result = await ask(nats_client, subject, "Émile")
    assert result == EchoResult(payload="elimÉ")


async def test_reply_is_the_reply_contract_around_the_result_encoded_or_not(
    nats_client: NatsClient, echo_service: tuple[Service, str]
) -> None:
    service, subject = echo_service

    async def encoded(req: EchoRequest) -> Encoded[EchoResult]:
        return Encoded(EchoResult(payload=req.payload.upper()).model_dump_json().encode())

    await service.add_endpoint(
        name="shout",
        subject=f"{subject}.shout",
        handler=endpoint(EchoRequest, encoded),
    )
    body = EchoRequest(tenant_id=TENANT, payload='Émile "É"').model_dump_json().encode()
    raw = await nats_client.request(subject, body, timeout=5)
    assert raw.data == Reply(result=EchoResult(payload='"É" elimÉ')).model_dump_json().encode()
    shouted = await ask(nats_client, f"{subject}.shout", 'Émile "É"')
    assert shouted == EchoResult(payload='ÉMILE "É"')


async def test_body_naming_the_tenant_in_another_spelling_is_its_subjects(
    nats_client: NatsClient, echo_service: tuple[Service, str]
) -> None:
    _, subject = echo_service
    for tenant in (str(TENANT).upper(), TENANT.hex, None):
        body = {"payload": "abc"} | ({"tenant_id": tenant} if tenant else {})
        raw = await nats_client.request(subject, json.dumps(body).encode(), timeout=5)
        assert Reply[EchoResult].model_validate_json(raw.data).result == EchoResult(payload="cba")
    other = {"payload": "abc", "tenant_id": str(uuid.uuid4()).upper()}
    raw = await nats_client.request(subject, json.dumps(other).encode(), timeout=5)
    assert b'"code":"forbidden"' in raw.data
    assert other["tenant_id"].encode() in raw.data  # named as the body spells it


async def test_handler_error_comes_back_typed_with_its_code(
    nats_client: NatsClient, echo_service: tuple[Service, str]
) -> None:
    _, subject = echo_service
    with pytest.raises(RemoteError) as caught:
        await ask(nats_client, subject, "refuse")
    assert (caught.value.code, caught.value.details) == ("not_found", {"what": "refuse"})
    raw = await nats_client.request(
        subject,
        EchoRequest(tenant_id=TENANT, payload="refuse").model_dump_json().encode(),
        timeout=5,
    )
    assert raw.headers is not None
    assert raw.headers.get("Nats-Service-Error-Code") == "not_found"


async def test_unexpected_exception_becomes_internal_error_reply(
    nats_client: NatsClient, echo_service: tuple[Service, str]
) -> None:
    _, subject = echo_service
    with pytest.raises(RemoteError) as caught:
        await ask(nats_client, subject, "crash")
    assert caught.value.code == "internal"
    assert "a bug" not in caught.value.message


async def test_request_breaking_the_contract_gets_invalid_request(
    nats_client: NatsClient, echo_service: tuple[Service, str]
) -> None:
    _, subject = echo_service
    reply = await nats_client.request(subject, b'{"words": "no payload"}', timeout=5)
    assert b'"code":"invalid_request"' in reply.data
    assert b"payload" in reply.data
    reply = await nats_client.request(subject, b"not json", timeout=5)
    assert b'"code":"invalid_request"' in reply.data


async def test_unknown_schema_version_is_refused_with_its_code(
    nats_client: NatsClient, echo_service: tuple[Service, str]
) -> None:
    _, subject = echo_service
    body = EchoRequest(tenant_id=TENANT, payload="x", schema_version=99).model_dump_json()
    reply = await nats_client.request(subject, body.encode(), timeout=5)
    assert b'"code":"unsupported_schema_version"' in reply.data


async def test_request_with_no_service_raises_unavailable_at_once(nats_client: NatsClient) -> None:
    with pytest.raises(ServiceUnavailable) as caught:
        await request(
            nats_client,
            subjects.ECHO.subject(TENANT, uuid.uuid4().hex),
            EchoRequest(tenant_id=TENANT, payload="x"),
            EchoResult,
            timeout_s=5,
        )
    assert caught.value.code == "unavailable"


async def test_call_event_is_stored_in_the_events_stream(nats_client: NatsClient) -> None:
    js = nats_client.jetstream()
    await ensure_streams(js)
    await ensure_streams(js)  # idempotent
    call_id = uuid.uuid4().hex
    event = CallEvent(
        tenant_id=TENANT, call_id=call_id, kind="started", data={"number": "+33199000001"}
    )
    subject = subjects.call_event(TENANT, "started")

    seq = await publish_event(js, subject, event, message_id=call_id)
    again = await publish_event(js, subject, event, message_id=call_id)

    assert again == seq  # the same message id is stored once
    stored = await js.get_msg(subjects.EVENTS_STREAM, seq)
    assert stored.subject == f"rcp.events.{TENANT}.call.started"
    assert CallEvent.model_validate_json(stored.data or b"") == event
    info = await js.stream_info(subjects.EVENTS_STREAM)
    assert info.config.subjects == ["rcp.events.>"]
    assert info.config.max_age == 7 * 24 * 3600


@pytest.fixture
async def publisher(nats_client: NatsClient) -> PipelinedPublisher:
    js = nats_client.jetstream()
    await ensure_streams(js)
    return PipelinedPublisher(js)


async def test_messages_published_together_are_stored_in_their_order_each_once(
    nats_client: NatsClient, publisher: PipelinedPublisher
) -> None:
    tenant, call_id = uuid.uuid4(), uuid.uuid4().hex
    messages = [
        (subjects.call_event(tenant, "menu"), b'{"n":%d}' % n, f"{call_id}:{n % 5}")
        for n in range(8)  # the last three repeat message ids: stored once
    ]
    await publisher.publish(messages[:5], 10)
    await publisher.publish(messages[5:], 10)
    sub = await nats_client.jetstream().pull_subscribe(
        subjects.tenant_call_events(tenant), stream=subjects.EVENTS_STREAM
    )
    stored = [json.loads(m.data)["n"] for m in await sub.fetch(10, timeout=2)]
    await sub.unsubscribe()
    assert stored == [0, 1, 2, 3, 4]


async def test_messages_published_together_say_how_many_are_known_stored_before_one_refused(
    publisher: PipelinedPublisher,
) -> None:
    call_id = uuid.uuid4().hex
    kept = subjects.call_event(uuid.uuid4(), "menu")
    nowhere = f"rcp.tests.no_stream.{call_id}"  # no stream takes it: 503, no responders
    messages = [(kept, b"{}", f"{call_id}:1"), (nowhere, b"{}", f"{call_id}:2")]
    with pytest.raises(NotAllStored) as refused:
        await publisher.publish([*messages, (kept, b"{}", f"{call_id}:3")], 10)
    # Only what is known stored counts: the refusal may come before the first one's ack.
    assert refused.value.stored in (0, 1)
    assert "503" in str(refused.value)
    await publisher.publish([(kept, b"{}", f"{call_id}:4")], 10)  # and it goes on


async def test_concurrent_requests_answer_inline_requests_in_the_callback_and_others_in_tasks() -> (
    None
):
    released = asyncio.Event()
    answered: list[str] = []

    async def handler(req: Request) -> None:
        await released.wait()
        answered.append(req.subject)

    in_flight = ConcurrentRequests(4)
    spawn = in_flight.wrap(handler, inline=lambda req: req.subject == "inline")
    queued = Request(Msg(None, subject="queued"))  # type: ignore[arg-type]
    inline = Request(Msg(None, subject="inline"))  # type: ignore[arg-type]

    await spawn(queued)  # handed to a task: the callback returns before it is answered
    assert answered == []

    async def answer_inline() -> None:
        await spawn(inline)

    answering = asyncio.create_task(answer_inline())
    await asyncio.sleep(0)
    assert not answering.done()  # the callback itself waits for the inline answer
    released.set()
    await answering
    await in_flight.drain()
    assert sorted(answered) == ["inline", "queued"]
