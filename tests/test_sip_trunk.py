"""The carrier's trunk over real SIP: a baresip phone calls the local Asterisk.

Calls are identified by their source address only, and SIP is accepted from the carrier's
addresses only (RCP_CARRIER_ADDRESSES; 127.0.0.1 in the local stack). A caller on another
address (127.0.0.2) who says `From: sip:carrier@...` is refused with a SIP 403 and never
reaches a context; the same call from the carrier's address reaches the receptionist, and its
RFC 4733 digits work.

A caller transferred to a phone hears the ringback tone while the phone rings (the leg rings
in the caller's bridge, and the caller's answered SIP line is told that it rings: Asterisk
plays the tone in-band), then the phone, and no ringback once the phone has answered.

These calls enter `from-carrier`, the production context, and so the stack's own Stasis app
(RCP_ARI_APP): the module runs its stasis service on that app, which must be free (./rcp test
stops the stack's services first, as for every test).
"""

from __future__ import annotations

import array
import asyncio
import math
import re
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
import pytest_asyncio
from conftest import TEST_CONTEXTS
from rcp_devstack.asterisk import ensure_dialplan
from rcp_devstack.settings import REPO_ROOT, StackSettings
from sip_support import sip_phone
from stasis_e2e_support import (
    Stack,
    Tenant,
    call_records,
    ended_call,
    kind,
    phones,
    provision,
    receptionist_stack,
    traced,
)

pytestmark = [pytest.mark.asterisk, pytest.mark.asyncio(loop_scope="module")]

OUTSIDER = "127.0.0.2"
CARRIER = "127.0.0.1"
FAIL2BAN_FILTER = REPO_ROOT / "deploy" / "fail2ban" / "filter.d" / "receptionist-asterisk.conf"
# The local Asterisk's tone zone is indications.conf's default, "us": ringback is 440 + 480 Hz,
# 2 s on, 4 s off.
RINGBACK_HZ = (440.0, 480.0)
FRAME_S = 0.02
LOUD = 300.0  # root mean square of a frame that holds sound (silence is 0)


async def _ari(settings: StackSettings, path: str) -> object:
    auth = {"Authorization": aiohttp.encode_basic_auth(settings.ari_user, settings.ari_password)}
    async with (
        aiohttp.ClientSession(headers=auth) as session,
        session.get(f"{settings.ari_url}/ari{path}") as response,
    ):
        response.raise_for_status()
        return await response.json()


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def stack(
    asterisk: StackSettings, migrated_url: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Stack]:
    # Another checkout sharing this Asterisk may have rendered a trunk of its own.
    ensure_dialplan(asterisk, TEST_CONTEXTS, files=("extensions.conf", "pjsip.conf", "logger.conf"))
    applications = await _ari(asterisk, "/applications")
    assert isinstance(applications, list)
    if asterisk.ari_app in {app["name"] for app in applications}:
        pytest.fail(
            f"the Stasis app {asterisk.ari_app!r} is held (a running rcp-stasis?): these calls "
            "enter from-carrier, which sends them there; stop it (rcp-stack services-down)"
        )
    media_dir: Path = tmp_path_factory.mktemp("media")
    async with receptionist_stack(
        asterisk, migrated_url, media_dir, ari_app=asterisk.ari_app
    ) as running:
        yield running


@pytest_asyncio.fixture(loop_scope="module")
async def tenant(stack: Stack) -> Tenant:
    return await provision(stack.database_url, stack.phones_app)


def _fail2ban_host(line: str) -> str | None:
    """The address the repository's fail2ban filter bans for a log line (its own rule, as
    fail2ban reads it once the line's prefix is taken off), or None."""
    rules = re.findall(r"^\s+(\^.*\$)$", FAIL2BAN_FILTER.read_text(), re.MULTILINE)
    content = line.split(": ", 1)[1]
    for rule in rules:
        match = re.search(rule.replace("<HOST>", r"(?P<host>[0-9a-fA-F.:]+)"), content)
        if match:
            return match.group("host")
    return None


