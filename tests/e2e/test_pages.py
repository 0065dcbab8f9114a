"""Issue 14, points 3 and 4: the pages as HTTP sees them — headers, cookies, CSRF,
escaping, redirects, error pages, and no secret anywhere it could leak. The browser
suite (tests/browser) drives the same pages as a person does."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from urllib.parse import quote

import httpx
import pytest
from sqlalchemy import inspect, text

from server.container import Container
from tests.conftest import Tenant
from tests.hardening.test_sessions import PASSWORD, make_user
from tests.harness import EdgeServer

ADMIN = "ada@example.com"
MEMBER = "max@example.com"
SESSION_COOKIE = "chronicle_session"


def csrf_of(page: httpx.Response) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert found, "the page has no form with a CSRF token"
    return found.group(1)


def form_id_of(page: httpx.Response) -> str:
    found = re.search(r'name="form_id" value="([^"]+)"', page.text)
    assert found
    return found.group(1)


def new_key_of(page: httpx.Response) -> str | None:
    found = re.search(r'id="new-key"[^>]*value="([^"]+)"', page.text)
    return found.group(1) if found else None


def sign_in(client: httpx.Client, email: str, password: str = PASSWORD) -> httpx.Response:
    form = client.get("/login")
    return client.post("/login", data={"csrf": csrf_of(form), "email": email, "password": password})


def create_key(client: httpx.Client, name: str, **fields: str) -> httpx.Response:
    page = client.get("/settings/api")
    data = {"environment": "test", "expires": "never", **fields, "name": name}
    return client.post(
        "/settings/api/keys",
        data={"csrf": csrf_of(page), "form_id": form_id_of(page), **data},
    )


@pytest.fixture
def admin(container: Container, tenant: Tenant) -> str:
    make_user(container, tenant.workspace_id, ADMIN, "admin")
    return ADMIN


@pytest.fixture
def browser(edge: EdgeServer, admin: str) -> Iterator[httpx.Client]:
    """A client that keeps cookies, signed in as the workspace's admin."""
    with httpx.Client(base_url=edge.url, timeout=10) as client:
        assert sign_in(client, admin).status_code == 303
        yield client


def key_count(container: Container, workspace_id: str) -> int:
    with container.engine.connect() as db:
        return int(
            db.execute(
                text("SELECT count(*) FROM api_keys WHERE workspace_id = :ws"),
                {"ws": workspace_id},
            ).scalar_one()
        )


def test_every_page_is_sent_with_the_security_headers(
    browser: httpx.Client, edge: EdgeServer
) -> None:
    key_id = re.findall(r'data-key-id="([^"]+)"', browser.get("/settings/api").text)[0]
    pages = [
        httpx.get(f"{edge.url}/login"),
        *(
            browser.get(path)
            for path in ("/settings/api", f"/settings/api/keys/{key_id}/revoke", "/nowhere")
        ),
    ]
    for response in pages:
        path = response.url.path
        assert response.headers["content-type"].startswith("text/html"), path
        policy = response.headers["content-security-policy"]
        assert "unsafe-inline" not in policy and "script-src 'self'" in policy
        assert "frame-ancestors 'none'" in policy
        assert response.headers["x-frame-options"] == "DENY"
        assert response.headers["referrer-policy"] == "same-origin"
        assert response.headers["cache-control"] == "no-store"
        # No inline script or style a policy without unsafe-inline would block anyway.
        assert not re.search(r"<script(?![^>]*\bsrc=)|<style|\sstyle=|\son\w+=", response.text)


def test_the_session_cookie_is_httponly_lax_and_on_the_whole_site(
    edge: EdgeServer, admin: str
) -> None:
    with httpx.Client(base_url=edge.url) as client:
        answer = sign_in(client, admin)
    cookie = next(c for c in answer.headers.get_list("set-cookie") if c.startswith(SESSION_COOKIE))
    attributes = {part.strip().split("=")[0].lower() for part in cookie.split(";")[1:]}
    assert {"httponly", "path", "samesite", "max-age"} <= attributes
    assert "samesite=lax" in cookie.lower() and "path=/" in cookie.lower()
    assert "secure" not in attributes  # http://: a Secure cookie would never come back


