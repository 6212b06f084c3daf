"""The ARI adapter on the real Asterisk 22 of the local stack, with Local channels.

The adapter runs an application name of its own; the caller's phone is the `test-phones`
application, held by the test (see stasis_ari_support). If another run takes test-phones
over meanwhile, a test fails with PhonesTakenOver: rerun it.
"""

from __future__ import annotations

import asyncio
import base64
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any, cast

import pytest
from aiohttp import web
from rcp.callflow.events import (
    DialResult,
    DialStatus,
    Hangup,
    RecordingFailed,
    RecordingFinished,
)
from rcp_devstack.settings import StackSettings
from rcp_stasis.ari import (
    CALL_EVENT_TYPES,
    AriCall,
    AriConnection,
    AriError,
    AriNotFound,
    dial_result,
    event_age,
    query_value,
    unanswered_result,
)
from rcp_stasis.ports import KeyPressed, PlaybackEnded
from stasis_ari_support import (
    CALLED,
    Phones,
    Receptionist,
    TcpRelay,
    eventually,
    next_event,
    owned_by,
    phones,
    receptionist,
    unique_app,
    unique_number,
)

pytestmark = pytest.mark.asterisk

FAST_RETRY: dict[str, Any] = {"reconnect_min_s": 0.1, "reconnect_max_s": 0.5}
LONG_PROMPT = ["sound:hello-world"] * 6


@pytest.fixture
async def phone_app(asterisk: StackSettings) -> AsyncIterator[Phones]:
    async with phones(asterisk) as held:
        yield held


@pytest.fixture
async def adapter(asterisk: StackSettings) -> AsyncIterator[Receptionist]:
    async with receptionist(asterisk, unique_app("receptionist"), **FAST_RETRY) as running:
        async with asyncio.timeout(20):
            await running.connection.wait_connected()
        yield running


@asynccontextmanager
async def through_relay(
    asterisk: StackSettings, name: str, **options: Any
) -> AsyncIterator[tuple[TcpRelay, Receptionist]]:
    """The adapter on an application of its own, its every connection to ARI through a relay."""
    host, port = asterisk.ari_url.removeprefix("http://").split(":")
    async with (
        TcpRelay(host, int(port)) as relay,
        receptionist(
            asterisk, unique_app(name), url=f"http://127.0.0.1:{relay.port}", **options
        ) as running,
    ):
        yield relay, running


async def playing(phone_app: Phones, playback_id: str) -> None:
    """Wait until Asterisk plays a playback (the service is not sent PlaybackStarted)."""
    async with asyncio.timeout(10):
        while True:
            path = f"/playbacks/{playback_id}"
            found = await phone_app.probe.request("GET", path, missing_ok=True)
            if found is not None and found["state"] == "playing":
                return
            await asyncio.sleep(0.05)


async def test_a_call_is_handed_over_with_its_arguments_and_answered(
    adapter: Receptionist, phone_app: Phones
) -> None:
    _, channel = await phone_app.call(adapter.connection.app, None, "+33612345678")
    call = await adapter.next_call()
    assert call.channel_id == channel
    assert call.args == (CALLED, "+33612345678")
    await call.answer()
    state = await phone_app.probe.request("GET", f"/channels/{channel}")
    assert state["state"] == "Up"
    assert channel in await adapter.connection.channels_in_app()


async def test_a_prompt_is_heard_by_the_caller_and_its_end_arrives(
    adapter: Receptionist, phone_app: Phones
) -> None:
    phone, _ = await phone_app.call(adapter.connection.app)
    call = await adapter.next_call()
    heard = unique_app("heard")
    await phone_app.probe.request(
        "POST", f"/channels/{phone}/record", name=heard, format="wav", ifExists="overwrite"
    )
    await call.play("prompt-1", ["sound:hello-world"])
    finished = await next_event(call, lambda e: isinstance(e, PlaybackEnded))
    assert finished == PlaybackEnded("prompt-1")
    await phone_app.probe.request("POST", f"/recordings/live/{heard}/stop")
    await asyncio.sleep(0.2)  # the file is closed once the stop is processed
    assert await phone_app.recorded_loudness(heard) > 100  # speech, not silence


