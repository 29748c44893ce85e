"""The webhook channel against a real HTTP receiver on a local port."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
from standardwebhooks import Webhook

from tests.support.receiver import Receiver, ReceiverProcess, Reply
from tests.unit.notify.samples import gsomia_notification
from tracker.errors import DeliveryError
from tracker.logs import render
from tracker.notify.base import Delivery
from tracker.notify.http import USER_AGENT, make_http_client
from tracker.notify.webhook import WebhookNotifier, webhook_body
from tracker.settings import WebhookChannel

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
PREVIOUS_SECRET = "whsec_cHJldmlvdXMtc2VjcmV0LXN0aWxsLXZhbGlk"
URL_PASSWORD = "url-pa55word-x9"
QUERY_TOKEN = "query-token-y8"
PATH_TOKEN = "path-token-w6"
HEADER_TOKEN = "header-token-z7"

T = TypeVar("T")


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with Receiver() as started:
        yield started


def channel(url: str, **changes: Any) -> WebhookChannel:
    return WebhookChannel.model_validate(
        {"type": "webhook", "url": url, "secret": SECRET, **changes}
    )


def run_with_client(use: Callable[[httpx.AsyncClient], Awaitable[T]], **client_args: Any) -> T:
    async def main() -> T:
        client = make_http_client(**client_args)
        try:
            return await use(client)
        finally:
            await client.aclose()

    return asyncio.run(main())


def deliver(
    config: WebhookChannel, *, attempts: int = 1, now: datetime | None = None
) -> list[Delivery | DeliveryError]:
    """Send the GSOMIA reminder ``attempts`` times; each outcome, delivered or raised."""

    async def use(client: httpx.AsyncClient) -> list[Delivery | DeliveryError]:
        notifier = WebhookNotifier("ops", config, client=client)
        outcomes: list[Delivery | DeliveryError] = []
        for attempt in range(1, attempts + 1):
            try:
                outcomes.append(
                    await notifier.send(
                        gsomia_notification(attempt=attempt), now=now or datetime.now(UTC)
                    )
                )
            except DeliveryError as exc:
                outcomes.append(exc)
        await notifier.aclose()
        return outcomes

    return run_with_client(use)


def fail(config: WebhookChannel, **kwargs: Any) -> DeliveryError:
    [outcome] = deliver(config, **kwargs)
    assert isinstance(outcome, DeliveryError), f"expected a DeliveryError, got {outcome!r}"
    return outcome


def test_a_delivered_webhook_verifies_with_the_standardwebhooks_package(receiver: Receiver) -> None:
    now = datetime.now(UTC)
    [outcome] = deliver(channel(receiver.url), now=now)
    assert outcome == Delivery(status=200, detail="HTTP 200 OK")
    [request] = receiver.wait_for(1)
    payload = Webhook(SECRET).verify(request.body, request.headers)
    assert payload["type"] == "deadline.reminder"
    assert payload["data"]["deadline"]["date"] == "2020-08-24"
    assert request.body == webhook_body(gsomia_notification(), now=now)
    assert request.headers["content-type"] == "application/json"
    assert request.headers["webhook-id"] == gsomia_notification().message_id
    assert request.headers["user-agent"] == USER_AGENT


def test_a_signature_by_another_secret_does_not_verify(receiver: Receiver) -> None:
    deliver(channel(receiver.url))
    [request] = receiver.wait_for(1)
    with pytest.raises(Exception, match="No matching signature"):
        Webhook(PREVIOUS_SECRET).verify(request.body, request.headers)


def test_timestamp_header_is_the_send_time_in_whole_seconds(receiver: Receiver) -> None:
    now = datetime(2026, 1, 2, 3, 4, 5, 678000, tzinfo=UTC)
    deliver(channel(receiver.url), now=now)
    [request] = receiver.wait_for(1)
    assert request.headers["webhook-timestamp"] == str(int(now.timestamp()))


def test_during_rotation_both_the_current_and_the_previous_secret_verify(
    receiver: Receiver,
) -> None:
    deliver(channel(receiver.url, previous_secret=PREVIOUS_SECRET))
    [request] = receiver.wait_for(1)
    assert len(request.headers["webhook-signature"].split(" ")) == 2
    Webhook(SECRET).verify(request.body, request.headers)
    Webhook(PREVIOUS_SECRET).verify(request.body, request.headers)


def test_configured_headers_are_sent_but_cannot_replace_the_signature(receiver: Receiver) -> None:
    deliver(channel(receiver.url, headers={"Authorization": HEADER_TOKEN, "Webhook-ID": "forged"}))
    [request] = receiver.wait_for(1)
    assert request.headers["authorization"] == HEADER_TOKEN
    assert request.headers["webhook-id"] == gsomia_notification().message_id
    assert "forged" not in str(request.headers)
    Webhook(SECRET).verify(request.body, request.headers)


def test_a_retry_carries_the_same_webhook_id_and_body_with_a_fresh_signature() -> None:
    with Receiver(responses=[500, 500, 200]) as receiver:
        outcomes = deliver(channel(receiver.url), attempts=3)
        requests = receiver.wait_for(3)
    assert [type(o).__name__ for o in outcomes] == ["DeliveryError", "DeliveryError", "Delivery"]
    assert len({r.headers["webhook-id"] for r in requests}) == 1
    # The same reminder each time; only the send time in "timestamp" moves.
    assert len({json.dumps({**r.json(), "timestamp": None}) for r in requests}) == 1
    for request in requests:
        Webhook(SECRET).verify(request.body, request.headers)


def test_a_server_error_is_retryable_and_quotes_the_response() -> None:
    with Receiver(responses=[Reply(status=500, body=b"database is down")]) as receiver:
        error = fail(channel(receiver.url))
    assert (error.permanent, error.disable_channel, error.status) == (False, False, 500)
    assert error.retry_after_s is None
    assert "HTTP 500" in str(error)
    assert "database is down" in str(error)


def test_too_many_requests_is_retryable_after_the_servers_retry_after() -> None:
    with Receiver(responses=[Reply(status=429, retry_after="7")]) as receiver:
        error = fail(channel(receiver.url))
    assert (error.permanent, error.status, error.retry_after_s) == (False, 429, 7.0)


def test_a_service_unavailable_with_an_http_date_retry_after_counts_from_now() -> None:
    now = datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC)
    reply = Reply(status=503, retry_after="Sun, 01 Mar 2026 12:02:00 GMT")
    with Receiver(responses=[reply]) as receiver:
        error = fail(channel(receiver.url), now=now)
    assert (error.permanent, error.status, error.retry_after_s) == (False, 503, 120.0)


@pytest.mark.parametrize("status", [408, 425])
def test_request_timeout_and_too_early_are_retryable(status: int) -> None:
    with Receiver(responses=[status]) as receiver:
        error = fail(channel(receiver.url))
    assert (error.permanent, error.status) == (False, status)


@pytest.mark.parametrize("status", [400, 401, 404, 422])
def test_other_client_errors_are_permanent(status: int) -> None:
    with Receiver(responses=[status]) as receiver:
        error = fail(channel(receiver.url))
    assert (error.permanent, error.disable_channel, error.status) == (True, False, status)


def test_gone_disables_the_channel() -> None:
    with Receiver(responses=[410]) as receiver:
        error = fail(channel(receiver.url))
    assert (error.permanent, error.disable_channel, error.status) == (True, True, 410)
    assert "disabling the channel" in str(error)


def test_a_redirect_is_not_followed_and_its_location_is_redacted() -> None:
    location = f"https://elsewhere.example.org/steal?token={QUERY_TOKEN}"
    with Receiver(responses=[Reply(status=302, headers={"location": location})]) as receiver:
        error = fail(channel(receiver.url))
        requests = receiver.requests
    assert len(requests) == 1  # nothing went to the redirect target (nor back to us)
    assert (error.permanent, error.status) == (True, 302)
    assert "redirect to https://elsewhere.example.org/steal?token=*** not followed" in str(error)
    assert QUERY_TOKEN not in str(error)


def test_a_receiver_slower_than_the_timeout_is_a_retryable_timeout() -> None:
    with Receiver(responses=[Reply(status=200, delay_s=3)]) as receiver:
        error = fail(channel(receiver.url, timeout_seconds=0.3))
    assert (error.permanent, error.status) == (False, None)
    assert "timed out after 0.3 s" in str(error)
    assert isinstance(error.__cause__, httpx.TimeoutException)


def test_a_closed_port_is_a_retryable_connection_error() -> None:
    with Receiver() as receiver:
        url = receiver.url
    error = fail(channel(url))
    assert (error.permanent, error.status) == (False, None)
    assert isinstance(error.__cause__, httpx.ConnectError)


def test_a_url_with_an_unsupported_scheme_is_permanent() -> None:
    error = fail(channel("ftp://files.example.org/hook"))
    assert error.permanent


def test_no_secret_or_url_credential_appears_in_errors_or_logs(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # A hostile or careless receiver echoes everything back in its error body.
    echo = f"got {SECRET} {URL_PASSWORD} {QUERY_TOKEN} {PATH_TOKEN} {HEADER_TOKEN}"
    replies = [Reply(status=500, body=echo.encode()), Reply(status=404, body=echo.encode()), 200]
    with Receiver(responses=replies) as receiver:
        url = (
            f"http://tracker:{URL_PASSWORD}@127.0.0.1:{receiver.port}"
            f"/hook/{PATH_TOKEN}?token={QUERY_TOKEN}"
        )
        config = channel(url, previous_secret=PREVIOUS_SECRET, headers={"x-api-key": HEADER_TOKEN})
        with caplog.at_level(logging.DEBUG):
            outcomes = deliver(config, attempts=3)
        requests = receiver.wait_for(3)
    # The credentials were used...
    assert requests[0].headers["x-api-key"] == HEADER_TOKEN
    assert requests[0].headers["authorization"].startswith("Basic ")
    assert requests[0].path == f"/hook/{PATH_TOKEN}?token={QUERY_TOKEN}"
    assert [o.status for o in outcomes] == [500, 404, 200]
    shown = [str(o) if isinstance(o, DeliveryError) else o.detail for o in outcomes]
    shown += [render(record) for record in caplog.records]
    assert any("HTTP Request" in line for line in shown)  # ...and httpx did log the requests
    for line in shown:
        for secret in (
            SECRET,
            PREVIOUS_SECRET.removeprefix("whsec_"),
            SECRET.removeprefix("whsec_"),
            URL_PASSWORD,
            QUERY_TOKEN,
            PATH_TOKEN,
            HEADER_TOKEN,
        ):
            assert secret not in line, f"{secret!r} leaked into {line!r}"


def test_one_client_delivers_many_webhooks_concurrently(receiver: Receiver) -> None:
    count = 200
    config = channel(receiver.url)

    async def use(client: httpx.AsyncClient) -> list[Delivery]:
        notifier = WebhookNotifier("ops", config, client=client)
        now = datetime.now(UTC)
        return await asyncio.gather(
            *(
                notifier.send(gsomia_notification(message_id=f"msg_{i}"), now=now)
                for i in range(count)
            )
        )

    deliveries = run_with_client(use, max_connections=16)
    assert {d.status for d in deliveries} == {200}
    requests = receiver.wait_for(count)
    assert len({r.headers["webhook-id"] for r in requests}) == count


def test_a_receiver_in_another_process_logs_each_delivery_as_a_json_line(tmp_path: Path) -> None:
    with ReceiverProcess(tmp_path / "requests.jsonl", script=[503]) as receiver:
        outcomes = deliver(channel(receiver.url), attempts=2)
        first, second = receiver.wait_for(2)
    assert isinstance(outcomes[0], DeliveryError)
    assert outcomes[1] == Delivery(status=200, detail="HTTP 200 OK")
    assert (first.status, second.status) == (503, 200)
    assert first.headers["webhook-id"] == second.headers["webhook-id"]
    Webhook(SECRET).verify(second.body, second.headers)


def test_an_undecodable_error_body_still_reports_the_status() -> None:
    broken = Reply(status=503, body=b"not gzip at all", headers={"content-encoding": "gzip"})
    with Receiver(responses=[broken]) as receiver:
        error = fail(channel(receiver.url))
    assert (error.permanent, error.status) == (False, 503)
    assert "undecodable response body" in str(error)


def test_a_long_error_body_is_quoted_only_in_part() -> None:
    with Receiver(responses=[Reply(status=500, body=b"x" * 100_000)]) as receiver:
        error = fail(channel(receiver.url))
    assert "x" * 150 in str(error)
    assert len(str(error)) < 400
