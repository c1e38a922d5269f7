from __future__ import annotations

import pytest

from clearsight.guard.identity import client_id
from clearsight.guard.inputs import Rejection, feature_vector, fingerprint, parse_json, texts
from clearsight.guard.jsonpath import parse_path
from clearsight.guard.policy import ClientIdentity, InputSpec, ScreeningSpec

NAMED = InputSpec(paths=[parse_path("$.features"), parse_path("$.transaction")], feature_names=["a", "b"])


def test_list_and_named_forms_give_the_same_vector() -> None:
    assert feature_vector({"features": [1, 2.5]}, NAMED) == [1.0, 2.5]
    assert feature_vector({"transaction": {"b": 2.5, "a": 1, "extra": "ignored"}}, NAMED) == [1.0, 2.5]
    assert fingerprint([1, 2.5], b"x") == fingerprint([1.0, 2.5], b"y")


@pytest.mark.parametrize(
    ("document", "reason"),
    [
        ({}, "input.missing"),
        ({"features": [1]}, "input.length"),
        ({"features": [1, "2"]}, "input.not-number"),
        ({"features": [1, True]}, "input.not-number"),
        ({"features": "1,2"}, "input.shape"),
        ({"transaction": {"a": 1}}, "input.missing-features"),
    ],
)
def test_unusable_inputs_are_rejected_with_a_reason(document: object, reason: str) -> None:
    with pytest.raises(Rejection) as caught:
        feature_vector(document, NAMED)
    assert caught.value.reason == reason and caught.value.status == 422


def test_non_finite_and_too_long_vectors() -> None:
    spec = InputSpec(paths=[parse_path("$.x")], max_features=3)
    with pytest.raises(Rejection, match="finite"):
        feature_vector({"x": [1.0, float("inf")]}, spec)
    with pytest.raises(Rejection, match="at most 3"):
        feature_vector({"x": [1, 2, 3, 4]}, spec)
    with pytest.raises(Rejection, match="object but the policy names no feature order"):
        feature_vector({"x": {"a": 1}}, spec)


@pytest.mark.parametrize("body", [b"", b"{not json", b"\xff\xfe", b"[" * 100_000])
def test_bodies_that_are_not_json(body: bytes) -> None:
    with pytest.raises(Rejection) as caught:
        parse_json(body)
    assert caught.value.status == 400


def test_texts_are_collected_and_cut() -> None:
    spec = ScreeningSpec(screener="s", text=[parse_path("$.messages[*].content")], max_chars=3)
    doc = {"messages": [{"content": "hello"}, {"content": 5}, {"content": "yo"}]}
    assert texts(doc, spec) == ["hel", "yo"]


def test_client_identity_hashes_keys_and_falls_back_to_the_peer() -> None:
    spec = ClientIdentity(api_key_header="X-Partner-Key")
    key = client_id({"x-partner-key": "secret-123"}, "10.0.0.1", spec)
    assert key is not None and key.startswith("key:") and "secret" not in key
    assert key == client_id({"x-partner-key": "secret-123"}, "10.9.9.9", spec)
    assert client_id({}, "10.0.0.1", spec) == "ip:10.0.0.1"
    assert client_id({}, "10.0.0.1", ClientIdentity(require_api_key=True)) is None
    forwarded = ClientIdentity(api_key_header=None, trust_forwarded_for=True)
    assert client_id({"x-forwarded-for": "1.2.3.4, 10.0.0.1"}, "10.0.0.1", forwarded) == "ip:1.2.3.4"
    assert client_id({"x-forwarded-for": "1.2.3.4"}, "10.0.0.1", ClientIdentity()) == "ip:10.0.0.1"


def test_integers_too_long_for_a_float_or_for_int_are_rejected_not_raised() -> None:
    """json.loads accepts a 400-digit integer (float() then overflows) and refuses 5,000 digits with ValueError."""
    spec = InputSpec(paths=[parse_path("$.x")])
    with pytest.raises(Rejection) as caught:
        feature_vector({"x": [1.0, 10**400]}, spec)
    assert caught.value.reason == "input.not-finite" and "$.x[1]" in caught.value.message
    with pytest.raises(Rejection) as caught:
        parse_json(b'{"x": [' + b"9" * 5000 + b"]}")
    assert caught.value.reason == "input.not-json" and caught.value.status == 400


def test_the_fast_path_and_the_checks_agree() -> None:
    spec = InputSpec(paths=[parse_path("$.x")])
    assert feature_vector({"x": [1, 2.5, 0, -3]}, spec) == [1.0, 2.5, 0.0, -3.0]
    assert feature_vector({"x": [1e308, 1e308]}, spec) == [1e308, 1e308]  # sums to inf, each is finite
    for bad in ([float("nan"), 1.0], [1.0, float("inf"), float("-inf")]):
        with pytest.raises(Rejection, match="finite"):
            feature_vector({"x": bad}, spec)