def test_behind_https_the_cookies_are_secure_and_host_only(
    edge_factory: object, admin: str
) -> None:
    server: EdgeServer = edge_factory(public_url="https://chronicle.example")  # type: ignore[operator]
    with httpx.Client(base_url=server.url) as client:
        form = client.get("/login")
        csrf_cookie = form.headers["set-cookie"]
        assert csrf_cookie.startswith("__Host-chronicle_csrf=")
        # httpx does not send Secure cookies over http: send it by hand, as a browser
        # on https would.
        secret = csrf_cookie.split(";")[0].split("=", 1)[1]
        answer = client.post(
            "/login",
            data={"csrf": csrf_of(form), "email": admin, "password": PASSWORD},
            headers={"cookie": f"__Host-chronicle_csrf={secret}"},
        )
    assert answer.status_code == 303
    cookies = answer.headers.get_list("set-cookie")
    session = next(c for c in cookies if c.startswith("__Host-chronicle_session="))
    assert "; secure" in session.lower() and "httponly" in session.lower()


def test_a_post_without_a_valid_csrf_token_is_refused_and_does_nothing(
    browser: httpx.Client, container: Container, tenant: Tenant, edge: EdgeServer
) -> None:
    before = key_count(container, tenant.workspace_id)
    page = browser.get("/settings/api")
    good = {"form_id": form_id_of(page), "name": "x", "environment": "live", "expires": "never"}
    with httpx.Client(base_url=edge.url) as stranger:  # another browser's token
        other_token = csrf_of(stranger.get("/login"))
    attempts = [
        ({}, {}),
        ({"csrf": "forged"}, {}),
        ({"csrf": other_token}, {}),
        ({"csrf": csrf_of(page)}, {"origin": "https://evil.example"}),
    ]
    for extra, headers in attempts:
        refused = browser.post("/settings/api/keys", data={**good, **extra}, headers=headers)
        assert refused.status_code == 403, extra
        assert refused.headers["content-type"].startswith("text/html")
        assert "did not come from this site" in refused.text
    assert key_count(container, tenant.workspace_id) == before
    # The same form with its own token works: it was the token, not the form.
    made = browser.post("/settings/api/keys", data={**good, "csrf": csrf_of(page)})
    assert made.status_code == 201 and new_key_of(made)
    # Sign-in and sign-out forms are guarded too (no login CSRF, no forced sign-out).
    assert browser.post("/login", data={"email": ADMIN, "password": PASSWORD}).status_code == 403
    assert browser.post("/logout").status_code == 403
    assert browser.get("/settings/api").status_code == 200  # still signed in


def test_a_token_seen_before_sign_in_is_worthless_after_it(edge: EdgeServer, admin: str) -> None:
    with httpx.Client(base_url=edge.url) as client:
        before = csrf_of(client.get("/login"))
        sign_in(client, admin)
        page = client.get("/settings/api")
        assert csrf_of(page) != before
        refused = client.post(
            "/settings/api/keys",
            data={"csrf": before, "form_id": form_id_of(page), "name": "x"},
        )
        assert refused.status_code == 403


def test_the_new_key_is_shown_once_and_a_form_sent_twice_makes_one_key(
    browser: httpx.Client, container: Container, tenant: Tenant
) -> None:
    page = browser.get("/settings/api")
    form = {
        "csrf": csrf_of(page),
        "form_id": form_id_of(page),
        "name": "deploy bot",
        "environment": "live",
        "expires": "30 days",
    }
    made = browser.post("/settings/api/keys", data=form)
    key = new_key_of(made)
    assert made.status_code == 201 and key is not None and key.startswith("chr_live_")
    assert "will not be shown again" in made.text
    assert made.headers["cache-control"] == "no-store"
    before = key_count(container, tenant.workspace_id)
    again = browser.post("/settings/api/keys", data=form)  # a reload of that answer
    assert again.status_code == 409 and "already sent" in again.text
    assert key not in again.text and new_key_of(again) is None
    assert key_count(container, tenant.workspace_id) == before
    later = browser.get("/settings/api")
    assert key not in later.text and "deploy bot" in later.text
    assert key not in str(made.url) and all(key not in c for c in browser.cookies.values())