async def test_a_digit_arrives_and_stops_the_playback_even_if_it_just_finished(
    adapter: Receptionist, phone_app: Phones
) -> None:
    phone, _ = await phone_app.call(adapter.connection.app)
    call = await adapter.next_call()
    await call.play("greeting-1", LONG_PROMPT)
    await playing(phone_app, "greeting-1")
    await phone_app.press(phone, "7")
    digit = await next_event(call, lambda e: isinstance(e, KeyPressed))
    assert digit == KeyPressed("7", received=0.0)
    assert await call.stop_playback("greeting-1") is True
    finished = await next_event(call, lambda e: isinstance(e, PlaybackEnded))
    assert finished == PlaybackEnded("greeting-1")
    assert await call.stop_playback("greeting-1") is False  # 404: already over, no error


async def test_a_dialled_leg_reports_its_answer_and_is_bridged_with_the_caller(
    adapter: Receptionist, phone_app: Phones
) -> None:
    _, _ = await phone_app.call(adapter.connection.app)
    call = await adapter.next_call()
    number = unique_number()
    leg = f"{call.channel_id}-leg-1"
    await call.dial(leg, f"Local/{number}@test-phones/n", 20, caller_id="+33612345678")
    ringing = await phone_app.ringing(number)
    await phone_app.probe.request("POST", f"/channels/{ringing}/answer")
    answer = await next_event(call, lambda e: isinstance(e, DialResult))
    assert answer == DialResult(leg, DialStatus.ANSWERED)
    bridge = f"{call.channel_id}-bridge-2"
    await call.bridge(bridge, leg)
    state = await phone_app.probe.request("GET", f"/bridges/{bridge}")
    assert sorted(state["channels"]) == sorted([call.channel_id, leg])


async def test_a_hangup_releases_every_channel_bridge_and_playback_of_the_call(
    adapter: Receptionist, phone_app: Phones
) -> None:
    phone, _ = await phone_app.call(adapter.connection.app)
    call = await adapter.next_call()
    await call.play("greeting-2", LONG_PROMPT)
    await playing(phone_app, "greeting-2")
    number = unique_number()
    leg = f"{call.channel_id}-leg-3"
    await call.dial(leg, f"Local/{number}@test-phones/n", 60)  # rings, nobody answers
    ringing = await phone_app.ringing(number)
    conference = unique_app("conference")
    await call.join_conference(conference)
    await phone_app.hang_up(phone)  # the caller hangs up
    await next_event(call, lambda e: e == Hangup())
    adapter.finish[call.channel_id].set()  # the call's task ends; the adapter releases the rest
    async with asyncio.timeout(20):
        async for _ in call.events():
            pass  # the stream ends once everything is released
    for path in (
        f"/channels/{call.channel_id}",
        f"/channels/{leg}",
        f"/bridges/{conference}",
        "/playbacks/greeting-2",
    ):
        assert not await phone_app.exists(path), f"{path} is left over"
    gone = await phone_app.wait_for(
        lambda e: e.get("type") == "StasisEnd" and e["channel"]["id"] == ringing
    )
    assert gone["channel"]["id"] == ringing  # the ringing phone stopped ringing


async def test_a_slow_call_does_not_delay_another(adapter: Receptionist, phone_app: Phones) -> None:
    await phone_app.call(adapter.connection.app)
    stuck = await adapter.next_call()  # its task waits; nobody reads its events
    phone, _ = await phone_app.call(adapter.connection.app)
    lively = await adapter.next_call()
    assert lively.channel_id != stuck.channel_id
    await phone_app.press(phone, "3")
    digit = await next_event(lively, lambda e: isinstance(e, KeyPressed))
    assert digit == KeyPressed("3", received=0.0)


