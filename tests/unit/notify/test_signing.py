import pytest

from tracker.notify.signing import secret_key, sign, signature_header

# The published test vector of the Standard Webhooks specification.
VECTOR_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
VECTOR_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek"
VECTOR_TIMESTAMP = 1614265330
VECTOR_BODY = b'{"test": 2432232314}'
VECTOR_SIGNATURE = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
OTHER_SECRET = "whsec_" + "c2Vjb25kLXNlY3JldC1mb3Itcm90YXRpb24="


def test_signature_matches_the_standard_webhooks_test_vector() -> None:
    signature = sign(VECTOR_SECRET, msg_id=VECTOR_ID, timestamp=VECTOR_TIMESTAMP, body=VECTOR_BODY)
    assert signature == VECTOR_SIGNATURE


def test_a_secret_without_the_whsec_prefix_signs_the_same() -> None:
    bare = VECTOR_SECRET.removeprefix("whsec_")
    assert (
        sign(bare, msg_id=VECTOR_ID, timestamp=VECTOR_TIMESTAMP, body=VECTOR_BODY)
        == VECTOR_SIGNATURE
    )


@pytest.mark.parametrize(
    "change",
    [
        {"msg_id": "msg_other"},
        {"timestamp": VECTOR_TIMESTAMP + 1},
        {"body": b'{"test": 2432232315}'},
    ],
)
def test_changing_id_timestamp_or_one_body_byte_changes_the_signature(change: dict) -> None:
    args = {"msg_id": VECTOR_ID, "timestamp": VECTOR_TIMESTAMP, "body": VECTOR_BODY, **change}
    assert sign(VECTOR_SECRET, **args) != VECTOR_SIGNATURE


def test_signature_header_carries_one_signature_per_secret_current_first() -> None:
    header = signature_header(
        [VECTOR_SECRET, OTHER_SECRET],
        msg_id=VECTOR_ID,
        timestamp=VECTOR_TIMESTAMP,
        body=VECTOR_BODY,
    )
    first, second = header.split(" ")
    assert first == VECTOR_SIGNATURE
    assert second == sign(
        OTHER_SECRET, msg_id=VECTOR_ID, timestamp=VECTOR_TIMESTAMP, body=VECTOR_BODY
    )
    assert second != first


def test_signature_header_does_not_repeat_a_secret_given_twice() -> None:
    header = signature_header(
        [VECTOR_SECRET, VECTOR_SECRET],
        msg_id=VECTOR_ID,
        timestamp=VECTOR_TIMESTAMP,
        body=VECTOR_BODY,
    )
    assert header == VECTOR_SIGNATURE


def test_a_secret_that_is_not_base64_is_refused_without_echoing_it() -> None:
    with pytest.raises(ValueError) as caught:
        secret_key("whsec_not base64!!")
    assert "not base64!!" not in str(caught.value)
