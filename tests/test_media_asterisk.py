"""A real Asterisk 22 fetches a prompt from the media service over HTTP and plays it."""

from __future__ import annotations

import random
import uuid
from pathlib import Path

import pytest
from media_support import media_settings, metric, new_tenant, running_media
from rcp_devstack.ari_probe import AriProbe, Event, ari_probe
from rcp_devstack.settings import StackSettings
from rcp_media.app import RunningMedia

PLAYS = 5


def _requests(media: RunningMedia) -> float:
    return sum(
        metric(media, "rcp_media_http_requests_total", method=method, status=status)
        for method in ("GET", "HEAD")
        for status in ("200", "206", "304", "404")
    )


async def _play_to_the_end(probe: AriProbe, channel_id: str, media_uri: str) -> Event:
    playback_id = f"media-test-{uuid.uuid4().hex[:12]}"
    await probe.request("POST", f"/channels/{channel_id}/play/{playback_id}", media=media_uri)
    return await probe.wait_for(
        lambda e: e.get("type") == "PlaybackFinished" and e["playback"]["id"] == playback_id,
        timeout_s=60,
    )


@pytest.mark.asterisk
async def test_asterisk_plays_a_served_prompt_to_the_end_and_fetches_it_once_for_five_plays(
    asterisk: StackSettings, migrated_url: str, tmp_path: Path
) -> None:
    caller_app = f"media-caller-{uuid.uuid4().hex[:8]}"
    number = str(random.randint(100000, 999999))
    async with running_media(media_settings(migrated_url, tmp_path / "media")) as media:
        tenant = await new_tenant(migrated_url)
        # Text of its own, so that the URL is new to Asterisk's media cache.
        text = f"Bonjour, vous êtes bien à l'accueil. Référence {number}."
        ready = await media.service.ensure_text(tenant, text, None, None)
        playable = media.handlers.playable(tenant, ready)
        assert playable.uri.startswith("http://127.0.0.1:")

        async with ari_probe(
            asterisk.ari_url,
            asterisk.ari_user,
            asterisk.ari_password,
            [caller_app, asterisk.test_phones_app],
        ) as probe:
            caller = await probe.request(
                "POST", "/channels", endpoint=f"Local/{number}@test-phones/n", app=caller_app
            )
            start = await probe.wait_for(
                lambda e: (
                    e.get("type") == "StasisStart"
                    and e.get("application") == asterisk.test_phones_app
                    and e.get("args") == [number]
                )
            )
            phone = start["channel"]["id"]
            try:
                await probe.request("POST", f"/channels/{phone}/answer")
                await probe.wait_for(
                    lambda e: e.get("type") == "StasisStart" and e.get("application") == caller_app
                )
                for _ in range(PLAYS):
                    finished = await _play_to_the_end(probe, phone, playable.media)
                    assert finished["playback"]["state"] == "done"
                    assert finished["playback"]["media_uri"] == playable.media
                # Five plays, one download: the caching headers kept Asterisk from asking again.
                assert _requests(media) == 1
                # The 16 kHz file plays too (Asterisk's wav16 format, from the URL's extension).
                wideband = f"sound:{playable.wideband_uri}"
                finished = await _play_to_the_end(probe, phone, wideband)
                assert finished["playback"]["state"] == "done"
            finally:
                for channel_id in (phone, caller["id"]):
                    await probe.request("DELETE", f"/channels/{channel_id}", missing_ok=True)

        files = media.files.playable(ready.key)
        assert metric(media, "rcp_media_http_requests_total", method="GET", status="200") == 2
        assert _requests(media) == 2
        assert metric(media, "rcp_media_served_bytes_total") == (
            files.narrowband.stat().st_size + files.wideband.stat().st_size
        )
