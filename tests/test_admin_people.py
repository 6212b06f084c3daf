"""People sign in as people: email and password, a session cookie with a CSRF token, roles
that limit what each may change, idle and absolute lifetimes, throttled failures, signing out
everywhere; tokens keep working beside them. On the real admin service and PostgreSQL."""

from __future__ import annotations

import uuid

from admin_support import PASSWORD, Admin, Person, add_person, running_admin, signed_in
from rcp_admin.passwords import verify_password


async def test_a_person_signs_in_and_gets_an_http_only_secure_strict_cookie_and_a_csrf_token(
    admin: Admin,
) -> None:
    tenant_id, _ = await admin.tenant("signin")
    email = await add_person(admin, tenant_id, "admin")
    person = Person(admin.carrier.session, admin.carrier.base)

    answer = await person.sign_in(email.upper(), PASSWORD)  # an address is any case

    assert answer.status == 200, answer.body
    attributes = {part.strip().lower() for part in person.set_cookie.split(";")}
    assert {"httponly", "secure", "samesite=strict", "path=/"} <= attributes
    assert answer.body["user"]["email"] == email
    assert answer.body["role"] == "admin"
    assert answer.body["tenant_id"] == tenant_id
    assert len(answer.body["csrf_token"]) == 64
    assert "password_hash" not in answer.body["user"]
    assert person.cookie is not None
    me = await person.ok("GET", "/v1/session")
    assert me["csrf_token"] == answer.body["csrf_token"]
    assert me["kind"] == "user"
    stored = await admin.pool.fetchval("SELECT password_hash FROM users WHERE email = $1", email)
    assert stored.startswith("$argon2id$")
    assert await verify_password(stored, PASSWORD)
    secret = await admin.pool.fetchval(
        "SELECT count(*) FROM user_sessions WHERE secret_hash = convert_to($1, 'UTF8')",
        person.cookie,
    )
    assert secret == 0  # the database holds only the secret's keyed hash


async def test_a_change_without_the_csrf_token_is_refused_and_with_it_the_audit_names_the_person(
    admin: Admin,
) -> None:
    tenant_id, _ = await admin.tenant("csrf")
    email, person = await signed_in(admin, tenant_id, "editor")
    body = {
        "number": "101",
        "kind": "virtual",
        "last_name": "Poulain",
        "external_number": "+33612345678",
    }
    path = f"/v1/tenants/{tenant_id}/extensions"

    refused = await person.call("POST", path, body, csrf=False)
    forged = await person.call("POST", path, body, csrf=False, headers={"X-CSRF-Token": "0" * 64})
    made = await person.call("POST", path, body)

    assert refused.status == 403
    assert refused.body["code"] == "csrf_failed"
    assert forged.status == 403
    assert made.status == 201, made.body
    assert await person.call("GET", path) is not None  # reads need no CSRF token
    entry = await admin.pool.fetchrow(
        """SELECT actor, actor_user_id FROM audit_log
            WHERE tenant_id = $1 AND action = 'extension.create'""",
        uuid.UUID(tenant_id),
    )
    user_id = await admin.pool.fetchval("SELECT id FROM users WHERE email = $1", email)
    assert entry is not None
    assert entry["actor"] == email
    assert entry["actor_user_id"] == user_id


async def test_a_viewer_reads_everything_but_changes_nothing(admin: Admin) -> None:
    tenant_id, tenant = await admin.tenant("viewer")
    await tenant.ok(
        "PUT", f"/v1/tenants/{tenant_id}/receptionist/keys/1", {"action": "dial_by_name"}
    )
    _, viewer = await signed_in(admin, tenant_id, "viewer")
    t = f"/v1/tenants/{tenant_id}"

    keys = await viewer.call("GET", f"{t}/receptionist/keys")
    saved = await viewer.call("PUT", f"{t}/receptionist/keys/2", {"action": "dial_by_name"})
    voicemail = await viewer.call("GET", f"{t}/voicemail")

    assert keys.status == 200
    assert voicemail.status == 200
    assert saved.status == 403
    assert saved.body["code"] == "read_only"
    assert saved.body["details"] == {"role": "viewer"}
    after = await tenant.ok("GET", f"{t}/receptionist/keys")
    assert [k["digit"] for k in after["items"] if k["action"] is not None] == ["1"]