def test_what_people_type_is_escaped(browser: httpx.Client) -> None:
    name = '<script>alert("name")</script>'
    reason = '"><img src=x onerror=alert(1)>'
    create_key(browser, name)
    key_id = re.findall(r'data-key-id="([^"]+)"', browser.get("/settings/api").text)[0]
    revoke_page = browser.get(f"/settings/api/keys/{key_id}/revoke")
    browser.post(
        f"/settings/api/keys/{key_id}/revoke",
        data={"csrf": csrf_of(revoke_page), "reason": reason},
    )
    page = browser.get("/settings/api").text
    assert name not in page and reason not in page
    assert "&lt;script&gt;alert(&#34;name&#34;)&lt;/script&gt;" in page
    assert "&#34;&gt;&lt;img src=x onerror=alert(1)&gt;" in page


@pytest.mark.parametrize(
    "target",
    ["//evil.example/x", "https://evil.example", "/\\evil.example", "javascript:alert(1)", "x"],
)
def test_sign_in_returns_only_to_this_site(edge: EdgeServer, admin: str, target: str) -> None:
    with httpx.Client(base_url=edge.url) as client:
        form = client.get(f"/login?next={quote(target)}")
        answer = client.post(
            "/login",
            data={"csrf": csrf_of(form), "email": admin, "password": PASSWORD, "next": target},
        )
    assert answer.status_code == 303 and answer.headers["location"] == "/settings/api"


def test_a_page_needing_sign_in_sends_to_login_and_back(edge: EdgeServer, admin: str) -> None:
    with httpx.Client(base_url=edge.url) as client:
        client.cookies.set(SESSION_COOKIE, "chr_ses_" + "A" * 32)  # unknown session
        away = client.get("/settings/api")
        assert away.status_code == 303
        assert away.headers["location"] == "/login?next=/settings/api"
        form = client.get(away.headers["location"])
        back = client.post(
            "/login",
            data={
                "csrf": csrf_of(form),
                "email": admin,
                "password": PASSWORD,
                "next": "/settings/api",
            },
        )
        assert back.headers["location"] == "/settings/api"
        assert client.get("/login").headers["location"] == "/settings/api"  # signed in


def test_errors_on_pages_are_pages_and_under_the_api_stay_json(browser: httpx.Client) -> None:
    for path, status in [
        ("/nowhere", 404),
        ("/static/nothing.js", 404),
        ("/settings/api/keys/key_missing/revoke", 404),
    ]:
        page = browser.get(path)
        assert page.status_code == status, path
        assert page.headers["content-type"].startswith("text/html")
        assert "<h1>" in page.text and "Traceback" not in page.text
    wrong_verb = browser.delete("/login")
    assert wrong_verb.status_code == 405 and wrong_verb.headers["content-type"].startswith(
        "text/html"
    )
    api = browser.get("/api/v1/nothing")
    assert api.status_code == 404 and api.json()["error"]["code"] == "NOT_FOUND"
    bad_form = browser.post(
        "/login", content=b"\xff" * 100, headers={"content-type": "multipart/form-data"}
    )
    assert bad_form.status_code in (400, 403)
    assert bad_form.headers["content-type"].startswith("text/html")


def test_sign_in_failures_read_the_same_then_are_throttled(edge: EdgeServer, admin: str) -> None:
    with httpx.Client(base_url=edge.url) as client:
        unknown = sign_in(client, "nobody@example.com")
        wrong = sign_in(client, admin, "not the password at all")
        assert unknown.status_code == wrong.status_code == 401
        for answer in (unknown, wrong):
            assert "Invalid email or password" in answer.text
        answers = [sign_in(client, admin, f"wrong password {n}") for n in range(12)]
    throttled = answers[-1]
    assert throttled.status_code == 429
    assert "Too many sign-in attempts" in throttled.text
    assert int(throttled.headers["retry-after"]) >= 1


