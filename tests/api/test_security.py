"""Writes need the bearer token, reads may; bodies have a size limit."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

from fastapi.testclient import TestClient
from httpx import Response

from tests.api.conftest import AUTH, GSOMIA_JSON, make_settings, prepare
from tracker.api.app import create_app

BASE = "/api/v1/agreements"


def client_for(tmp_path: Path, seeds: Path, **overrides: object) -> TestClient:
    app = create_app(make_settings(tmp_path, agreements_dir=seeds, **overrides))
    prepare(app, seeds)
    return TestClient(app)


def test_a_write_without_a_token_is_401_with_a_bearer_challenge(client: TestClient) -> None:
    response = client.post(BASE, json=GSOMIA_JSON)
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert response.json() == {
        "detail": "missing bearer token: send 'Authorization: Bearer <api_token>'"
    }


def test_a_write_with_a_wrong_token_is_401(client: TestClient) -> None:
    for header in ("Bearer s3cret-tokeN", "Bearer s3cret-token-and-more", "Basic s3cret-token"):
        response = client.delete(f"{BASE}/npt", headers={"Authorization": header})
        assert response.status_code == 401, header
        assert response.headers["www-authenticate"] == "Bearer"
    assert client.get(f"{BASE}/npt").status_code == 200


def test_without_a_configured_token_writes_are_refused_with_403(
    tmp_path: Path, seeds_copy: Path
) -> None:
    with client_for(tmp_path, seeds_copy, api_token=None) as client:
        response = client.post(BASE, json=GSOMIA_JSON, headers=AUTH)
        assert response.status_code == 403
        assert response.json() == {
            "detail": "writes are disabled: set api_token in the configuration"
        }
        assert client.get(BASE).status_code == 200


def test_read_requires_token_protects_reads_but_not_the_health_check(
    tmp_path: Path, seeds_copy: Path
) -> None:
    with client_for(tmp_path, seeds_copy, read_requires_token=True) as client:
        for path in (
            BASE,
            f"{BASE}/npt",
            "/api/v1/deadlines",
            "/api/v1/reminders",
            "/calendar.ics",
            "/metrics",
            "/",
            "/docs",
            "/openapi.json",
        ):
            response = client.get(path)
            assert response.status_code == 401, path
            assert client.get(path, headers=AUTH).status_code == 200, path
        assert client.get("/healthz").status_code == 200
        assert client.get("/api/v1/healthz").status_code == 200


def test_a_body_over_the_limit_is_413_by_its_content_length(
    tmp_path: Path, seeds_copy: Path
) -> None:
    with client_for(tmp_path, seeds_copy, max_body_bytes=2048) as client:
        body = "# padding\n" * 300
        response = client.post(BASE, content=body, headers={**AUTH, "Content-Type": "text/yaml"})
        assert response.status_code == 413
        assert response.json() == {
            "detail": "request body is larger than 2048 bytes (max_body_bytes)"
        }


def test_a_chunked_body_over_the_limit_is_413_when_counted(
    tmp_path: Path, seeds_copy: Path
) -> None:
    def chunks() -> Iterator[bytes]:
        for _ in range(10):
            yield b"# padding " * 50

    with client_for(tmp_path, seeds_copy, max_body_bytes=2048) as client:
        response = client.post(
            BASE, content=chunks(), headers={**AUTH, "Content-Type": "text/yaml"}
        )
        assert "content-length" not in {k.lower() for k in response.request.headers}
        assert response.status_code == 413


def test_a_body_under_the_limit_passes(tmp_path: Path, seeds_copy: Path) -> None:
    with client_for(tmp_path, seeds_copy, max_body_bytes=2048) as client:
        assert client.post(BASE, json=GSOMIA_JSON, headers=AUTH).status_code == 201


PAGE_CSP = (
    "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
    "base-uri 'none'; frame-ancestors 'none'"
)
DOCS_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'self' data:; connect-src 'self'; "
    "form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)


def security_headers(response: Response) -> dict[str, str]:
    names = ("content-security-policy", "x-content-type-options", "referrer-policy")
    return {name: response.headers.get(name, "") for name in (*names, "x-frame-options")}


def expected_headers(csp: str) -> dict[str, str]:
    return {
        "content-security-policy": csp,
        "x-content-type-options": "nosniff",
        "referrer-policy": "no-referrer",
        "x-frame-options": "DENY",
    }


def test_every_page_error_page_and_api_answer_carries_the_security_headers(
    client: TestClient,
) -> None:
    html = {"Accept": "text/html"}
    answers = {
        "page": client.get("/", headers=html),
        "agreement page": client.get("/agreements/kr-jp-gsomia", headers=html),
        "error page": client.get("/agreements/no-such-thing", headers=html),
        "api": client.get("/api/v1/deadlines"),
        "api error": client.post(BASE, json=GSOMIA_JSON),
        "feed": client.get("/calendar.ics"),
        "style sheet": client.get("/static/tracker.css"),
        "schema": client.get("/openapi.json"),
    }
    assert {name: r.status_code for name, r in answers.items()} == {
        "page": 200,
        "agreement page": 200,
        "error page": 404,
        "api": 200,
        "api error": 401,
        "feed": 200,
        "style sheet": 200,
        "schema": 200,
    }
    for name, response in answers.items():
        assert security_headers(response) == expected_headers(PAGE_CSP), name
    assert answers["error page"].headers["content-type"] == "text/html; charset=utf-8"


def test_the_docs_load_swagger_ui_from_this_server_under_their_own_policy(
    client: TestClient,
) -> None:
    docs = client.get("/docs")

    assert docs.status_code == 200
    assert security_headers(docs) == expected_headers(DOCS_CSP)
    scripts = re.findall(r'<script[^>]*src="([^"]+)"[^>]*></script>', docs.text)
    styles = re.findall(r'<link rel="stylesheet" href="([^"]+)">', docs.text)
    assert (scripts, styles) == (
        ["/static/docs/swagger-ui-bundle.js", "/static/swagger-init.js"],
        ["/static/docs/swagger-ui.css"],
    )
    assert re.findall(r"<script>", docs.text) == []  # no inline script for the CSP to allow
    for asset in (*scripts, *styles):
        assert client.get(asset).status_code == 200, asset
    assert 'data-openapi-url="/openapi.json"' in docs.text
    assert client.get("/openapi.json").json()["info"]["title"] == "Treaty deadline tracker"
    assert client.get("/redoc").status_code == 404


HOSTILE_URLS = [
    "javascript:alert(document.domain)",
    " JaVaScRiPt:alert(1)",
    "java\tscript:alert(1)",
    "data:text/html,<script>alert(1)</script>",
    "vbscript:msgbox(1)",
]


def test_a_source_url_with_a_script_scheme_is_refused_and_nothing_is_stored(
    client: TestClient,
) -> None:
    body = {
        **GSOMIA_JSON,
        "id": "xss-pact",
        "sources": [{"cite": f"Art. {i}", "url": url} for i, url in enumerate(HOSTILE_URLS)],
    }

    response = client.post(BASE, json=body, headers=AUTH)

    not_a_link = (
        "is not a web or mail link: write an http://, https:// or mailto: URL "
        "(e.g. 'https://example.org/treaty-text')"
    )
    assert response.status_code == 422
    assert [line.split(": ", 1)[1] for line in response.json()["detail"]] == [
        f"sources[0].url: 'javascript:alert(document.domain)' {not_a_link}",
        f"sources[1].url: 'JaVaScRiPt:alert(1)' {not_a_link}",
        "sources[2].url: a tab (U+0009) at character 5 is not allowed: write one line of "
        "printable text",
        f"sources[3].url: 'data:text/html,<script>alert(1)</script>' {not_a_link}",
        f"sources[4].url: 'vbscript:msgbox(1)' {not_a_link}",
    ]
    assert client.get(f"{BASE}/xss-pact").status_code == 404


def test_the_page_links_only_web_and_mail_urls_whatever_was_stored() -> None:
    # Defence in depth: a row stored by an older version (before URLs were checked) must not
    # become a script link either.
    from tracker.api.routers.pages import linkable

    assert [url for url in HOSTILE_URLS if linkable(url)] == []
    assert [linkable(u) for u in ("https://example.org/pact", "mailto:desk@example.org")] == [
        True,
        True,
    ]
    assert [linkable(u) for u in ("https:///no-host", "ftp://example.org/x", None)] == [
        False,
        False,
        False,
    ]