async def test_an_editor_changes_the_configuration_but_not_users_audit_or_privacy(
    admin: Admin,
) -> None:
    tenant_id, _ = await admin.tenant("editor")
    _, editor = await signed_in(admin, tenant_id, "editor")
    t = f"/v1/tenants/{tenant_id}"

    key = await editor.call("PUT", f"{t}/receptionist/keys/1", {"action": "dial_by_name"})
    users = await editor.call("GET", f"{t}/users")
    invite = await editor.call("POST", f"{t}/users", {"email": "x@example.com", "role": "admin"})
    audit = await editor.call("GET", f"{t}/audit")
    retention = await editor.call("PATCH", f"{t}/retention", {"voicemail_days": 30})
    read_retention = await editor.call("GET", f"{t}/retention")

    assert key.status == 200
    assert [users.status, invite.status, audit.status, retention.status] == [403] * 4
    assert read_retention.status == 200


async def test_a_tenant_admin_manages_users_but_reaches_no_other_tenant_nor_carrier_operations(
    admin: Admin,
) -> None:
    tenant_id, _ = await admin.tenant("mine")
    other_id, _ = await admin.tenant("theirs")
    _, boss = await signed_in(admin, tenant_id, "admin")

    invited = await boss.call(
        "POST", f"/v1/tenants/{tenant_id}/users", {"email": "Zoe@Example.com", "role": "viewer"}
    )
    staff = await boss.call(
        "POST", f"/v1/tenants/{tenant_id}/users", {"email": "op@example.com", "role": "operator"}
    )
    other = await boss.call("GET", f"/v1/tenants/{other_id}/extensions")
    tenants = await boss.ok("GET", "/v1/tenants")
    carrier = await boss.call("POST", f"/v1/tenants/{tenant_id}/numbers", {"e164": "+33199000777"})

    assert invited.status == 201, invited.body
    assert invited.body["email"] == "zoe@example.com"
    assert invited.body["status"] == "invited"
    assert invited.body["invitation"]["sent"] is False  # no mail relay here
    assert staff.status == 422
    assert staff.body["field"] == "role"
    assert other.status == 404
    assert [t["id"] for t in tenants["items"]] == [tenant_id]
    assert carrier.status == 403
    taken = await boss.call(
        "POST", f"/v1/tenants/{tenant_id}/users", {"email": "zoe@example.com", "role": "editor"}
    )
    assert taken.status == 409
    assert taken.body["code"] == "email_taken"


async def test_a_wrong_password_and_an_unknown_account_are_refused_alike(admin: Admin) -> None:
    tenant_id, _ = await admin.tenant("wrong")
    email = await add_person(admin, tenant_id, "viewer")
    person = Person(admin.carrier.session, admin.carrier.base)

    wrong = await person.sign_in(email, "not the password at all")
    unknown = await person.sign_in(f"nobody-{uuid.uuid4().hex}@example.com", PASSWORD)
    invited = await add_invited(admin, tenant_id)
    not_yet = await person.sign_in(invited, PASSWORD)

    assert wrong.status == unknown.status == 401
    assert wrong.body == unknown.body
    assert wrong.body["code"] == "sign_in_failed"
    assert not_yet.status == 401
    assert person.cookie is None


async def add_invited(admin: Admin, tenant_id: str) -> str:
    email = f"invited-{uuid.uuid4().hex[:8]}@example.com"
    await admin.pool.execute(
        "INSERT INTO users (tenant_id, email, role) VALUES ($1, $2, 'editor')",
        uuid.UUID(tenant_id),
        email,
    )
    return email


async def test_failed_sign_ins_are_throttled_per_account_even_from_many_addresses(
    migrated_url: str,
) -> None:
    async with running_admin(
        migrated_url,
        admin_sign_in_failures_burst=3,
        admin_trusted_proxies="127.0.0.1/32",
    ) as admin:
        tenant_id, _ = await admin.tenant("perAccount".lower())
        email = await add_person(admin, tenant_id, "admin")
        person = Person(admin.carrier.session, admin.carrier.base)
        statuses = []
        for n in range(4):
            answer = await person.call(
                "POST",
                "/v1/session",
                {"email": email, "password": "guess number " + str(n)},
                headers={"X-Forwarded-For": f"198.51.100.{n + 1}"},
            )
            statuses.append(answer.status)
        right = await person.call(
            "POST",
            "/v1/session",
            {"email": email, "password": PASSWORD},
            headers={"X-Forwarded-For": "198.51.100.99"},
        )
        other = await Person(admin.carrier.session, admin.carrier.base).sign_in(
            await add_person(admin, tenant_id, "viewer"), PASSWORD
        )

    assert statuses == [401, 401, 401, 429]
    assert right.status == 429  # even the right password, until the account's bucket refills
    assert int(right.headers["Retry-After"]) >= 1
    assert other.status == 200  # another account is not held up


