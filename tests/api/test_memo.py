"""The API's one-second answer memo: fresh answers reused, stale ones refreshed in the
background, identical concurrent misses computed once, everything forgotten after a write."""

from __future__ import annotations

import asyncio
import threading

from fastapi.testclient import TestClient

from tests.api.conftest import AUTH, GSOMIA_JSON
from tracker.api.memo import STALE_S, Memo, remembered


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_an_answer_is_reused_until_its_ttl_passes() -> None:
    clock = Clock()
    memo = Memo(ttl_s=1.0, monotonic=clock)
    memo.put("k", 1)
    clock.now += 1.0
    assert memo.get("k") == 1
    clock.now += 0.01
    assert memo.get("k") is None


def test_a_zero_ttl_remembers_nothing() -> None:
    memo = Memo(ttl_s=0)
    memo.put("k", 1)
    assert memo.get("k") is None


def test_concurrent_misses_compute_once() -> None:
    memo = Memo(ttl_s=1.0)
    calls: list[int] = []
    gate = threading.Event()
    entered = threading.Event()

    def compute() -> int:
        entered.set()
        gate.wait(5)
        calls.append(1)
        return 42

    async def burst() -> list[int]:
        tasks = [asyncio.create_task(remembered(memo, "k", compute)) for _ in range(10)]
        while not entered.is_set():  # the first caller computes; the other nine wait on it
            await asyncio.sleep(0.01)
        gate.set()
        return await asyncio.gather(*tasks)

    assert asyncio.run(burst()) == [42] * 10
    assert len(calls) == 1


def test_a_stale_answer_is_served_while_one_refresh_replaces_it() -> None:
    clock = Clock()
    memo = Memo(ttl_s=1.0, monotonic=clock)
    memo.put("k", "old")
    clock.now += 2.0
    assert STALE_S > 2.0

    async def ask() -> tuple[str, str]:
        first = await remembered(memo, "k", lambda: "new")
        for _ in range(500):  # the background refresh runs on the loop
            if memo.get("k") == "new":
                break
            await asyncio.sleep(0.01)
        return first, await remembered(memo, "k", lambda: "newer")

    assert asyncio.run(ask()) == ("old", "new")


def test_an_answer_older_than_the_stale_limit_is_recomputed_before_answering() -> None:
    clock = Clock()
    memo = Memo(ttl_s=1.0, monotonic=clock)
    memo.put("k", "old")
    clock.now += STALE_S + 1
    assert asyncio.run(remembered(memo, "k", lambda: "new")) == "new"


def test_a_write_through_the_api_is_visible_to_the_next_query(client: TestClient) -> None:
    params = {"agreement": "api-pact", "kind": "notice_deadline"}
    assert client.get("/api/v1/deadlines", params=params).status_code == 404  # no such agreement
    assert client.post("/api/v1/agreements", json=GSOMIA_JSON, headers=AUTH).status_code == 201
    assert client.get("/api/v1/deadlines", params=params).json()["count"] == 1
