"""A recorded name in a real call: uploaded through the admin API (the media service
normalises it), then said by dial by name's choice of matches, through the local Asterisk.

The recorded name is a pure tone, which speech never is: finding the tone in what the caller
heard proves the recording itself was played, where the name would otherwise be spoken."""

from __future__ import annotations

import array
import asyncio
import io
import math
import wave
from pathlib import Path

import aiohttp
import pytest
from admin_support import running_admin
from media_support import _run
from stasis_e2e_support import (
    Phones,
    Stack,
    ended_call,
    kind,
    provision,
    traced,
)

pytestmark = [pytest.mark.asterisk, pytest.mark.asyncio(loop_scope="module")]

TONE_HZ = 1000.0
RATE = 8000
WINDOW = 400  # 50 ms


def tone_wav(path: Path) -> bytes:
    """1.5 s of a pure tone, as a file an admin uploads."""
    _run(["sox", "-n", "-r", "16000", "-b", "16", "-c", "1", str(path), "synth", "1.5", "sine",
          str(TONE_HZ), "vol", "0.5"])  # fmt: skip
    return path.read_bytes()


def tone_windows(samples: array.array[int], hz: float = TONE_HZ) -> int:
    """The longest run of 50 ms windows whose energy is nearly all at `hz` (Goertzel)."""
    coefficient = 2 * math.cos(2 * math.pi * hz / RATE)
    longest = run = 0
    for start in range(0, len(samples) - WINDOW, WINDOW):
        window = samples[start : start + WINDOW]
        energy = sum(x * x for x in window)
        s1 = s2 = 0.0
        for x in window:
            s1, s2 = x + coefficient * s1 - s2, s1
        power = s1 * s1 + s2 * s2 - coefficient * s1 * s2
        tonal = energy > WINDOW * 100 and power / (WINDOW / 2 * energy) > 0.7
        run = run + 1 if tonal else 0
        longest = max(longest, run)
    return longest


async def heard_samples(lines: Phones, name: str) -> array.array[int]:
    """Stop a recording of what a phone heard; its samples (8 kHz)."""
    probe = lines.probe
    await probe.request("POST", f"/recordings/live/{name}/stop", missing_ok=True)
    await lines.wait_for(
        lambda e: (
            e.get("type") in ("RecordingFinished", "RecordingFailed")
            and e["recording"]["name"] == name
        )
    )
    url = f"{lines.stack.settings.ari_url}/ari/recordings/stored/{name}/file"
    for _ in range(50):
        async with probe._session.get(url) as response:
            if response.status == 200:
                body = await response.read()
                break
        await asyncio.sleep(0.1)
    else:
        raise AssertionError(f"no recording {name}")
    await probe.request("DELETE", f"/recordings/stored/{name}", missing_ok=True)
    with wave.open(io.BytesIO(body)) as audio:
        assert audio.getframerate() == RATE
        return array.array("h", audio.readframes(audio.getnframes()))


async def test_dial_by_name_says_the_recorded_name_among_the_matches_and_the_timeline_tells_it(
    stack: Stack, lines: Phones, tmp_path: Path
) -> None:
    tenant = await provision(stack.database_url, stack.phones_app)
    async with running_admin(
        stack.database_url, media_nats_scope=stack.stasis_settings.media_nats_scope
    ) as admin:
        base = f"/v1/tenants/{tenant.id}"
        form = aiohttp.FormData()
        form.add_field("file", io.BytesIO(tone_wav(tmp_path / "name.wav")), filename="name.wav")
        async with admin.carrier.session.post(
            f"{admin.carrier.base}{base}/prompts",
            data=form,
            headers={"Authorization": f"Bearer {admin.carrier.token}"},
        ) as response:
            assert response.status == 201, await response.text()
            recorded = await response.json()
        await admin.carrier.ok(
            "PATCH", f"{base}/extensions/102", {"spoken_name": {"prompt_id": recorded["id"]}}
        )

        caller = await lines.call(tenant)
        before = await lines.start_listening(caller)
        await traced(stack.database_url, tenant, kind("menu", reason="greeting"))
        await asyncio.sleep(2)  # the greeting, spoken
        assert tone_windows(await heard_samples(lines, before)) < 3
        since = lines.mark()
        await lines.press(caller, "1")
        await traced(stack.database_url, tenant, kind("key", action="dial_by_name"))
        await lines.press(caller, "532")  # J E A: Jean-Pierre Lefèvre (102), Jean Martin (105)
        await traced(stack.database_url, tenant, kind("lookup_result", total=2))
        listening = await lines.start_listening(caller)
        await asyncio.sleep(6)  # "pour <the recording>, tapez 1; pour Jean Martin, tapez 2..."
        heard = await heard_samples(lines, listening)
        assert tone_windows(heard) >= 10  # half a second, at least
        await lines.press(caller, "1")
        steps = await traced(stack.database_url, tenant, kind("choice", digit="1"))
        chosen = next(s["number"] for s in steps if s["step"] == "choice")
        phone = await lines.ringing(tenant, chosen, since)
        await lines.hang_up(caller)
        await lines.gone(phone)
        record = await ended_call(stack.database_url, tenant)

        detail = await admin.carrier.ok("GET", f"{base}/calls/{record['id']}")
        kinds = [step["kind"] for step in detail["steps"]]
        assert kinds[:2] == ["started", "answered"]
        assert {"menu", "key", "lookup_result", "choice", "transfer"} <= set(kinds)
        lookup = next(step for step in detail["steps"] if step["kind"] == "lookup")
        assert lookup["data"]["digits"] == "532"
        assert {"Jean-Pierre Lefèvre", "Jean Martin"} >= {detail["names"][chosen]}
        assert detail["caller_number"] == "+33612345678"
    await lines.stasis_holds_nothing()
