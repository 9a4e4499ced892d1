"""`rapport users ensure-demo-admin`: what `make run` prints to log in with."""

from __future__ import annotations

import os

from fastapi.testclient import TestClient

from rapport.settings import reset_settings_cache


def test_demo_admin_is_created_once_and_can_log_in(db, cli, client: TestClient) -> None:
    first = cli("users", "ensure-demo-admin", "--json")
    assert first.exit_code == 0, first.stderr
    login = first.json()
    assert login["state"] == "created" and login["email"] == "admin@example.com"
    again = cli("users", "ensure-demo-admin", "--json").json()
    assert again == {**login, "state": "unchanged"}
    token = client.post(
        "/api/v1/auth/token", data={"username": login["email"], "password": login["password"]}
    )
    assert token.status_code == 200
    me = client.get(
        "/api/v1/auth/me", headers={"Authorization": f"Bearer {token.json()['access_token']}"}
    )
    assert me.json()["role"] == "admin"
    # Demoted or disabled by someone: the next run puts it back, and says so.
    cli("users", "disable", "admin@example.com")
    assert cli("users", "ensure-demo-admin", "--json").json()["state"] == "repaired"
    listed = cli("users", "list", "--json").json()["users"]
    assert [(u["email"], u["role"], u["active"]) for u in listed] == [
        ("admin@example.com", "admin", True)
    ]
    text = cli("users", "ensure-demo-admin")
    assert f"admin@example.com / {login['password']}" in text.stdout


def test_demo_admin_is_refused_in_prod(db, cli) -> None:
    os.environ["RAPPORT_ENV"] = "prod"
    os.environ["RAPPORT_SECRET_KEY"] = "x" * 40
    reset_settings_cache()
    try:
        result = cli("users", "ensure-demo-admin")
    finally:
        os.environ["RAPPORT_ENV"] = "test"
        os.environ.pop("RAPPORT_SECRET_KEY", None)
        reset_settings_cache()
    assert result.exit_code == 1 and "no demo admin in prod" in result.stderr


def test_serve_refuses_the_default_secret_key_in_prod(db, rapport_proc) -> None:
    saved = dict(os.environ)
    os.environ["RAPPORT_ENV"] = "prod"
    os.environ.pop("RAPPORT_SECRET_KEY", None)
    try:
        result = rapport_proc("serve", "--port", "1", timeout=120)
    finally:
        os.environ.clear()
        os.environ.update(saved)
    assert result.exit_code == 1
    assert "RAPPORT_SECRET_KEY" in result.stderr
