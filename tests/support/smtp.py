"""A real SMTP server for email tests: aiosmtpd's threaded Controller on a free local port.

::

    with SmtpServer() as server:                       # plain SMTP
        ...send with server.settings()...
        [mail] = server.wait_for(1)
        mail.message["Subject"]

    with SmtpServer(mode="starttls", tls=tls_files, credentials=("tracker", "pw")) as server:
        ...send with server.settings(security="starttls", username="tracker", password="pw")
        and ssl_context=server.client_context()...

``reject={"nobody@example.org": "550 5.1.1 <nobody@example.org>: user unknown"}`` makes the
server refuse a recipient with that reply. :func:`make_tls_files` creates a self-signed
certificate for 127.0.0.1/localhost with ``cryptography`` when installed, else the ``openssl``
command; the ``tls_files`` fixture skips the test when neither is available.
"""

from __future__ import annotations

import shutil
import socket
import ssl
import subprocess
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path
from typing import Any, Literal

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from tracker.settings import SmtpSettings

HOST = "127.0.0.1"
DEFAULT_WAIT_S = 10.0
TEST_USERNAME = "tracker"
TEST_PASSWORD = "s3cret-smtp-pa55word"


@dataclass(frozen=True)
class TlsFiles:
    cert: Path
    key: Path


def free_port() -> int:
    # aiosmtpd's Controller connects to its port to check it started, so it cannot bind port 0.
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def make_tls_files(folder: Path) -> TlsFiles | None:
    """A self-signed certificate and key for ``127.0.0.1`` and ``localhost`` in ``folder``, or
    ``None`` when neither ``cryptography`` nor ``openssl`` is available."""
    folder.mkdir(parents=True, exist_ok=True)
    files = TlsFiles(cert=folder / "cert.pem", key=folder / "key.pem")
    try:
        _make_with_cryptography(files)
        return files
    except ImportError:
        pass
    openssl = shutil.which("openssl")
    if openssl is None:
        return None
    subprocess.run(
        [
            openssl,
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-days",
            "2",
            "-subj",
            "/CN=localhost",
            "-addext",
            "subjectAltName=DNS:localhost,IP:127.0.0.1",
            "-keyout",
            str(files.key),
            "-out",
            str(files.cert),
        ],
        check=True,
        capture_output=True,
        timeout=60,
    )
    return files


def _make_with_cryptography(files: TlsFiles) -> None:
    import datetime as _dt
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = _dt.datetime.now(_dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - _dt.timedelta(minutes=5))
        .not_valid_after(now + _dt.timedelta(days=2))
        .add_extension(
            x509.SubjectAlternativeName(
                [
                    x509.DNSName("localhost"),
                    x509.IPAddress(ipaddress.ip_address(HOST)),
                ]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    files.key.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    files.cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))


@dataclass(frozen=True)
class ReceivedMail:
    mail_from: str
    rcpt_tos: tuple[str, ...]
    raw: bytes
    authenticated_as: str | None

    @property
    def message(self) -> EmailMessage:
        parsed = BytesParser(policy=policy.default).parsebytes(self.raw)
        assert isinstance(parsed, EmailMessage)
        return parsed


class _Collector:
    def __init__(self, server: SmtpServer) -> None:
        self._server = server

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: list[str]
    ) -> str:
        refusal = self._server.reject.get(address)
        if refusal is not None:
            return refusal
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        login = session.auth_data.login if isinstance(session.auth_data, LoginPassword) else None
        self._server._record(
            ReceivedMail(
                mail_from=envelope.mail_from,
                rcpt_tos=tuple(envelope.rcpt_tos),
                raw=envelope.original_content or envelope.content,
                authenticated_as=login.decode() if isinstance(login, bytes) else None,
            )
        )
        return "250 2.0.0 Message accepted for delivery"