async def test_failed_sign_ins_are_throttled_per_address_across_accounts(
    migrated_url: str,
) -> None:
    async with running_admin(migrated_url, admin_auth_failures_burst=3) as admin:
        person = Person(admin.carrier.session, admin.carrier.base)
        statuses = [
            (await person.sign_in(f"probe-{n}@example.com", "whatever password")).status
            for n in range(4)
        ]
        token_from_there = await admin.carrier.call("GET", "/v1/tenants")

    assert statuses == [401, 401, 401, 429]
    assert token_from_there.status == 429  # one limiter per address, tokens and sign-ins alike


async def test_a_session_ends_after_its_idle_time_and_at_its_absolute_end(admin: Admin) -> None:
    tenant_id, _ = await admin.tenant("lifetime")
    _, idle = await signed_in(admin, tenant_id, "viewer")
    _, old = await signed_in(admin, tenant_id, "viewer")
    _, fresh = await signed_in(admin, tenant_id, "viewer")
    await admin.pool.execute(
        """UPDATE user_sessions SET last_seen_at = now() - interval '31 minutes'
            WHERE tenant_id = $1 AND id = (SELECT id FROM user_sessions WHERE tenant_id = $1
                                            ORDER BY created_at LIMIT 1)""",
        uuid.UUID(tenant_id),
    )
    await admin.pool.execute(
        """UPDATE user_sessions SET expires_at = now() - interval '1 second'
            WHERE tenant_id = $1 AND id = (SELECT id FROM user_sessions WHERE tenant_id = $1
                                            ORDER BY created_at OFFSET 1 LIMIT 1)""",
        uuid.UUID(tenant_id),
    )

    idle_answer = await idle.call("GET", f"/v1/tenants/{tenant_id}")
    old_answer = await old.call("GET", f"/v1/tenants/{tenant_id}")
    fresh_answer = await fresh.call("GET", f"/v1/tenants/{tenant_id}")

    assert idle_answer.status == old_answer.status == 401
    assert idle_answer.body["details"] == {"session": "ended"}
    assert fresh_answer.status == 200


async def test_signing_out_everywhere_ends_every_session_of_the_person_only(admin: Admin) -> None:
    tenant_id, _ = await admin.tenant("everywhere")
    email = await add_person(admin, tenant_id, "editor")
    laptop, phone = (Person(admin.carrier.session, admin.carrier.base) for _ in range(2))
    await laptop.sign_in(email, PASSWORD)
    await phone.sign_in(email, PASSWORD)
    _, colleague = await signed_in(admin, tenant_id, "editor")

    listed = await laptop.ok("GET", "/v1/me/sessions")
    ended = await phone.call("DELETE", "/v1/me/sessions")

    assert len(listed["items"]) == 2
    assert [s["current"] for s in listed["items"]].count(True) == 1
    assert ended.status == 204
    assert (await laptop.call("GET", "/v1/session")).status == 401
    assert (await phone.call("GET", "/v1/session")).status == 401
    assert (await colleague.call("GET", "/v1/session")).status == 200


async def test_signing_out_ends_the_session_and_clears_its_cookie(admin: Admin) -> None:
    tenant_id, _ = await admin.tenant("signout")
    _, person = await signed_in(admin, tenant_id, "viewer")
    cookie = person.cookie

    out = await person.call("DELETE", "/v1/session")

    assert out.status == 204
    assert person.cookie is None
    person.cookie = cookie  # replayed: refused
    assert (await person.call("GET", "/v1/session")).status == 401


async def test_changing_ones_password_needs_the_current_one_and_ends_the_other_sessions(
    admin: Admin,
) -> None:
    tenant_id, _ = await admin.tenant("password")
    email = await add_person(admin, tenant_id, "viewer")
    here, elsewhere = (Person(admin.carrier.session, admin.carrier.base) for _ in range(2))
    await here.sign_in(email, PASSWORD)
    await elsewhere.sign_in(email, PASSWORD)
    new = "a much better passphrase"

    wrong = await here.call(
        "PUT", "/v1/me/password", {"current_password": "nope", "new_password": new}
    )
    short = await here.call(
        "PUT", "/v1/me/password", {"current_password": PASSWORD, "new_password": "short"}
    )
    changed = await here.call(
        "PUT", "/v1/me/password", {"current_password": PASSWORD, "new_password": new}
    )

    assert wrong.status == 422
    assert wrong.body["field"] == "current_password"
    assert short.status == 422
    assert short.body["field"] == "new_password"
    assert changed.status == 204, changed.body
    assert (await here.call("GET", "/v1/session")).status == 200  # a viewer may, for itself
    assert (await elsewhere.call("GET", "/v1/session")).status == 401
    again = Person(admin.carrier.session, admin.carrier.base)
    assert (await again.sign_in(email, PASSWORD)).status == 401
    assert (await again.sign_in(email, new)).status == 200
    logged = await admin.pool.fetch(
        "SELECT before, after FROM audit_log WHERE action = 'user.password_change' AND actor = $1",
        email,
    )
    assert len(logged) == 1
    assert new not in str(logged[0])