async def test_sip_from_outside_the_carriers_addresses_is_refused_and_reaches_no_context(
    stack: Stack, tenant: Tenant
) -> None:
    settings = stack.settings
    log = settings.asterisk_dir / "var" / "log" / "asterisk" / "messages"
    logged_before = log.stat().st_size
    async with sip_phone(settings, OUTSIDER, user="carrier") as phone:
        await phone.dial(tenant.number)
        await phone.printed(r"session closed: 403 Forbidden")
        await asyncio.sleep(3)  # time enough for a call that got in to show up
        channels = await _ari(settings, "/channels")
    assert channels == [] or all(  # no channel of this call anywhere in Asterisk
        not c["name"].startswith("PJSIP/")
        for c in channels  # type: ignore[attr-defined]
    )
    assert stack.stasis.receptionist is not None
    assert stack.stasis.receptionist.active_calls == 0
    assert await call_records(stack.database_url, tenant) == []  # no StasisStart, no call
    with log.open() as handle:
        handle.seek(logged_before)
        refused = [line for line in handle if f"from {OUTSIDER}:{phone.port} " in line]
    assert refused, "the refusal is logged"
    assert "did not pass ACL test" in refused[0]
    assert _fail2ban_host(refused[0]) == OUTSIDER


async def test_the_same_call_from_the_carriers_address_reaches_the_receptionist_and_its_digits_work(
    stack: Stack, tenant: Tenant
) -> None:
    settings = stack.settings
    async with sip_phone(settings, CARRIER, user="carrier") as phone:
        await phone.dial(tenant.number)
        await traced(stack.database_url, tenant, kind("menu", reason="greeting"))
        channels = await _ari(settings, "/channels")
        assert isinstance(channels, list)
        callers = [c for c in channels if c["name"].startswith("PJSIP/carrier-")]
        assert len(callers) == 1, channels  # identified as the carrier's trunk, by address
        assert callers[0]["dialplan"]["context"] == "from-carrier"
        await phone.printed(r"established", timeout_s=30)
        await phone.press("2")  # RFC 4733
        await traced(stack.database_url, tenant, kind("key", digit="2", action="play_announcement"))
        await phone.send("/hangup")
    record = await ended_call(stack.database_url, tenant)
    assert record["outcome"] == "announcement"


def _tone_share(samples: array.array[int], rate: int, frequencies: tuple[float, ...]) -> float:
    """The share of a frame's energy at `frequencies` (Goertzel), 0 to about 1."""
    energy = sum(x * x for x in samples) or 1
    found = 0.0
    for frequency in frequencies:
        coefficient = 2 * math.cos(2 * math.pi * frequency / rate)
        before = earlier = 0.0
        for x in samples:
            before, earlier = x + coefficient * before - earlier, before
        power = before * before + earlier * earlier - coefficient * before * earlier
        found += 2 * power / len(samples)
    return found / energy


def _frames(rate: int, samples: array.array[int]) -> list[str]:
    """What each 20 ms of a recording holds: "ring" (the ringback tone), "sound" (anything
    else loud: speech), or "quiet"."""
    size = int(rate * FRAME_S)
    kinds = []
    for start in range(0, len(samples) - size + 1, size):
        frame = samples[start : start + size]
        loudness = math.sqrt(sum(x * x for x in frame) / size)
        if loudness < LOUD:
            kinds.append("quiet")
        elif _tone_share(frame, rate, RINGBACK_HZ) > 0.6:
            kinds.append("ring")
        else:
            kinds.append("sound")
    return kinds


async def test_a_transferred_sip_caller_hears_ringback_then_the_phone_and_no_ringback_after(
    stack: Stack, tenant: Tenant
) -> None:
    settings = stack.settings
    async with phones(stack) as lines, sip_phone(settings, CARRIER, user="carrier") as caller:
        await caller.dial(tenant.number)
        await caller.printed(r"established", timeout_s=30)
        await traced(stack.database_url, tenant, kind("menu", reason="greeting"))
        since = lines.mark()
        await caller.press("0")  # transfer to 101
        phone = await lines.ringing(tenant, "101", since)
        await asyncio.sleep(3)  # the ringback's first 2 s burst, then its pause
        await lines.answer(phone)
        await lines.speak(phone)  # "hello world", about 1 s
        await asyncio.sleep(5)  # a ringback still on would ring again 3 s after the answer
        await caller.send("/hangup")
        await lines.gone(phone)
        rate, samples = caller.heard()
    frames = _frames(rate, samples)
    shown = "".join({"ring": "r", "sound": "s", "quiet": "."}[k] for k in frames)
    assert "ring" in frames, f"no ringback heard: {shown}"
    first_ring = frames.index("ring")
    assert frames.count("ring") * FRAME_S >= 1.5, f"the ringback's first burst: {shown}"
    # The phone's words come after the ringback, and no ringback after them.
    after_ring = frames[first_ring:]
    assert "sound" in after_ring, f"the phone was not heard: {shown}"
    phone_heard = first_ring + after_ring.index("sound")
    assert "ring" not in frames[phone_heard:], f"ringback after the phone answered: {shown}"
    record = await ended_call(stack.database_url, tenant)
    assert record["outcome"] == "transferred"
