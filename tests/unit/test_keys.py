"""The key format: recognisable, checksummed, parsed offline; argon2id hashing."""

from __future__ import annotations

import math
import re

import pytest

from chronicle import contract, credentials
from chronicle.credentials import BASE62
from server import key_material
from server.auth import CallerKind
from server.ids import new_id


def test_generated_key_has_prefix_environment_id_secret_and_checksum() -> None:
    new = key_material.generate("live")
    assert re.fullmatch(r"chr_live_[0-9A-Za-z]{16}_[0-9A-Za-z]{38}", new.raw)
    assert new.parsed.key_id == "key_" + new.raw.split("_")[2]
    assert credentials.parse(new.raw) == new.parsed


def test_secret_carries_at_least_128_bits() -> None:
    assert credentials.SECRET_LENGTH * math.log2(len(BASE62)) >= 128


def test_test_keys_and_service_tokens_are_marked() -> None:
    assert key_material.generate("test").raw.startswith("chr_test_")
    token = key_material.generate("svc")
    assert token.raw.startswith("chr_svc_") and token.parsed.key_id.startswith("svc_")
    assert token.parsed.is_service_token and token.parsed.environment == ""


def test_keys_are_url_safe_single_line_without_padding() -> None:
    raw = key_material.generate("live").raw
    assert re.fullmatch(r"[A-Za-z0-9_]+", raw)


@pytest.mark.parametrize(
    "mangle",
    [
        lambda k: k[:-1] + ("0" if k[-1] != "0" else "1"),  # checksum char
        lambda k: k[:20] + ("0" if k[20] != "0" else "1") + k[21:],  # key id char
        lambda k: k[:-10] + k[-9:],  # one char lost
        lambda k: k + "0",
        lambda k: k.replace("chr_", "chx_"),
        lambda k: k.upper(),
        lambda k: " " + k,
        lambda k: "",
    ],
)
def test_mistyped_or_truncated_keys_fail_the_offline_check(mangle: object) -> None:
    raw = key_material.generate("live").raw
    assert credentials.parse(mangle(raw)) is None  # type: ignore[operator]


def test_hint_shows_prefix_id_and_last_four_but_not_the_secret() -> None:
    new = key_material.generate("test")
    hint = new.hint
    assert hint.startswith(new.raw[:25]) and hint.endswith(new.raw[-4:])
    assert new.parsed.secret[:8] not in hint


def test_digest_is_not_the_key() -> None:
    raw = key_material.generate("live").raw
    assert raw.encode() not in credentials.digest(raw) and len(credentials.digest(raw)) == 32


def test_hasher_uses_argon2id_with_configured_parameters() -> None:
    hasher = key_material.SecretHasher(memory_kib=19 * 1024, time_cost=2, parallelism=1)
    stored = hasher.hash("s3cret")
    assert stored.startswith("$argon2id$") and "m=19456,t=2,p=1" in stored
    assert hasher.verify(stored, "s3cret")
    assert not hasher.verify(stored, "other")
    assert not hasher.verify("not a hash", "s3cret")
    assert hasher.verifications == 3
    assert 0 < hasher.typical_seconds < 10  # what one run took here


def test_ids_are_prefixed_and_random() -> None:
    ids = {new_id("pres") for _ in range(1000)}
    assert len(ids) == 1000
    assert all(re.fullmatch(r"pres_[0-9A-Za-z]{20}", i) for i in ids)


@pytest.mark.parametrize(
    ("kind", "prefix", "environment", "caller"),
    [
        (credentials.KeyKind.LIVE, "key_", "live", CallerKind.API_KEY),
        (credentials.KeyKind.TEST, "key_", "test", CallerKind.API_KEY),
        (credentials.KeyKind.SERVICE_TOKEN, "svc_", "", CallerKind.SERVICE_TOKEN),
    ],
)
def test_the_kind_read_from_a_key_decides_its_record_id_environment_and_caller(
    kind: credentials.KeyKind, prefix: str, environment: str, caller: CallerKind
) -> None:
    parsed = credentials.parse(key_material.generate(kind).raw)
    assert parsed is not None and parsed.kind is kind
    assert parsed.key_id.startswith(prefix) and parsed.environment == environment
    assert CallerKind.of(parsed.kind) is caller


def test_caller_kinds_are_the_contracts_and_unknown_key_kinds_are_refused() -> None:
    assert CallerKind.API_KEY == contract.API_KEY
    assert CallerKind.SERVICE_TOKEN == contract.SERVICE_TOKEN
    with pytest.raises(ValueError, match="unknown key kind"):
        key_material.generate("prod")


def test_a_parsed_key_does_not_show_its_secret() -> None:
    new = key_material.generate("live")
    assert new.parsed.secret not in repr(new.parsed)
