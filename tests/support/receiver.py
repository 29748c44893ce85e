"""A real HTTP receiver for webhook tests: a threaded HTTP/1.1 server on 127.0.0.1.

In-process (most tests)::

    with Receiver(responses=[500, 500, 200]) as receiver:
        ...post to receiver.url...
        first, second, third = receiver.wait_for(3)

Every request is recorded (method, path, headers, body bytes, arrival time, the status it got)
under a lock; answers come from the script in order, then from ``default``. A script entry is a
status code or a :class:`Reply` (status, body, headers, ``retry_after``, ``delay_s``), or pass
``respond=callable(request) -> Reply`` for anything smarter (e.g. fail the first attempt of each
``webhook-id``).

As a separate process (benchmarks, SIGKILL tests), appending one JSON line per request to a file::

    python -m tests.support.receiver --port 0 --log requests.jsonl --port-file port.txt

or from Python, :class:`ReceiverProcess` starts that and reads the log back. Keep-alive and
``TCP_NODELAY`` are on and request logging is off: a receiver process answers a few thousand
requests per second. For benchmarks use the process: in-process, the server threads compete
with the client's event loop for the GIL and the receiver becomes the bottleneck.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import IO, Any

import pytest

HOST = "127.0.0.1"
DEFAULT_WAIT_S = 10.0
REPO_ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Reply:
    """How the receiver answers one request."""

    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    retry_after: str | None = None
    delay_s: float = 0.0


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    path: str
    headers: dict[str, str]  # keys lower-cased; the last value wins for repeated headers
    body: bytes
    received_at: float  # time.time() when the body had been read
    status: int  # what the receiver answered

    def json(self) -> Any:
        return json.loads(self.body)

    def to_record(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "path": self.path,
            "headers": self.headers,
            "body_b64": base64.b64encode(self.body).decode("ascii"),
            "received_at": self.received_at,
            "status": self.status,
        }

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> RecordedRequest:
        return cls(
            method=record["method"],
            path=record["path"],
            headers=record["headers"],
            body=base64.b64decode(record["body_b64"]),
            received_at=record["received_at"],
            status=record["status"],
        )


def _as_reply(item: int | Reply) -> Reply:
    return item if isinstance(item, Reply) else Reply(status=item)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    # Benchmarks open many connections at once; the default backlog of 5 drops some.
    request_queue_size = 1024
    receiver: Receiver


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, so a client's connection pool is reused
    disable_nagle_algorithm = True
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        pass  # thousands of requests would flood the test output

    def _handle(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        body = self.rfile.read(length) if length else b""
        headers = {k.lower(): v for k, v in self.headers.items()}
        self.server.receiver._answer(self, body, headers)

    do_POST = do_PUT = do_GET = do_DELETE = do_PATCH = _handle


class Receiver:
    """An HTTP server in a background thread that records requests and answers from a script."""

    def __init__(
        self,
        responses: Sequence[int | Reply] = (),
        *,
        default: int | Reply = 200,
        respond: Callable[[RecordedRequest], Reply] | None = None,
        port: int = 0,
        log: IO[str] | None = None,
        keep: bool = True,
    ) -> None:
        self._script = [_as_reply(r) for r in responses]
        self._default = _as_reply(default)
        self._respond = respond
        self._port = port
        self._log = log
        self._keep = keep
        self._requests: list[RecordedRequest] = []
        self._count = 0
        self._changed = threading.Condition()
        self._stopping = threading.Event()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    # --- lifecycle ---------------------------------------------------------------------------

    def start(self) -> Receiver:
        server = _Server((HOST, self._port), _Handler)
        server.receiver = self
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.05},
            daemon=True,
            name=f"receiver:{self.port}",
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()  # cuts scripted delays short
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> Receiver:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        assert self._server is not None, "the receiver is not started"
        return int(self._server.server_address[1])

    @property
    def base_url(self) -> str:
        return f"http://{HOST}:{self.port}"

    @property
    def url(self) -> str:
        """A URL to post webhooks to."""
        return f"{self.base_url}/hook"

    # --- scripting ---------------------------------------------------------------------------

    def script(self, *responses: int | Reply) -> None:
        """Append answers for the next requests."""
        with self._changed:
            self._script.extend(_as_reply(r) for r in responses)

    def set_default(self, default: int | Reply) -> None:
        with self._changed:
            self._default = _as_reply(default)

    # --- what arrived ------------------------------------------------------------------------

    @property
    def requests(self) -> list[RecordedRequest]:
        """A snapshot of the requests so far, in arrival order."""
        with self._changed:
            return list(self._requests)

    @property
    def count(self) -> int:
        with self._changed:
            return self._count

    def wait_for(self, count: int, timeout: float = DEFAULT_WAIT_S) -> list[RecordedRequest]:
        """Block until at least ``count`` requests arrived; the requests so far. Raises
        :class:`AssertionError` saying how many came when the timeout passes first."""
        with self._changed:
            if not self._changed.wait_for(lambda: self._count >= count, timeout=timeout):
                raise AssertionError(
                    f"expected {count} request(s) within {timeout} s, got {self._count}"
                )
            return list(self._requests)

    # --- the handler side --------------------------------------------------------------------

    def _answer(self, handler: _Handler, body: bytes, headers: dict[str, str]) -> None:
        received_at = time.time()
        if self._respond is not None:
            probe = RecordedRequest(handler.command, handler.path, headers, body, received_at, 0)
            reply = self._respond(probe)
        else:
            with self._changed:
                reply = self._script.pop(0) if self._script else self._default
        request = RecordedRequest(
            handler.command, handler.path, headers, body, received_at, reply.status
        )
        with self._changed:
            if self._keep:
                self._requests.append(request)
            self._count += 1
            if self._log is not None:
                self._log.write(json.dumps(request.to_record()) + "\n")
                self._log.flush()
            self._changed.notify_all()
        if reply.delay_s and self._stopping.wait(reply.delay_s):
            return  # shutting down: drop the connection without an answer
        out_headers = {"content-type": "text/plain; charset=utf-8", **reply.headers}
        if reply.retry_after is not None:
            out_headers["retry-after"] = reply.retry_after
        try:
            handler.send_response(reply.status)
            for name, value in out_headers.items():
                handler.send_header(name, value)
            handler.send_header("content-length", str(len(reply.body)))
            handler.end_headers()
            if reply.body:
                handler.wfile.write(reply.body)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (e.g. its timeout passed during a delay)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    """A started :class:`Receiver` answering 200 to everything; script it with ``.script()``."""
    with Receiver() as started:
        yield started


# --- as a separate process -------------------------------------------------------------------


def read_log(path: Path) -> list[RecordedRequest]:
    """The requests a receiver process wrote to ``path`` (a partial last line is ignored)."""
    if not path.exists():
        return []
    requests = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            requests.append(RecordedRequest.from_record(json.loads(line)))
        except (ValueError, KeyError):
            continue
    return requests


class ReceiverProcess:
    """``python -m tests.support.receiver`` in a child process, logging to ``log_path``."""

    def __init__(
        self,
        log_path: Path,
        *,
        status: int = 200,
        script: Sequence[int] = (),
        delay_s: float = 0.0,
        start_timeout_s: float = 15.0,
    ) -> None:
        self.log_path = Path(log_path)
        self._port_file = self.log_path.with_suffix(".port")
        self._args = ["--status", str(status), "--delay", str(delay_s)]
        if script:
            self._args += ["--script", ",".join(str(s) for s in script)]
        self._start_timeout_s = start_timeout_s
        self._process: subprocess.Popen[bytes] | None = None
        self.port = 0
        self._read_offset = 0
        self._read: list[RecordedRequest] = []

    def start(self) -> ReceiverProcess:
        self._port_file.unlink(missing_ok=True)
        self._process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tests.support.receiver",
                "--port",
                "0",
                "--log",
                str(self.log_path),
                "--port-file",
                str(self._port_file),
                *self._args,
            ],
            cwd=REPO_ROOT,
        )
        deadline = time.monotonic() + self._start_timeout_s
        while not self._port_file.exists():
            if self._process.poll() is not None:
                raise RuntimeError(f"receiver process exited with {self._process.returncode}")
            if time.monotonic() > deadline:
                self.stop()
                raise TimeoutError("receiver process did not start")
            time.sleep(0.02)
        self.port = int(self._port_file.read_text().strip())
        return self

    def stop(self) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()

    def __enter__(self) -> ReceiverProcess:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}/hook"

    @property
    def requests(self) -> list[RecordedRequest]:
        """Every request logged so far. Reads only what was appended since the last call, so
        polling a log of 10,000 requests stays cheap."""
        if self.log_path.exists():
            with self.log_path.open("rb") as log:
                log.seek(self._read_offset)
                new = log.read()
            complete = new[: new.rfind(b"\n") + 1]  # a line being written is read next time
            self._read_offset += len(complete)
            for line in complete.splitlines():
                try:
                    self._read.append(RecordedRequest.from_record(json.loads(line)))
                except (ValueError, KeyError):
                    continue
        return list(self._read)

    def wait_for(self, count: int, timeout: float = DEFAULT_WAIT_S) -> list[RecordedRequest]:
        deadline = time.monotonic() + timeout
        while True:
            requests = self.requests
            if len(requests) >= count:
                return requests
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"expected {count} request(s) within {timeout} s, got {len(requests)}"
                )
            time.sleep(0.05)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Record HTTP requests as JSON lines.")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--log", type=Path, required=True, help="JSONL file to append requests to")
    parser.add_argument("--port-file", type=Path, help="written with the bound port once ready")
    parser.add_argument("--status", type=int, default=200, help="answer after the script")
    parser.add_argument(
        "--script", default="", help="comma-separated statuses for the first requests"
    )
    parser.add_argument("--delay", type=float, default=0.0, help="seconds before each answer")
    args = parser.parse_args(argv)

    script = [Reply(status=int(s), delay_s=args.delay) for s in args.script.split(",") if s.strip()]
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    with (
        args.log.open("a", encoding="utf-8") as log,
        Receiver(
            script,
            default=Reply(status=args.status, delay_s=args.delay),
            port=args.port,
            log=log,
            keep=False,
        ) as receiver,
    ):
        if args.port_file:
            # Written atomically: a reader never sees a half-written port number.
            tmp = args.port_file.with_name(args.port_file.name + ".tmp")
            tmp.write_text(str(receiver.port))
            os.replace(tmp, args.port_file)
        print(f"receiver listening on {receiver.url}, logging to {args.log}", flush=True)
        while not stop.wait(0.5):
            pass
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
