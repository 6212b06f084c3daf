"""The ops endpoint: /metrics, /healthz, /readyz, and a service's shared infrastructure."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator

import aiohttp
import pytest
import structlog
from rcp.runtime import infrastructure
from rcp.settings import CommonSettings, LogLevel
from rcp.telemetry import Health, Metrics, configure_logging, ops_app, serve_app
from rcp_devstack.settings import StackSettings


async def _get(port: int, path: str, token: str | None = None) -> tuple[int, str]:
    headers = {} if token is None else {"Authorization": f"Bearer {token}"}
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"http://127.0.0.1:{port}{path}", headers=headers) as r,
    ):
        return r.status, await r.text()


async def test_readyz_names_the_failing_check_and_answers_503() -> None:
    health = Health()

    async def fine() -> None:
        return None

    async def broken() -> None:
        raise ConnectionError("database is down")

    health.add("nats", fine)
    health.add("postgres", broken)
    async with serve_app(ops_app(Metrics("probe"), health), "127.0.0.1", 0) as port:
        status, body = await _get(port, "/readyz")
        assert status == 503
        assert '"postgres": "ConnectionError: database is down"' in body
        assert '"nats": "ok"' in body
        assert (await _get(port, "/healthz"))[0] == 200


async def test_draining_service_is_not_ready() -> None:
    health = Health()
    async with serve_app(ops_app(Metrics("probe"), health), "127.0.0.1", 0) as port:
        assert (await _get(port, "/readyz"))[0] == 200
        health.draining = True
        status, body = await _get(port, "/readyz")
        assert status == 503
        assert "shutting down" in body


async def test_metrics_are_prometheus_text_with_the_rcp_prefix() -> None:
    metrics = Metrics("probe")
    metrics.nats_errors.labels(kind="TimeoutError").inc()
    async with serve_app(ops_app(metrics, Health()), "127.0.0.1", 0) as port:
        status, body = await _get(port, "/metrics")
    assert status == 200
    assert 'rcp_service_up{service="probe"} 1.0' in body
    assert 'rcp_nats_errors_total{kind="TimeoutError"} 1.0' in body


async def test_with_a_token_metrics_need_it_and_readiness_keeps_its_reasons_for_it() -> None:
    health = Health()

    async def broken() -> None:
        raise ConnectionError("db.internal:5432 refused")

    health.add("postgres", broken)
    token = "an-ops-token-from-a-secret"
    async with serve_app(ops_app(Metrics("probe"), health, token), "127.0.0.1", 0) as port:
        assert (await _get(port, "/metrics"))[0] == 401
        assert (await _get(port, "/metrics", "another-token"))[0] == 401
        status, body = await _get(port, "/metrics", token)
        assert status == 200
        assert 'rcp_service_up{service="probe"} 1.0' in body
        assert (await _get(port, "/healthz"))[0] == 200
        status, body = await _get(port, "/readyz")
        assert (status, body) == (503, '{"status": "unavailable"}')
        status, body = await _get(port, "/readyz", token)
        assert status == 503
        assert "db.internal:5432 refused" in body


async def test_infrastructure_connects_nats_and_postgres_and_reports_ready(
    settings: StackSettings, migrated_url: str
) -> None:
    service_settings = settings.model_copy(update={"database_url": migrated_url, "ops_port": 0})
    async with infrastructure(service_settings, "probe") as infra:
        status, body = await _get(infra.ops_port, "/readyz")
        assert status == 200, body
        assert '"nats": "ok"' in body
        assert '"postgres": "ok"' in body
        assert infra.ops_port != 0
        database = await infra.pool.fetchval("SELECT current_database()")
        assert migrated_url.endswith(f"/{database}")


async def test_service_reports_draining_as_soon_as_it_is_told_to_stop(
    settings: StackSettings, migrated_url: str
) -> None:
    stop = asyncio.Event()
    service_settings = settings.model_copy(update={"database_url": migrated_url, "ops_port": 0})
    async with infrastructure(service_settings, "probe", stop) as infra:
        assert (await _get(infra.ops_port, "/readyz"))[0] == 200
        stop.set()
        for _ in range(100):  # bounded: the watcher runs on the next loop turns
            await asyncio.sleep(0.01)
            if infra.health.draining:
                break
        status, body = await _get(infra.ops_port, "/readyz")
        assert status == 503
        assert "shutting down" in body


@pytest.fixture
def restored_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    structlog.reset_defaults()
    root.handlers[:], root.level = handlers, level


@pytest.mark.usefixtures("restored_logging")
def test_an_event_below_the_log_level_is_dropped_before_any_processor_runs(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    named: list[str] = []
    original = structlog.stdlib.add_logger_name

    def add_logger_name(logger: object, method: str, event: dict[str, object]) -> object:
        named.append(str(event["event"]))
        return original(logger, method, event)  # type: ignore[arg-type]

    monkeypatch.setattr(structlog.stdlib, "add_logger_name", add_logger_name)
    configure_logging(CommonSettings(log_level=LogLevel.INFO), "probe")
    log = structlog.get_logger("probe")
    log.debug("probe.hidden", n=1)
    log.info("probe.shown", n=2)
    assert named == ["probe.shown"]
    written = capsys.readouterr().err
    assert "probe.shown" in written
    assert "probe.hidden" not in written