async def test_event_listeners_do_not_grow_with_calls(
    adapter: Receptionist, phone_app: Phones
) -> None:
    before = adapter.connection.listener_count
    for _ in range(3):
        phone, _ = await phone_app.call(adapter.connection.app)
        call = await adapter.next_call()
        await phone_app.hang_up(phone)
        await next_event(call, lambda e: e == Hangup())
        adapter.finish[call.channel_id].set()
    assert adapter.connection.listener_count == before == 1


async def test_ari_errors_come_back_as_our_own_error_types(
    adapter: Receptionist, phone_app: Phones
) -> None:
    phone, _ = await phone_app.call(adapter.connection.app)
    call = owned_by(await adapter.next_call())
    with pytest.raises(AriNotFound) as missing:
        await adapter.connection.operation("channels", "answer", channelId="no-such-channel")
    assert missing.value.status == 404
    with pytest.raises(AriError) as refused:
        await adapter.connection.operation(
            "channels", "record", channelId=call.channel_id, name="x", format="no-such-format"
        )
    assert refused.value.status == 422
    for error in (missing.value, refused.value):
        assert not isinstance(error, web.HTTPException)  # aioari's own would be these
    await phone_app.hang_up(phone)


async def test_an_operation_is_checked_against_aris_own_description_before_any_request(
    adapter: Receptionist,
) -> None:
    # What aioswagger11 checked on every call, the adapter checks once compiled from the
    # resource descriptions aioari loaded from Asterisk.
    connection = adapter.connection
    with pytest.raises(TypeError, match="does not have parameters"):
        await connection.operation("channels", "answer", channelId="x", colour="blue")
    with pytest.raises(TypeError, match="missing required parameter"):
        await connection.operation("channels", "answer")
    with pytest.raises(AttributeError, match="no operation"):
        await connection.operation("channels", "teleport", channelId="x")
    # A list goes comma-joined, a path parameter escaped: Asterisk answers for the right one.
    info = await connection.operation("asterisk", "getInfo", only=["build", "system"])
    assert set(info) == {"build", "system"}
    with pytest.raises(AriNotFound):
        await connection.operation("channels", "get", channelId="no such/channel")


async def test_boolean_parameters_reach_asterisk_as_words(
    adapter: Receptionist, phone_app: Phones
) -> None:
    assert (query_value(True), query_value(False), query_value(["a", 2])) == (
        "true",
        "false",
        "a,2",
    )
    await phone_app.call(adapter.connection.app)
    call = await adapter.next_call()
    name = unique_app("message")
    await call.record(name, max_duration_s=2, max_silence_s=1, beep=True, terminate_on="#")
    async with asyncio.timeout(10):  # beep=True was taken: it records
        while not await phone_app.exists(f"/recordings/live/{name}"):  # noqa: ASYNC110 - Asterisk polled
            await asyncio.sleep(0.05)
    assert await call.stop_recording(name) is True
    finished = await next_event(call, lambda e: isinstance(e, RecordingFinished))
    assert isinstance(finished, RecordingFinished)
    assert finished.recording == name
    await call.hang_up()
    await phone_app.probe.request("DELETE", f"/recordings/stored/{name}", missing_ok=True)


async def test_it_reconnects_after_the_websocket_drops_and_serves_old_and_new_calls(
    asterisk: StackSettings, phone_app: Phones
) -> None:
    async with through_relay(asterisk, "reconnect", **FAST_RETRY) as (relay, running):
        connection = running.connection
        async with asyncio.timeout(20):
            await connection.wait_connected()
        phone, _ = await phone_app.call(connection.app)
        before = await running.next_call()

        await relay.cut()  # the TCP connections break, the WebSocket with them
        await eventually(lambda: connection.connections >= 2 and connection.connected)

        await phone_app.press(phone, "5")  # a call from before the drop still reports
        digit = await next_event(before, lambda e: isinstance(e, KeyPressed))
        assert digit == KeyPressed("5", received=0.0)
        await phone_app.call(connection.app)  # and a new call arrives
        after = await running.next_call()
        assert after.channel_id != before.channel_id