def test_keys_made_on_the_page_name_the_person_who_made_and_revoked_them(
    browser: httpx.Client,
) -> None:
    create_key(browser, "made by a person")
    page = browser.get("/settings/api")
    key_id = re.search(r'data-key-id="([^"]+)"[^>]*>\s*<th[^>]*>made by a person', page.text)
    assert key_id, "the new key's row"
    row = page.text[page.text.index(f'id="key-{key_id.group(1)}"') :].split("</tr>")[0]
    assert f"by {ADMIN}" in row
    revoke_page = browser.get(f"/settings/api/keys/{key_id.group(1)}/revoke")
    browser.post(
        f"/settings/api/keys/{key_id.group(1)}/revoke",
        data={"csrf": csrf_of(revoke_page), "reason": "rotating vendors"},
    )
    activity = browser.get("/settings/api").text.split('id="activity-heading"')[1]
    events = re.findall(r'<span class="what">([^<]+)</span>', activity)
    assert events[:2] == ["Revoked", "Created"]  # newest first
    assert "Signed in" in events
    assert activity.count(f"by {ADMIN}") >= 3


def test_a_member_sees_keys_and_activity_but_cannot_change_them(
    edge: EdgeServer, container: Container, tenant: Tenant
) -> None:
    make_user(container, tenant.workspace_id, MEMBER, "member")
    with httpx.Client(base_url=edge.url) as client:
        sign_in(client, MEMBER)
        page = client.get("/settings/api")
        assert page.status_code == 200 and tenant.key_id in page.text
        for control in ("Create key", ">Rotate<", ">Revoke<"):
            assert control not in page.text
        assert 'id="activity-heading"' in page.text
        assert client.get(f"/settings/api/keys/{tenant.key_id}/revoke").status_code == 403
        forged = client.post(
            f"/settings/api/keys/{tenant.key_id}/revoke",
            data={"csrf": csrf_of(page), "reason": "member says so"},
        )
        assert forged.status_code == 403
    assert "Revoked" not in httpx.get(f"{edge.url}/settings/api").text
    with container.engine.connect() as db:
        state = db.execute(
            text("SELECT revoked_at FROM api_keys WHERE id = :id"), {"id": tenant.key_id}
        ).scalar_one()
    assert state is None


def test_no_password_key_or_session_token_leaks_to_logs_urls_or_the_database(
    edge: EdgeServer, admin: str, container: Container, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    secrets: list[str] = [PASSWORD]
    locations: list[str] = []
    with httpx.Client(base_url=edge.url) as client:
        answer = sign_in(client, admin)
        locations.append(answer.headers["location"])
        secrets.append(client.cookies[SESSION_COOKIE])
        made = create_key(client, "leak check")
        key = new_key_of(made)
        assert key is not None
        secrets.append(key)
        key_id = re.findall(r'data-key-id="([^"]+)"', client.get("/settings/api").text)[0]
        rotate_page = client.get(f"/settings/api/keys/{key_id}/rotate")
        rotated = client.post(
            f"/settings/api/keys/{key_id}/rotate",
            data={
                "csrf": csrf_of(rotate_page),
                "form_id": form_id_of(rotate_page),
                "grace": "1 hour",
            },
        )
        assert rotated.status_code == 201
        secrets.append(new_key_of(rotated) or "")
        out = client.post("/logout", data={"csrf": csrf_of(client.get("/settings/api"))})
        locations.append(out.headers["location"])
    # The service's own log lines; httpx and httpcore here are the test's client.
    logged = "\n".join(
        record.getMessage()
        for record in caplog.records
        if not record.name.startswith(("httpx", "httpcore"))
    )
    stored = _every_stored_value(container)
    for secret in secrets:
        assert secret and secret not in logged
        assert all(secret not in location for location in locations)
        assert not any(secret in value for value in stored)


def _every_stored_value(container: Container) -> list[str]:
    values: list[str] = []
    with container.engine.connect() as db:
        for table in inspect(db).get_table_names():
            for row in db.execute(text(f'SELECT * FROM "{table}"')):  # noqa: S608 (own names)
                values.extend(str(value) for value in row)
    return values
