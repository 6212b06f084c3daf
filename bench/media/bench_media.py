"""Benchmark of the media service, each number a ratio to a baseline measured in the same run.

    .venv/bin/python bench/media/bench_media.py [--requests 4000] [--concurrency 16] [--texts 30]
        [--rounds 3]

Needs the local stack's PostgreSQL and NATS (./rcp infra); makes a database of its own and
drops it at the end.

1. Serving a cached prompt: requests per second of the media service's URL, against a plain
   aiohttp static-file handler serving the same file, both loaded by the same client in
   another process.
2. A TTS miss: the time `ensure_text` takes for a new text (espeak-ng, the resampling to
   both rates, the cache row, the lock), against espeak-ng alone writing the same text to a
   file (`espeak-ng -v fr-fr`, the floor; `-v` the voice's file, as the service gives it, is
   shown beside), and the same miss asked over NATS; `--rounds` rounds of `--texts` texts,
   each round's ratio of medians printed, then their median [min-max]. With the wall times,
   the CPU time per miss, the mean of each round: the service's own process and every process
   it runs, ended (getrusage) or still running (/proc, with what they reaped): its resident
   espeak-ng workers' time during the misses is counted, their start-up (before the first
   round) is printed apart; against espeak-ng's own CPU time. On a loaded machine the wall
   time follows the CPU time. The service's first miss after its start (one text, before
   the rounds) is printed against the median of the rounds' misses.
3. Memory per cached entry: what one more entry costs in the process (the map that makes a
   hit free of queries), and on disk and in Postgres for a typical prompt.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
import uuid
from dataclasses import dataclass
from pathlib import Path

import asyncpg
from aiohttp import web
from rcp import media_client
from rcp.contracts.media import EnsurePrompt
from rcp.db.migrate import upgrade
from rcp.runtime import Infrastructure, infrastructure
from rcp.settings import LogLevel
from rcp.telemetry import configure_logging, serve_app
from rcp_media.app import RunningMedia, run_media
from rcp_media.keys import AudioFormat, Kind
from rcp_media.service import _Known
from rcp_media.settings import Settings
from rcp_media.tts import SynthesisLimit, espeak

HERE = Path(__file__).resolve().parent
# The floor: espeak-ng as one would run it, by the language's name.
FLOOR_VOICE = "fr-fr"
ADMIN_DB = "postgres"

SENTENCES = [
    "Bienvenue chez Démo SARL. Pour joindre un collaborateur par son nom, tapez 1.",
    "Nous sommes ouverts du lundi au vendredi, de 9 heures à 18 heures.",
    "Tous nos conseillers sont occupés, merci de patienter quelques instants.",
    "Pour l'accueil, tapez 3. Pour la salle de conférence, tapez 4.",
    "Votre correspondant n'est pas disponible, laissez un message après le bip.",
]


def _with_database(url: str, name: str) -> str:
    return url.rsplit("/", 1)[0] + "/" + name


async def _admin(url: str, sql: str) -> None:
    connection = await asyncpg.connect(_with_database(url, ADMIN_DB))
    try:
        await connection.execute(sql)
    finally:
        await connection.close()


def _load(url: str, concurrency: int, requests: int) -> float:
    done = subprocess.run(
        [sys.executable, str(HERE / "load.py"), url, str(concurrency), str(requests)],
        capture_output=True,
        text=True,
        check=True,
        timeout=600,
    )
    return float(done.stdout.split()[0])


async def _espeak(text: str, destination: Path, voice: str) -> float:
    started = time.perf_counter()
    process = await asyncio.create_subprocess_exec(
        "espeak-ng",
        "-v",
        voice,
        "-b",
        "1",
        "-w",
        str(destination),
        "--stdin",
        stdin=asyncio.subprocess.PIPE,
    )
    await process.communicate(text.encode())
    return time.perf_counter() - started


def _ended_children_cpu_s() -> float:
    """CPU time of this process's children that ended (and were reaped)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _running_children_cpu_s() -> tuple[float, int]:
    """CPU time of this process's children still running (the resident TTS workers), with
    that of the children they ran and reaped (a worker forks one per text); and how many
    there are. From /proc, in clock ticks."""
    total, count = 0, 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            line = stat.read_text()
        except OSError:  # a process that ended meanwhile
            continue
        # "pid (command) state ppid ... utime stime cutime cstime ...": fields 14 to 17.
        fields = line[line.rindex(")") + 2 :].split()
        if int(fields[1]) == os.getpid():
            total += sum(int(value) for value in fields[11:15])
            count += 1
    return total / os.sysconf("SC_CLK_TCK"), count