async def test_it_retries_with_backoff_until_asterisk_answers(
    asterisk: StackSettings, phone_app: Phones
) -> None:
    host, port = asterisk.ari_url.removeprefix("http://").split(":")
    async with TcpRelay(host, int(port)) as relay:
        relay.refusing = True  # as if Asterisk were down
        async with receptionist(
            asterisk, unique_app("backoff"), url=f"http://127.0.0.1:{relay.port}", **FAST_RETRY
        ) as running:
            await asyncio.sleep(1.0)
            assert not running.connection.connected
            relay.refusing = False
            async with asyncio.timeout(20):
                await running.connection.wait_connected()
            await phone_app.call(running.connection.app)
            await running.next_call()


async def test_credentials_travel_in_a_header_never_in_a_url(asterisk: StackSettings) -> None:
    host, port = asterisk.ari_url.removeprefix("http://").split(":")
    async with TcpRelay(host, int(port)) as relay:
        async with receptionist(
            asterisk, unique_app("auth"), url=f"http://127.0.0.1:{relay.port}"
        ) as running:
            async with asyncio.timeout(20):
                await running.connection.wait_connected()
        sent = bytes(relay.sent)
    token = base64.b64encode(f"{asterisk.ari_user}:{asterisk.ari_password}".encode())
    assert b"GET /ari/events?" in sent
    assert asterisk.ari_password.encode() not in sent
    assert b"api_key" not in sent
    assert b"Authorization: Basic " + token in sent


def a_call() -> AriCall:
    """A call of the adapter's, alone: what its ARI events tell it needs no connection."""
    return AriCall(cast(AriConnection, None), "c", {"channel": {"name": "PJSIP/trunk-1"}})


def test_a_call_is_told_its_events_in_the_flow_s_words() -> None:
    call = a_call()
    assert call.told("ChannelDtmfReceived", "c", {"digit": "5"}) == KeyPressed("5", 0.0)
    assert call.told("ChannelDtmfReceived", "leg", {"digit": "5"}) is None  # not the caller's
    ended = {"playback": {"id": "p", "state": "done"}}
    assert call.told("PlaybackFinished", "c", ended) == PlaybackEnded("p")
    failed_playback = {"playback": {"id": "p", "state": "failed"}}
    assert call.told("PlaybackFinished", "c", failed_playback) == PlaybackEnded("p", failed=True)
    assert call.told("RecordingStarted", "c", {"recording": {"name": "m"}}) is None
    finished = call.told("RecordingFinished", "c", {"recording": {"name": "m", "duration": 4}})
    assert finished == RecordingFinished("m", 4.0)
    failed = {"recording": {"name": "m", "cause": "disk"}}
    assert call.told("RecordingFailed", "c", failed) == RecordingFailed("m", "disk")
    unsaid = {"recording": {"name": "m"}}
    assert call.told("RecordingFailed", "c", unsaid) == RecordingFailed("m", "failed")
    # The caller's hangup request comes first; what follows says nothing more.
    assert call.told("ChannelHangupRequest", "c", {"cause": 16}) == Hangup()
    assert call.told("StasisEnd", "c", {}) is None
    assert call.told("ChannelDestroyed", "c", {"cause": 16}) is None