async def test_disabling_a_user_signs_them_out_and_the_last_admin_cannot_be_demoted(
    admin: Admin,
) -> None:
    tenant_id, _ = await admin.tenant("disable")
    boss_email, boss = await signed_in(admin, tenant_id, "admin")
    _, clerk = await signed_in(admin, tenant_id, "editor")
    t = f"/v1/tenants/{tenant_id}"
    users = {u["email"]: u["id"] for u in (await boss.ok("GET", f"{t}/users"))["items"]}
    clerk_id = next(i for e, i in users.items() if e != boss_email)

    disabled = await boss.call("PATCH", f"{t}/users/{clerk_id}", {"disabled": True})
    demoted = await boss.call("PATCH", f"{t}/users/{users[boss_email]}", {"role": "viewer"})
    deleted = await boss.call("DELETE", f"{t}/users/{users[boss_email]}")

    assert disabled.status == 200
    assert disabled.body["status"] == "disabled"
    assert (await clerk.call("GET", "/v1/session")).status == 401
    assert demoted.status == deleted.status == 409
    assert demoted.body["code"] == "last_admin"
    enabled = await boss.call("PATCH", f"{t}/users/{clerk_id}", {"disabled": False})
    assert enabled.body["status"] == "active"


async def test_a_suspended_tenants_people_are_refused_like_its_tokens(admin: Admin) -> None:
    tenant_id, _ = await admin.tenant("suspended")
    email, person = await signed_in(admin, tenant_id, "admin")
    await admin.carrier.ok("PATCH", f"/v1/tenants/{tenant_id}", {"status": "suspended"})

    during = await person.call("GET", f"/v1/tenants/{tenant_id}")
    again = await Person(admin.carrier.session, admin.carrier.base).sign_in(email, PASSWORD)

    assert during.status == again.status == 403
    assert during.body["code"] == again.body["code"] == "tenant_suspended"


async def test_tokens_keep_working_and_a_request_with_a_token_is_the_tokens(admin: Admin) -> None:
    tenant_id, tenant = await admin.tenant("tokens")
    _, viewer = await signed_in(admin, tenant_id, "viewer")
    path = f"/v1/tenants/{tenant_id}/receptionist/keys/3"

    with_both = await viewer.call(
        "PUT",
        path,
        {"action": "dial_by_name"},
        csrf=False,
        headers={"Authorization": f"Bearer {tenant.token}"},
    )
    who = await tenant.ok("GET", "/v1/session")

    assert with_both.status == 200  # the token's right, not the viewer's, and no CSRF needed
    assert who == {
        "kind": "token",
        "name": "tokens admin",
        "tenant_id": tenant_id,
        "user": None,
        "role": None,
        "csrf_token": None,
        "expires_at": None,
        "idle_minutes": None,
        "read_only": False,
        "view_as": None,
    }


async def test_carrier_support_reads_every_tenant_and_changes_nothing_operators_change(
    admin: Admin,
) -> None:
    tenant_id, _ = await admin.tenant("support")
    _, support = await signed_in(admin, None, "support")
    _, operator = await signed_in(admin, None, "operator")

    listed = await support.ok("GET", "/v1/tenants")
    read = await support.call("GET", f"/v1/tenants/{tenant_id}/tokens")
    refused = await support.call("PATCH", f"/v1/tenants/{tenant_id}", {"name": "Nope"})
    changed = await operator.call("PATCH", f"/v1/tenants/{tenant_id}", {"name": "Renamed"})
    staff = await support.call("GET", "/v1/users")

    assert tenant_id in [t["id"] for t in listed["items"]]
    assert read.status == 200
    assert refused.status == 403
    assert refused.body["code"] == "read_only"
    assert changed.status == 200
    assert staff.status == 200
