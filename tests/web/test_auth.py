"""Logging in: the OAuth2 password flow, browser sessions with CSRF, the
rate limit, and credentials that stop working when they should."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from itsdangerous import URLSafeTimedSerializer

from rapport.audit.service import list_events
from rapport.auth.service import MAX_FAILURES_PER_ACCOUNT, MAX_FAILURES_PER_CLIENT
from rapport.settings import get_settings
from rapport.storage.engine import session_scope
from rapport.users.schemas import UserUpdate
from rapport.users.service import do_update_user
from tests.web.conftest import Account


def token_for(client: TestClient, email: str, password: str) -> tuple[int, dict]:
    response = client.post("/api/v1/auth/token", data={"username": email, "password": password})
    return response.status_code, response.json()


def test_password_flow_gives_a_bearer_token_that_opens_the_api(
    client: TestClient, accounts: dict[str, Account]
) -> None:
    admin = accounts["admin"]
    status, body = token_for(client, admin.email, admin.password)
    assert status == 200 and body["token_type"] == "bearer" and body["access_token"]
    me = client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert me.status_code == 200
    assert me.json()["email"] == admin.email and me.json()["role"] == "admin"
    with session_scope() as session:
        events, _ = list_events(session, action="auth.login", actor=admin.email)
    assert len(events) == 1


def test_wrong_password_unknown_user_and_disabled_user_get_401(
    client: TestClient, accounts: dict[str, Account]
) -> None:
    agent = accounts["agent"]
    assert token_for(client, agent.email, "wrong password")[0] == 401
    assert token_for(client, "nobody@example.com", agent.password)[0] == 401
    with session_scope(write=True) as session:
        do_update_user(session, agent.id, UserUpdate(active=False), actor="test")
    status, body = token_for(client, agent.email, agent.password)
    assert status == 401 and body == {"detail": "wrong email or password"}
    # ... and the token issued before the user was disabled stops working too.
    assert client.get("/api/v1/auth/me", headers=agent.headers).status_code == 401


def test_no_token_is_401_and_the_wrong_role_is_403(
    client: TestClient, accounts: dict[str, Account]
) -> None:
    response = client.get("/api/v1/users")
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    for role in ("agent", "manager", "analyst"):
        assert client.get("/api/v1/users", headers=accounts[role].headers).status_code == 403
    listed = client.get("/api/v1/users", headers=accounts["admin"].headers)
    assert listed.status_code == 200
    assert {u["email"] for u in listed.json()["users"]} == {a.email for a in accounts.values()}


def test_forged_expired_and_superseded_tokens_are_refused(
    client: TestClient, accounts: dict[str, Account]
) -> None:
    admin = accounts["admin"]
    tampered = admin.token[:-2] + ("AA" if not admin.token.endswith("AA") else "BB")
    other_key = URLSafeTimedSerializer("another-secret-key", salt="rapport.auth.token").dumps(
        {"u": admin.id, "f": "x"}
    )
    for bad in (tampered, other_key, "not-a-token"):
        r = client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {bad}"})
        assert r.status_code == 401, bad

    class OldSerializer(URLSafeTimedSerializer):
        """Signs as a clock a day and a half behind would."""

        default_signer = type(
            "OldSigner",
            (URLSafeTimedSerializer.default_signer,),
            {"get_timestamp": lambda self: super(type(self), self).get_timestamp() - 36 * 3600},
        )

    genuine = URLSafeTimedSerializer(get_settings().secret_key, salt="rapport.auth.token")
    claims = genuine.loads(admin.token)
    expired = OldSerializer(get_settings().secret_key, salt="rapport.auth.token").dumps(claims)
    r = client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {expired}"})
    assert r.status_code == 401 and "expired" in r.json()["detail"]

    # A new password ends the tokens issued before it.
    changed = client.put(
        f"/api/v1/users/{admin.id}/password",
        json={"password": "a brand new password"},
        headers=admin.headers,
    )
    assert changed.status_code == 204
    assert client.get("/api/v1/auth/me", headers=admin.headers).status_code == 401
    assert token_for(client, admin.email, "a brand new password")[0] == 200


def test_logins_are_rate_limited_per_account(
    client: TestClient, accounts: dict[str, Account]
) -> None:
    agent = accounts["agent"]
    for _ in range(MAX_FAILURES_PER_ACCOUNT):
        assert token_for(client, agent.email, "guess")[0] == 401
    response = client.post(
        "/api/v1/auth/token", data={"username": agent.email, "password": agent.password}
    )
    assert response.status_code == 429
    assert int(response.headers["retry-after"]) > 0
    # The browser login counts against the same limit.
    page = client.get("/login")
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    form = client.post(
        "/login", data={"email": agent.email, "password": agent.password, "csrf_token": csrf}
    )
    assert form.status_code == 429 and "too many failed logins" in form.text
    # Other accounts are not locked out by it.
    assert token_for(client, accounts["admin"].email, accounts["admin"].password)[0] == 200
    with session_scope() as session:
        _, failed = list_events(session, action="auth.login_failed")
        _, throttled = list_events(session, action="auth.login_throttled")
    assert failed == MAX_FAILURES_PER_ACCOUNT and throttled == 2


def test_logins_are_rate_limited_per_client_address(
    client: TestClient, accounts: dict[str, Account]
) -> None:
    for n in range(MAX_FAILURES_PER_CLIENT):
        assert token_for(client, f"guess{n}@example.com", "guess")[0] == 401
    admin = accounts["admin"]
    assert token_for(client, admin.email, admin.password)[0] == 429


def login(client: TestClient, account: Account, next_path: str = "/inbox") -> str:
    """Log in through the form; returns the session's CSRF token."""
    page = client.get(f"/login?next={next_path}")
    assert page.status_code == 200
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    response = client.post(
        "/login",
        data={
            "email": account.email,
            "password": account.password,
            "csrf_token": csrf,
            "next": next_path,
        },
    )
    assert response.status_code == 303, response.text
    assert response.headers["location"] == next_path
    assert "rapport_session" in response.cookies
    inbox = client.get(next_path)
    assert inbox.status_code == 200
    return re.search(r'name="csrf_token" value="([^"]+)"', inbox.text).group(1)