def test_the_edge_says_how_a_leg_ended_in_the_flow_s_words_not_ari_s() -> None:
    assert [dial_result(s) for s in ("", "RINGING", "PROGRESS", "PROCEEDING", "CANCEL")] == (
        [None] * 5
    )
    assert dial_result("ANSWER") is DialStatus.ANSWERED
    assert dial_result("BUSY") is DialStatus.BUSY
    assert dial_result("NOANSWER") is DialStatus.NO_ANSWER
    assert dial_result("CHANUNAVAIL") is DialStatus.FAILED
    assert [unanswered_result(c) for c in (17, 21)] == [DialStatus.BUSY] * 2
    assert [unanswered_result(c) for c in (18, 19)] == [DialStatus.NO_ANSWER] * 2
    assert unanswered_result(34) is DialStatus.FAILED  # no circuit available
    call = a_call()
    # A leg that answers, then hangs up: its answer, then its departure, each told once.
    assert call.told("Dial", "leg-1", {"dialstatus": "RINGING"}) is None
    answer = call.told("Dial", "leg-1", {"dialstatus": "ANSWER"})
    assert answer == DialResult("leg-1", DialStatus.ANSWERED)
    assert call.told("ChannelHangupRequest", "leg-1", {"cause": 16}) == Hangup("leg-1")
    assert call.told("ChannelDestroyed", "leg-1", {"cause": 16}) is None
    # A leg that never answers: its hangup cause says why (Asterisk sends no final Dial).
    assert call.told("ChannelHangupRequest", "leg-2", {"cause": 17}) is None
    busy = call.told("ChannelDestroyed", "leg-2", {"cause": 17})
    assert busy == DialResult("leg-2", DialStatus.BUSY)
    # A final Dial status is told once, not again when the leg goes.
    refused = call.told("Dial", "leg-3", {"dialstatus": "CHANUNAVAIL"})
    assert refused == DialResult("leg-3", DialStatus.FAILED)
    assert call.told("ChannelDestroyed", "leg-3", {"cause": 34}) is None


async def test_asterisk_is_asked_for_the_events_a_call_needs_only(
    adapter: Receptionist, phone_app: Phones
) -> None:
    path = f"/applications/{adapter.connection.app}"
    allowed: list[str] = []

    async def read() -> None:
        application = await phone_app.probe.request("GET", path)
        allowed[:] = [entry["type"] for entry in application["events_allowed"]]

    async with asyncio.timeout(20):
        while not allowed:  # the filter is set right after connecting, by another task
            await read()
            await asyncio.sleep(0.05)
    assert tuple(allowed) == CALL_EVENT_TYPES


async def test_each_message_from_asterisk_is_told_by_its_type_none_of_a_type_left_out(
    asterisk: StackSettings, phone_app: Phones
) -> None:
    told: list[str] = []
    app = unique_app("receptionist")
    async with receptionist(asterisk, app, on_event=told.append, **FAST_RETRY) as running:
        connection = running.connection
        await eventually(lambda: connection.requests_on_websocket)  # the filter is set
        told.clear()
        phone, _ = await phone_app.call(app)
        call = await running.next_call()
        await call.answer()
        await call.play("told-1", ["sound:beep"])
        await next_event(call, lambda e: isinstance(e, PlaybackEnded))
        await phone_app.hang_up(phone)
        await next_event(call, lambda e: e == Hangup())
        await eventually(lambda: "ChannelDestroyed" in told)
    assert {"StasisStart", "PlaybackFinished", "ChannelHangupRequest", "RESTResponse"} <= set(told)
    assert set(told) <= set(CALL_EVENT_TYPES)  # ChannelStateChange, PlaybackStarted... never came
    assert "StasisEnd" not in told  # the hangup request and the destruction say it


async def test_each_ari_request_is_told_by_its_operation_so_that_a_call_s_requests_are_counted(
    asterisk: StackSettings, phone_app: Phones
) -> None:
    made: list[str] = []
    app = unique_app("receptionist")
    async with receptionist(asterisk, app, on_request=made.append, **FAST_RETRY) as running:
        async with asyncio.timeout(20):
            await running.connection.wait_connected()
        await phone_app.call(app)
        call = await running.next_call()
        await call.answer()
        await call.play("counted-1", LONG_PROMPT)
        await playing(phone_app, "counted-1")
        assert await call.stop_playback("counted-1") is True
        assert await call.hang_up() is True
    assert "PUT applications" in made  # the event filter, set once connected
    assert [name for name in made if "." in name] == [
        "channels.answer",
        "channels.playWithId",
        "playbacks.stop",
        "channels.hangup",
    ]


