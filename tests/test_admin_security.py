"""The admin API's walls around tokens and answers: tokens expire, guessing is throttled per
client address without reaching the database, a suspended tenant's tokens are refused, and no
answer is cached or sniffed. On the real admin service and PostgreSQL."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import pytest
from admin_support import Admin, Answer, Client, running_admin
from rcp.tokens import issue_token
from rcp_admin.auth import FailedAuthentications
from rcp_admin.errors import ApiError

BOGUS = "rcp_0badc0de_" + "x" * 43  # shaped like a token: only a lookup can tell


def _expiry(token: dict[str, str]) -> datetime:
    return datetime.fromisoformat(token["expires_at"])


async def test_every_answer_says_no_store_and_nosniff_json_errors_and_documents_alike(
    admin: Admin,
) -> None:
    tenant_id, tenant = await admin.tenant("headers")
    answers = [
        await admin.carrier.call("GET", "/v1/tenants"),
        await admin.carrier.call("POST", "/v1/tenants", {"slug": "x y"}),  # 422
        await tenant.call("GET", f"/v1/tenants/{tenant_id}/extensions"),
        await tenant.call("POST", "/v1/tokens", {"name": "mine"}),  # 403, carrier only
        await admin.carrier.as_(None).call("GET", "/v1/tenants"),  # 401
        await admin.carrier.call("GET", "/v1/nothing-here"),  # 404
        await admin.carrier.call("GET", "/openapi.json"),
        await admin.carrier.call("GET", "/docs"),
    ]
    assert sorted({a.status for a in answers}) == [200, 401, 403, 404, 422]
    for answer in answers:
        assert answer.headers["Cache-Control"] == "no-store", answer
        assert answer.headers["X-Content-Type-Options"] == "nosniff", answer


async def test_prompt_audio_keeps_its_own_private_cache_and_is_not_sniffed(
    admin_with_media: Admin,
) -> None:
    tenant_id, tenant = await admin_with_media.tenant("audiocache")
    prompt = await tenant.ok(
        "POST", f"/v1/tenants/{tenant_id}/prompts", {"text": "Bonjour", "language": "fr-FR"}
    )
    async with tenant.session.get(
        f"{tenant.base}/v1/tenants/{tenant_id}/prompts/{prompt['id']}/audio",
        headers={"Authorization": f"Bearer {tenant.token}"},
    ) as response:
        assert response.status == 200
        assert response.headers["Cache-Control"] == "private, max-age=300"
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert (await response.read())[:4] == b"RIFF"


async def test_a_token_issued_without_expiry_lives_90_days_and_no_longer_than_the_maximum(
    admin: Admin,
) -> None:
    tenant_id, _ = await admin.tenant("lifetime")
    tokens = f"/v1/tenants/{tenant_id}/tokens"
    before = datetime.now(UTC)
    default = await admin.carrier.ok("POST", tokens, {"name": "default"})
    after = datetime.now(UTC)
    assert before + timedelta(days=90) <= _expiry(default) <= after + timedelta(days=90)
    chosen = (before + timedelta(days=30)).replace(microsecond=0)
    asked = await admin.carrier.ok(
        "POST", tokens, {"name": "a month", "expires_at": chosen.isoformat()}
    )
    assert _expiry(asked) == chosen
    too_long = await admin.carrier.call(
        "POST",
        "/v1/tokens",
        {"name": "forever", "expires_at": (before + timedelta(days=366)).isoformat()},
    )
    assert (too_long.status, too_long.body["code"], too_long.body["field"]) == (
        422,
        "validation_failed",
        "expires_at",
    )
    assert too_long.body["details"] == {"max_days": 365}
    past = await admin.carrier.call(
        "POST", tokens, {"name": "past", "expires_at": (before - timedelta(days=1)).isoformat()}
    )
    assert (past.status, past.body["field"]) == (422, "expires_at")
    naive = await admin.carrier.call(
        "POST", tokens, {"name": "naive", "expires_at": "2030-01-01T00:00:00"}
    )
    assert (naive.status, naive.body["field"]) == (422, "expires_at")


async def test_the_carrier_sets_the_default_and_the_longest_token_lifetime(
    migrated_url: str,
) -> None:
    async with running_admin(
        migrated_url, admin_token_default_days=7, admin_token_max_days=30
    ) as admin:
        before = datetime.now(UTC)
        token = await admin.carrier.ok("POST", "/v1/tokens", {"name": "a week"})
        assert timedelta(days=7) <= _expiry(token) - before < timedelta(days=7, minutes=1)
        refused = await admin.carrier.call(
            "POST",
            "/v1/tokens",
            {"name": "too long", "expires_at": (before + timedelta(days=31)).isoformat()},
        )
        assert (refused.status, refused.body["details"]) == (422, {"max_days": 30})


async def test_an_expired_token_and_a_token_older_than_the_maximum_without_expiry_are_refused(
    admin: Admin,
) -> None:
    expired = await admin.carrier.ok("POST", "/v1/tokens", {"name": "soon expired"})
    client = admin.carrier.as_(expired["token"])
    assert (await client.call("GET", "/v1/tenants")).status == 200
    await admin.pool.execute(
        "UPDATE admin_tokens SET expires_at = now() - interval '1 second' WHERE id = $1",
        uuid.UUID(expired["id"]),
    )
    answer = await client.call("GET", "/v1/tenants")
    assert (answer.status, answer.body["code"]) == (401, "unauthorized")
    # Issued before tokens had a lifetime: no expiry, so the maximum from its creation.
    for age_days, status in ((364, 200), (366, 401)):
        legacy = issue_token(admin.settings.token_pepper)
        await admin.pool.execute(
            """INSERT INTO admin_tokens (scope, name, token_hash, token_prefix, created_at)
               VALUES ('carrier', 'legacy', $1, $2, now() - $3::interval)""",
            legacy.digest,
            legacy.prefix,
            timedelta(days=age_days),
        )
        legacy_answer = await admin.carrier.as_(legacy.token).call("GET", "/v1/tenants")
        assert legacy_answer.status == status, age_days


async def test_a_suspended_tenants_tokens_are_refused_with_403_until_it_is_reactivated(
    admin: Admin,
) -> None:
    tenant_id, tenant = await admin.tenant("suspended")
    path = f"/v1/tenants/{tenant_id}"
    assert (await tenant.call("GET", path)).status == 200
    await admin.carrier.ok("PATCH", path, {"status": "suspended"})
    refused = await tenant.call("GET", f"{path}/extensions")
    assert (refused.status, refused.body["code"]) == (403, "tenant_suspended")
    assert (await admin.carrier.call("GET", f"{path}/extensions")).status == 200
    await admin.carrier.ok("PATCH", path, {"status": "active"})
    assert (await tenant.call("GET", f"{path}/extensions")).status == 200


def _from(client: Client, address: str) -> Client:
    """The same client, as if behind the trusted proxy on behalf of `address`."""
    return _Forwarded(client.session, client.base, client.token, address)


class _Forwarded(Client):
    def __init__(
        self, session: aiohttp.ClientSession, base: str, token: str | None, address: str
    ) -> None:
        super().__init__(session, base, token)
        self.address = address

    async def call(
        self,
        method: str,
        path: str,
        body: Any = None,
        headers: dict[str, str] | None = None,
        raw: bytes | None = None,
    ) -> Answer:
        sent = {"X-Forwarded-For": f"198.51.100.77, {self.address}", **(headers or {})}
        return await super().call(method, path, body, sent, raw)


async def test_failed_authentications_are_limited_per_client_address_without_a_query(
    migrated_url: str,
) -> None:
    async with running_admin(
        migrated_url,
        admin_auth_failures_burst=3,
        admin_auth_failures_per_minute=2,
        admin_trusted_proxies="127.0.0.0/8, ::1",
    ) as admin:
        guesser = _from(admin.carrier.as_(BOGUS), "203.0.113.5")
        statuses = [(await guesser.call("GET", "/v1/tenants")).status for _ in range(3)]
        assert statuses == [401, 401, 401]
        blocked = await guesser.call("GET", "/v1/tenants")
        assert (blocked.status, blocked.body["code"]) == (429, "rate_limited")
        assert 1 <= int(blocked.headers["Retry-After"]) <= 30
        # The blocked address is refused even with a good token; another address is not.
        good = _from(admin.carrier, "203.0.113.5")
        assert (await good.call("GET", "/v1/tenants")).status == 429
        neighbour = _from(admin.carrier, "203.0.113.6")
        assert (await neighbour.call("GET", "/v1/tenants")).status == 200
        # Without the database, a blocked address is still answered 429 (never 503: no query
        # was tried), and so is a malformed token 401.
        await admin.pool.close()
        for _ in range(20):
            again = await guesser.call("GET", "/v1/tenants")
            assert again.status == 429
        malformed = _from(admin.carrier.as_("rcp_not-a-token"), "203.0.113.9")
        assert (await malformed.call("GET", "/v1/tenants")).status == 401


async def test_forwarded_for_from_an_untrusted_peer_does_not_escape_the_limit(
    migrated_url: str,
) -> None:
    async with running_admin(
        migrated_url, admin_auth_failures_burst=2, admin_auth_failures_per_minute=1
    ) as admin:
        statuses = [
            (await _from(admin.carrier.as_(BOGUS), f"203.0.113.{n}").call("GET", "/v1/tenants"))
            for n in range(4)
        ]
        assert [a.status for a in statuses] == [401, 401, 429, 429]


async def test_missing_tokens_are_not_counted_as_guesses(migrated_url: str) -> None:
    async with running_admin(migrated_url, admin_auth_failures_burst=1) as admin:
        anonymous = admin.carrier.as_(None)
        assert [(await anonymous.call("GET", "/v1/tenants")).status for _ in range(5)] == [401] * 5
        assert (await admin.carrier.call("GET", "/v1/tenants")).status == 200


def test_an_address_recovers_one_failure_per_interval_and_retry_after_says_when() -> None:
    failures = FailedAuthentications(per_minute=6, burst=2)  # one every 10 s
    failures.failed("a", now=0.0)
    failures.failed("a", now=0.0)
    with pytest.raises(ApiError) as refused:
        failures.check("a", now=1.0)
    assert (refused.value.code, refused.value.headers) == ("rate_limited", {"Retry-After": "9"})
    failures.check("a", now=10.0)  # one failure forgiven
    failures.check("b", now=1.0)  # another address is untouched