class SmtpServer:
    """An aiosmtpd server in a background thread that keeps every message it accepts."""

    def __init__(
        self,
        *,
        mode: Literal["plain", "starttls", "tls"] = "plain",
        tls: TlsFiles | None = None,
        credentials: tuple[str, str] | None = None,
        reject: Mapping[str, str] | None = None,
    ) -> None:
        if mode != "plain" and tls is None:
            raise ValueError(f"mode {mode!r} needs TLS files")
        self.mode = mode
        self.tls = tls
        self.credentials = credentials
        self.reject = dict(reject or {})
        self.port = free_port()
        self._messages: list[ReceivedMail] = []
        self._changed = threading.Condition()
        self._controller: Controller | None = None

    def _server_context(self) -> ssl.SSLContext:
        assert self.tls is not None
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(self.tls.cert, self.tls.key)
        return context

    def client_context(self) -> ssl.SSLContext:
        """A client context that trusts this server's self-signed certificate (and nothing else)."""
        assert self.tls is not None
        return ssl.create_default_context(cafile=str(self.tls.cert))

    def _authenticate(
        self, server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any
    ) -> AuthResult:
        ok = (
            self.credentials is not None
            and isinstance(auth_data, LoginPassword)
            and (auth_data.login.decode(), auth_data.password.decode()) == self.credentials
        )
        return AuthResult(success=ok, handled=False, auth_data=auth_data if ok else None)

    def start(self) -> SmtpServer:
        kwargs: dict[str, Any] = {}
        if self.mode == "starttls":
            kwargs.update(tls_context=self._server_context(), require_starttls=True)
        elif self.mode == "tls":
            kwargs.update(ssl_context=self._server_context())
        if self.credentials is not None:
            # Over plain SMTP, AUTH is offered but not required: aiosmtpd warns about requiring
            # it without TLS, and warnings are errors in this test suite.
            kwargs.update(
                authenticator=self._authenticate,
                auth_required=self.mode != "plain",
                auth_require_tls=self.mode != "plain",
            )
        self._controller = Controller(
            _Collector(self), hostname=HOST, port=self.port, server_hostname="localhost", **kwargs
        )
        self._controller.start()
        return self

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def __enter__(self) -> SmtpServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def settings(self, **overrides: Any) -> SmtpSettings:
        """:class:`SmtpSettings` pointing at this server (security ``none`` unless overridden)."""
        values: dict[str, Any] = {
            "host": HOST,
            "port": self.port,
            "security": "none",
            "sender": "tracker@example.org",
            "timeout_seconds": 10,
        }
        values.update(overrides)
        return SmtpSettings.model_validate(values)

    def _record(self, mail: ReceivedMail) -> None:
        with self._changed:
            self._messages.append(mail)
            self._changed.notify_all()

    @property
    def messages(self) -> list[ReceivedMail]:
        with self._changed:
            return list(self._messages)

    def wait_for(self, count: int, timeout: float = DEFAULT_WAIT_S) -> list[ReceivedMail]:
        with self._changed:
            if not self._changed.wait_for(lambda: len(self._messages) >= count, timeout=timeout):
                raise AssertionError(
                    f"expected {count} message(s) within {timeout} s, got {len(self._messages)}"
                )
            return list(self._messages)


@pytest.fixture(scope="session")
def tls_files(tmp_path_factory: pytest.TempPathFactory) -> TlsFiles:
    files = make_tls_files(tmp_path_factory.mktemp("tls"))
    if files is None:
        pytest.skip("neither the cryptography package nor the openssl command is available")
    return files


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    """A plain SMTP server without authentication."""
    with SmtpServer() as server:
        yield server


@pytest.fixture
def smtp_starttls_server(tls_files: TlsFiles) -> Iterator[SmtpServer]:
    """An SMTP server that requires STARTTLS and then AUTH with TEST_USERNAME/TEST_PASSWORD."""
    with SmtpServer(
        mode="starttls", tls=tls_files, credentials=(TEST_USERNAME, TEST_PASSWORD)
    ) as server:
        yield server