async def test_each_request_s_wait_and_each_key_press_s_age_are_told_for_the_metrics(
    asterisk: StackSettings, phone_app: Phones
) -> None:
    waits: list[float] = []
    ages: list[float] = []
    app = unique_app("receptionist")
    options = {"on_answer": waits.append, "on_event_lag": ages.append, **FAST_RETRY}
    async with receptionist(asterisk, app, **options) as running:
        async with asyncio.timeout(20):
            await running.connection.wait_connected()
        phone, _ = await phone_app.call(app)
        call = await running.next_call()
        await call.answer()
        await call.play("timed-1", LONG_PROMPT)
        await playing(phone_app, "timed-1")
        await phone_app.press(phone, "4")
        await next_event(call, lambda e: isinstance(e, KeyPressed))
        with pytest.raises(AriNotFound):  # a failed request waited too
            await running.connection.operation("channels", "answer", channelId="no-such-channel")
        assert await call.hang_up() is True
        told = list(waits)  # (leaving, the adapter releases what the call still holds)
    assert len(told) == 4  # answer, play, the failed answer, hang up
    assert all(0 < wait < 10 for wait in told)
    assert len(ages) == 1  # the key press; the prompt's end is not a waited-on event
    assert 0 <= ages[0] < 10


def test_an_event_s_age_is_read_from_asterisk_s_timestamp() -> None:
    two_s_ago = datetime.now(UTC) - timedelta(seconds=2)
    stamp = two_s_ago.strftime("%Y-%m-%dT%H:%M:%S.") + f"{two_s_ago.microsecond // 1000:03d}+0000"
    assert 1.9 < event_age({"timestamp": stamp}) < 60
    in_an_hour = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    assert event_age({"timestamp": in_an_hour}) == 0.0  # another clock ahead: not negative
    assert event_age({}) == 0.0
    assert event_age({"timestamp": "yesterday"}) == 0.0


async def test_requests_travel_on_the_event_websocket_once_asterisk_answers_there(
    asterisk: StackSettings,
) -> None:
    async with through_relay(asterisk, "ws-rest", **FAST_RETRY) as (relay, running):
        connection = running.connection
        await eventually(lambda: connection.requests_on_websocket)
        before = len(relay.sent)
        assert await connection.channels_in_app() == []  # an answer with a body
        with pytest.raises(AriNotFound) as gone:  # an error, mapped as over HTTP
            await connection.operation("channels", "answer", channelId="no-such-channel")
        assert gone.value.status == 404
        assert "Channel not found" in gone.value.message
        http_requests = bytes(relay.sent[before:])
        assert b"/ari/applications/" not in http_requests
        assert b"/ari/channels/" not in http_requests

        await relay.cut()  # a new socket is asked again, and used again
        await eventually(lambda: connection.connections >= 2 and connection.requests_on_websocket)
        assert await connection.channels_in_app() == []


async def test_with_requests_on_the_websocket_turned_off_they_go_over_http(
    asterisk: StackSettings,
) -> None:
    async with through_relay(asterisk, "http-rest", rest_over_websocket=False) as (relay, running):
        connection = running.connection
        async with asyncio.timeout(20):
            await connection.wait_connected()
        assert await connection.channels_in_app() == []
        with pytest.raises(AriNotFound):
            await connection.operation("channels", "answer", channelId="no-such-channel")
        assert not connection.requests_on_websocket
        sent = bytes(relay.sent)
    assert f"GET /ari/applications/{connection.app}".encode() in sent
    assert b"POST /ari/channels/no-such-channel/answer" in sent
