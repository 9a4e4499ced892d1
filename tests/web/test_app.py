"""The minimal web app: the report as JSON and as a page."""

from __future__ import annotations

from fastapi.testclient import TestClient

from rapport.demo import demo_path
from rapport.web.app import create_app
from tests.conftest import Database


def test_summary_endpoint_returns_the_contract_report(db: Database, cli) -> None:
    cli("ingest", str(demo_path()))
    expected = cli("report", "--json").json()
    with TestClient(create_app()) as client:
        response = client.get("/api/v1/reports/summary")
        assert response.status_code == 200
        assert response.json() == expected
        page = client.get("/")
        assert page.status_code == 200
        assert ">5000</b> messages" in page.text and "AmazonHelp" in page.text
        assert client.get("/openapi.json").json()["info"]["title"] == "Rapport"
        assert client.get("/healthz").json() == {"status": "ok"}
