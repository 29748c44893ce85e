"""What each answer of a webhook receiver means to the dispatcher, without a network.

The notifier is built by the one factory (``build_notifier``) on the tracker's own HTTP
client, whose transport is an :class:`httpx.MockTransport`; ``now`` is passed in, so a
``Retry-After`` date is measured from a fixed moment.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime

import httpx
import pytest

from tests.unit.notify.samples import gsomia_notification
from tracker.errors import DeliveryError
from tracker.notify.base import Delivery
from tracker.notify.http import make_http_client
from tracker.notify.registry import build_notifier
from tracker.settings import Settings

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
URL = "https://hooks.example.org/treaties"
NOW = datetime(2020, 8, 7, 0, 0, 30, tzinfo=UTC)
WHERE = "webhook 'ops' (https://hooks.example.org)"

Handler = Callable[[httpx.Request], httpx.Response]


def send(handler: Handler) -> tuple[Delivery | DeliveryError, list[httpx.Request]]:
    """Send the GSOMIA reminder once; the outcome (delivered or raised) and the requests
    the receiver saw."""
    seen: list[httpx.Request] = []

    def recording(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return handler(request)

    settings = Settings.model_validate(
        {"channels": {"ops": {"type": "webhook", "url": URL, "secret": SECRET}}}
    )

    async def main() -> Delivery | DeliveryError:
        client = make_http_client(transport=httpx.MockTransport(recording))
        notifier = build_notifier(
            "ops", settings.all_channels()["ops"], settings=settings, client=client
        )
        try:
            return await notifier.send(gsomia_notification(), now=NOW)
        except DeliveryError as exc:
            return exc
        finally:
            await notifier.aclose()
            await client.aclose()

    return asyncio.run(main()), seen


def answer(status: int, text: str = "", **headers: str) -> Handler:
    return lambda _request: httpx.Response(status, text=text, headers=headers)


def failure(handler: Handler) -> DeliveryError:
    outcome, _ = send(handler)
    assert isinstance(outcome, DeliveryError), f"expected a DeliveryError, got {outcome!r}"
    return outcome


def verdict(error: DeliveryError) -> tuple[str, int | None, bool, bool, float | None]:
    return (
        str(error),
        error.status,
        error.permanent,
        error.disable_channel,
        error.retry_after_s,
    )


@pytest.mark.parametrize(
    ("status", "text", "detail"),
    [
        (200, "", "HTTP 200 OK"),
        (202, "queued", "HTTP 202 Accepted: queued"),
        (204, "", "HTTP 204 No Content"),
        (299, "fine", "HTTP 299: fine"),
    ],
)
def test_any_2xx_is_delivered_with_its_status_and_the_start_of_the_answer(
    status: int, text: str, detail: str
) -> None:
    outcome, seen = send(answer(status, text))
    assert outcome == Delivery(status=status, detail=detail)
    assert [(r.method, str(r.url)) for r in seen] == [("POST", URL)]


@pytest.mark.parametrize(
    ("status", "location", "shown"),
    [
        (301, "https://elsewhere.example/hook", "https://elsewhere.example/hook"),
        (302, "/moved", "/moved"),
        (307, "https://user:pw@elsewhere.example/", "https://***@elsewhere.example/"),
        (308, None, "<no location>"),
    ],
)
def test_a_redirect_is_not_followed_and_is_a_permanent_failure(
    status: int, location: str | None, shown: str
) -> None:
    headers = {"location": location} if location else {}
    outcome, seen = send(answer(status, **headers))
    assert isinstance(outcome, DeliveryError)
    reason = httpx.codes.get_reason_phrase(status)
    assert verdict(outcome) == (
        f"{WHERE}: HTTP {status} {reason}: redirect to {shown} not followed",
        status,
        True,
        False,
        None,
    )
    assert len(seen) == 1  # the signed body never went to the other address


@pytest.mark.parametrize("status", [408, 425, 429, 500, 502, 503, 504, 599])
def test_a_timeout_a_rate_limit_or_a_server_error_is_retried_after_its_retry_after(
    status: int,
) -> None:
    error = failure(answer(status, "busy", **{"retry-after": "120"}))
    reason = httpx.codes.get_reason_phrase(status)
    summary = f"HTTP {status} {reason}".rstrip()
    assert verdict(error) == (f"{WHERE}: {summary}: busy", status, False, False, 120.0)


@pytest.mark.parametrize(
    ("retry_after", "seconds"),
    [
        ("Fri, 07 Aug 2020 00:02:30 GMT", 120.0),  # a date, measured from the injected now
        ("Fri, 07 Aug 2020 00:00:00 GMT", 0.0),  # already past: at once
        ("soon", None),  # unreadable: the dispatcher's own backoff decides
        (None, None),
    ],
)
def test_retry_after_may_be_a_date_measured_from_now(
    retry_after: str | None, seconds: float | None
) -> None:
    headers = {"retry-after": retry_after} if retry_after is not None else {}
    error = failure(answer(503, **headers))
    assert (error.permanent, error.retry_after_s) == (False, seconds)


def test_410_gone_disables_the_channel() -> None:
    error = failure(answer(410, "no such hook"))
    assert verdict(error) == (
        f"{WHERE}: HTTP 410 Gone: no such hook (the receiver is gone; disabling the channel)",
        410,
        True,
        True,
        None,
    )


@pytest.mark.parametrize("status", [400, 401, 403, 404, 405, 409, 413, 422, 451])
def test_any_other_4xx_is_a_permanent_failure(status: int) -> None:
    error = failure(answer(status, "refused", **{"retry-after": "60"}))
    reason = httpx.codes.get_reason_phrase(status)
    assert verdict(error) == (
        f"{WHERE}: HTTP {status} {reason}: refused",
        status,
        True,
        False,
        None,
    )


def test_a_1xx_final_answer_is_retried() -> None:
    error = failure(answer(199))
    assert verdict(error) == (f"{WHERE}: unexpected HTTP 199", 199, False, False, None)


def raising(exc: Exception) -> Handler:
    def handler(_request: httpx.Request) -> httpx.Response:
        raise exc

    return handler


@pytest.mark.parametrize(
    ("exc", "message"),
    [
        (httpx.ReadTimeout("read timed out"), "timed out after 15 s (ReadTimeout)"),
        (httpx.ConnectTimeout("connect timed out"), "timed out after 15 s (ConnectTimeout)"),
        (httpx.PoolTimeout("no connection"), "timed out after 15 s (PoolTimeout)"),
        (httpx.ConnectError("connection refused"), "ConnectError: connection refused"),
        (httpx.RemoteProtocolError("peer closed"), "RemoteProtocolError: peer closed"),
        (httpx.ReadError(""), "ReadError: connection failed"),
    ],
)
def test_timeouts_and_connection_errors_are_retried(exc: Exception, message: str) -> None:
    error = failure(raising(exc))
    assert verdict(error) == (f"{WHERE}: {message}", None, False, False, None)


def test_the_receiver_answer_quoted_in_an_error_is_short_and_on_one_line() -> None:
    error = failure(answer(500, "line one\nline two " + "x" * 500))
    snippet = "line one line two " + "x" * 181 + "…"
    assert str(error) == f"{WHERE}: HTTP 500 Internal Server Error: {snippet}"
