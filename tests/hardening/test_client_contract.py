"""Chronicle's own clients, run unchanged against us: what they send must work."""

from __future__ import annotations

import httpx

from chronicle.config import Settings
from server.container import Container
from tests.conftest import Tenant
from tests.e2e.test_ratelimit import limited_key

# Chronicle's n8n node tests a credential with this request: 2xx saves it, 401 does not.
API_ROOT = "/api/v1"


def test_api_root_with_a_good_key_describes_the_caller(
    http: httpx.Client, tenant: Tenant, settings: Settings
) -> None:
    answer = http.get(API_ROOT, headers={"X-API-Key": tenant.key})
    assert answer.status_code == 200
    assert answer.json() == {
        "kind": "api_key",
        "workspace_id": tenant.workspace_id,
        "credential_id": tenant.key_id,
        "environment": "live",
        "rate_limit": str(settings.rate_limit),
    }
    assert answer.headers["ratelimit-limit"] == str(settings.rate_limit.count)


def test_api_root_shows_a_keys_own_rate_limit(
    http: httpx.Client, tenant: Tenant, container: Container
) -> None:
    key = limited_key(container, tenant, "7/minute")
    answer = http.get(API_ROOT, headers={"Authorization": f"Bearer {key}"})
    assert answer.status_code == 200
    assert answer.json()["rate_limit"] == "7/minute"


def test_api_root_with_a_bad_or_no_key_is_401(http: httpx.Client, tenant: Tenant) -> None:
    wrong = tenant.key[:-4] + ("aaaa" if not tenant.key.endswith("aaaa") else "bbbb")
    for headers, code in (
        ({"X-API-Key": wrong}, "API_KEY_INVALID"),
        ({"X-API-Key": "not-a-key"}, "API_KEY_INVALID"),
        ({}, "UNAUTHORIZED"),
    ):
        answer = http.get(API_ROOT, headers=headers)
        assert answer.status_code == 401, headers
        assert answer.json()["error"]["code"] == code
        assert answer.json()["error"]["status"] == 401