def test_browser_session_with_csrf_protection(
    client: TestClient, conversations, accounts: dict[str, Account]
) -> None:
    assert client.get("/inbox").headers["location"] == "/login?next=%2Finbox"
    # The login form itself refuses a post without its double-submit token.
    assert (
        client.post("/login", data={"email": "admin@example.com", "password": "x"}).status_code
        == 403
    )
    csrf = login(client, accounts["admin"], "/admin/users")
    new_user = {"email": "new.agent@example.com", "role": "agent", "password": "long enough"}
    refused = client.post("/admin/users", data=new_user)
    assert refused.status_code == 403 and "CSRF" in refused.text
    refused = client.post("/admin/users", data={**new_user, "csrf_token": "forged"})
    assert refused.status_code == 403
    created = client.post("/admin/users", data={**new_user, "csrf_token": csrf})
    assert created.status_code == 303
    # htmx sends the token as a header instead of a form field.
    disabled = client.post(
        "/admin/users/" + str(accounts["analyst"].id),
        data={"active": "no"},
        headers={"X-CSRF-Token": csrf},
    )
    assert disabled.status_code == 303
    page = client.get("/admin/users")
    assert "new.agent@example.com" in page.text
    with session_scope() as session:
        events, _ = list_events(session, actor=accounts["admin"].email)
    actions = [e.action for e in events]
    assert "users.create" in actions and "users.update" in actions and "auth.login" in actions
    # Log out (CSRF-checked), and the session is gone.
    assert client.post("/logout", data={"csrf_token": "forged"}).status_code == 403
    out = client.post("/logout", data={"csrf_token": csrf})
    assert out.status_code == 303 and out.headers["location"] == "/login"
    assert client.get("/inbox").status_code == 303


def test_login_form_rejects_wrong_password_and_open_redirects(
    client: TestClient, accounts: dict[str, Account]
) -> None:
    page = client.get("/login?next=//evil.example/")
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    wrong = client.post(
        "/login", data={"email": accounts["agent"].email, "password": "nope", "csrf_token": csrf}
    )
    assert wrong.status_code == 401 and "wrong email or password" in wrong.text
    ok = client.post(
        "/login",
        data={
            "email": accounts["agent"].email,
            "password": accounts["agent"].password,
            "csrf_token": csrf,
            "next": "//evil.example/",
        },
    )
    assert ok.status_code == 303 and ok.headers["location"] == "/inbox"


def test_an_agent_cannot_reach_admin_pages(
    client: TestClient, conversations, accounts: dict[str, Account]
) -> None:
    login(client, accounts["agent"])
    for path in ("/admin/users", "/admin/audit", "/admin/requests"):
        page = client.get(path, headers={"Accept": "text/html"})
        assert page.status_code == 403 and "Not allowed" in page.text, path
    inbox = client.get("/inbox")
    assert "/admin/users" not in inbox.text  # the menu does not offer it either