@dataclass(frozen=True)
class _Misses:
    """One round of TTS misses: medians of wall time per text, mean CPU time per text."""

    floor_ms: float
    floor_file_ms: float
    service_ms: float
    nats_ms: float
    floor_cpu_ms: float
    floor_file_cpu_ms: float
    service_cpu_ms: float
    """The service's process (its event loop, Postgres, NATS, resampling) and every process
    it ran: its resident workers and their children included."""
    workers_cpu_ms: float


async def _misses(
    media: RunningMedia,
    infra: Infrastructure,
    settings: Settings,
    tenant: uuid.UUID,
    folder: Path,
    texts: list[str],
    voice_file: str,
) -> _Misses:
    floor, floor_file, service, over_nats = [], [], [], []
    floor_cpu = floor_file_cpu = own_cpu = ended_cpu = 0.0
    workers_before, _ = _running_children_cpu_s()
    for text in texts:
        children = _ended_children_cpu_s()
        floor.append(await _espeak(text, folder / "floor.wav", FLOOR_VOICE))
        floor_cpu += _ended_children_cpu_s() - children
        children = _ended_children_cpu_s()
        floor_file.append(await _espeak(text, folder / "floor.wav", voice_file))
        floor_file_cpu += _ended_children_cpu_s() - children
        children, own = _ended_children_cpu_s(), time.process_time()
        started = time.perf_counter()
        await media.service.ensure_text(tenant, text, None, None)
        service.append(time.perf_counter() - started)
        ended_cpu += _ended_children_cpu_s() - children
        own_cpu += time.process_time() - own
    # The workers work for nothing else meanwhile (ticks of 10 ms: the total over the round,
    # read once before and once after, is exact to 10 ms).
    workers_cpu = _running_children_cpu_s()[0] - workers_before
    for text in texts:  # after, so that the workers' time above is that of ensure_text alone
        ask = EnsurePrompt(tenant_id=tenant, text=f"{text} Encore.")
        started = time.perf_counter()
        await media_client.ensure_prompt(infra.nats, ask, scope=settings.media_nats_scope)
        over_nats.append(time.perf_counter() - started)

    def ms(values: list[float]) -> float:
        return statistics.median(values) * 1000

    def per_text_ms(total_s: float) -> float:
        return total_s * 1000 / len(texts)

    return _Misses(
        ms(floor),
        ms(floor_file),
        ms(service),
        ms(over_nats),
        per_text_ms(floor_cpu),
        per_text_ms(floor_file_cpu),
        per_text_ms(own_cpu + ended_cpu + workers_cpu),
        per_text_ms(workers_cpu),
    )


def _known_entry_bytes(count: int) -> float:
    """Bytes per entry of the service's map of entries known to be on disk."""
    from collections import OrderedDict  # noqa: PLC0415

    known: OrderedDict[str, _Known] = OrderedDict()
    tracemalloc.start()
    before = tracemalloc.take_snapshot()
    for index in range(count):
        key = uuid.uuid4().hex + uuid.uuid4().hex
        known[key] = _Known(None, 1000 + index, 48_000 + index, time.monotonic(), Kind.TTS)
    after = tracemalloc.take_snapshot()
    tracemalloc.stop()
    grown = sum(stat.size_diff for stat in after.compare_to(before, "filename"))
    return grown / count


