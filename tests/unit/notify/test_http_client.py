import asyncio
import logging

import httpx

from tracker.notify.http import USER_AGENT, make_http_client


def test_the_client_has_explicit_timeouts_for_every_phase_and_follows_no_redirects() -> None:
    async def inspect() -> tuple[httpx.Timeout, bool, str]:
        client = make_http_client(timeout_s=12)
        try:
            return client.timeout, client.follow_redirects, client.headers["user-agent"]
        finally:
            await client.aclose()

    timeout, follows, agent = asyncio.run(inspect())
    assert (timeout.connect, timeout.read, timeout.write, timeout.pool) == (5.0, 12, 12, 12)
    assert follows is False
    assert agent == USER_AGENT
    assert USER_AGENT.startswith("treaty-tracker/")


def test_httpx_request_log_lines_show_no_credentials_query_values_or_path_tokens() -> None:
    asyncio.run(make_http_client().aclose())  # installs the filter
    url = httpx.URL("https://user:pw@hooks.example.org/services/T0/SECRETPATH?token=abc")
    record = logging.LogRecord(
        "httpx", logging.INFO, __file__, 1, "HTTP Request: %s %s", ("POST", url), None
    )
    assert logging.getLogger("httpx").filter(record)  # rewrites the record, drops nothing
    assert record.getMessage() == "HTTP Request: POST https://***@hooks.example.org/***?token=***"