async def main(args: argparse.Namespace) -> None:
    base = Settings()
    name = f"rcp_bench_{uuid.uuid4().hex[:10]}"
    await _admin(base.database_url, f'CREATE DATABASE "{name}"')
    url = _with_database(base.database_url, name)
    await asyncio.to_thread(upgrade, url, configure_logging=False)
    try:
        with tempfile.TemporaryDirectory() as folder:
            settings = Settings(
                database_url=url,
                media_dir=Path(folder) / "media",
                media_http_port=0,
                ops_port=0,
                media_nats_scope=f"bench{uuid.uuid4().hex[:8]}",
                # One connection serves and asks: the local stack's development user.
                nats_user="tests",
                media_maintenance_interval_s=3600,
                log_level=LogLevel.WARNING,
            )
            configure_logging(settings, "media-bench")
            await _run(settings, url, args, Path(folder))
    finally:
        await _admin(base.database_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def _run(settings: Settings, url: str, args: argparse.Namespace, folder: Path) -> None:
    async with (
        infrastructure(settings, "media-bench") as infra,
        run_media(settings, infra) as media,
    ):
        connection = await asyncpg.connect(url)
        tenant = await connection.fetchval(
            "INSERT INTO tenants (slug, name) VALUES ('bench', 'Bench') RETURNING id"
        )
        await connection.close()

        # 1. A cached prompt over HTTP, against a static-file handler serving the same file.
        # Its render is the service's first miss (timed: against the misses' median below).
        first_started = time.perf_counter()
        ready = await media.service.ensure_text(tenant, SENTENCES[0], None, None)
        first_miss_ms = (time.perf_counter() - first_started) * 1000
        playable = media.handlers.playable(tenant, ready)
        path = media.files.playable(ready.key).path(AudioFormat.NARROWBAND)
        static = web.Application()
        static.router.add_static("/static", path.parent)
        async with serve_app(static, "127.0.0.1", 0) as port:
            static_url = f"http://127.0.0.1:{port}/static/{path.name}"
            # Alternated, best of each: the machine is shared and noisy.
            static_runs, media_runs = [], []
            for _ in range(args.rounds):
                static_runs.append(
                    await asyncio.to_thread(_load, static_url, args.concurrency, args.requests)
                )
                media_runs.append(
                    await asyncio.to_thread(_load, playable.uri, args.concurrency, args.requests)
                )
            static_rps, media_rps = max(static_runs), max(media_runs)

        # 2. TTS misses: the service, over NATS, and espeak-ng alone, on the same texts,
        # alternating (the machine's noise falls on all alike), `rounds` times.
        voice_file = (
            await espeak.create(media.metrics, SynthesisLimit(settings.media_tts_timeout_s))
        ).voices.argument(FLOOR_VOICE)
        workers_start_cpu, workers = _running_children_cpu_s()
        misses = [
            await _misses(
                media,
                infra,
                settings,
                tenant,
                folder,
                [
                    f"{SENTENCES[index % len(SENTENCES)]} Référence {round_number}.{index}."
                    for index in range(args.texts)
                ],
                voice_file,
            )
            for round_number in range(args.rounds)
        ]

        # 3. Memory per cached entry.
        in_process = _known_entry_bytes(args.entries)
        connection = await asyncpg.connect(url)
        row_bytes = await connection.fetchval(
            "SELECT avg(pg_column_size(m.*)) FROM media_files m WHERE kind = 'tts'"
        )
        await connection.close()
        files = media.files.playable(ready.key)
        disk = files.narrowband.stat().st_size + files.wideband.stat().st_size

    print("media benchmark (ratios to a baseline measured in the same run)")
    print(
        f"  cached prompt over HTTP: {media_rps:.0f} req/s, static-file handler "
        f"{static_rps:.0f} req/s -> ratio {media_rps / static_rps:.2f}"
    )
    print(
        f"  TTS workers resident: {workers}, their CPU before the misses (start-up and the "
        f"first render): {workers_start_cpu * 1000:.0f} ms, not counted in the misses below"
    )
    later_ms = statistics.median(round_.service_ms for round_ in misses)
    print(
        f"  first TTS miss after the start: {first_miss_ms:.1f} ms, "
        f"{first_miss_ms / later_ms:.2f}x the median of the rounds' misses below"
    )
    for number, round_ in enumerate(misses, 1):
        print(
            f"  TTS miss, round {number}: ensure_text {round_.service_ms:.1f} ms, over NATS "
            f"{round_.nats_ms:.1f} ms, espeak-ng alone {round_.floor_ms:.1f} ms "
            f"({voice_file}: {round_.floor_file_ms:.1f}) -> ratios "
            f"{round_.service_ms / round_.floor_ms:.2f} (service), "
            f"{round_.nats_ms / round_.floor_ms:.2f} (NATS); CPU per miss: service "
            f"{round_.service_cpu_ms:.1f} ms (its workers {round_.workers_cpu_ms:.1f}), "
            f"espeak-ng alone {round_.floor_cpu_ms:.1f} ms ({voice_file}: "
            f"{round_.floor_file_cpu_ms:.1f})"
        )
    for label, ratios in (
        ("service", [round_.service_ms / round_.floor_ms for round_ in misses]),
        ("NATS", [round_.nats_ms / round_.floor_ms for round_ in misses]),
        ("service CPU", [round_.service_cpu_ms / round_.floor_cpu_ms for round_ in misses]),
        (
            f"service / espeak-ng -v {voice_file}",
            [round_.service_ms / round_.floor_file_ms for round_ in misses],
        ),
        (
            f"service CPU / espeak-ng -v {voice_file}",
            [round_.service_cpu_ms / round_.floor_file_cpu_ms for round_ in misses],
        ),
    ):
        print(
            f"  TTS miss / espeak-ng alone, {label}, {len(misses)} rounds: median "
            f"{statistics.median(ratios):.2f} [{min(ratios):.2f}-{max(ratios):.2f}]"
        )
    print(
        f"  memory per cached entry: {in_process:.0f} B in the process, "
        f"{float(row_bytes):.0f} B row in Postgres, {disk} B on disk for a "
        f"{ready.duration_ms / 1000:.1f} s prompt (8 + 16 kHz)"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=4000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--texts", type=int, default=30)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--entries", type=int, default=50_000)
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # run by its path
    from bench.support import asyncio_run  # the repository is on the path now

    asyncio_run(main(parser.parse_args()))
