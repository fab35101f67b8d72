"""A real SMTP server on 127.0.0.1 for the tests (aiosmtpd): it keeps every mail it accepts, can be told to refuse
(a 5xx to every mail), and in one variant asks for AUTH over STARTTLS with a throwaway self-signed certificate."""

from __future__ import annotations

import datetime as dt
import email
import ipaddress
import socket
import ssl
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage
from pathlib import Path

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

HOST = "127.0.0.1"
USER, PASSWORD = "desk", "test-only-password"


@dataclass(frozen=True)
class Received:
    """One mail the server accepted: its envelope and the message as sent."""

    mail_from: str
    rcpt_tos: tuple[str, ...]
    message: EmailMessage


@dataclass
class SmtpServer:
    """The running server: where it listens, what it received, whether it refuses now."""

    port: int
    received: list[Received] = field(default_factory=list)
    refusing: bool = False
    cert_file: Path | None = None  # the certificate a client must trust (the STARTTLS variant)

    async def handle_DATA(self, server, session, envelope) -> str:
        if self.refusing:
            return "554 5.7.1 Not today (test server refusing)"
        message = email.message_from_bytes(envelope.original_content, policy=policy.default)
        self.received.append(Received(envelope.mail_from, tuple(envelope.rcpt_tos), message))
        return "250 OK"


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def _check_login(server, session, envelope, mechanism: str, auth_data) -> AuthResult:
    ok = isinstance(auth_data, LoginPassword) and (auth_data.login, auth_data.password) == (
        USER.encode(),
        PASSWORD.encode(),
    )
    return AuthResult(success=ok, handled=False)


def self_signed(folder: Path) -> tuple[Path, Path]:
    """A throwaway certificate for 127.0.0.1 and its key, as PEM files in ``folder``."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, HOST)])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(HOST))]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = folder / "smtp-cert.pem", folder / "smtp-key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_file, key_file


@contextmanager
def smtp_server(*, tls_folder: Path | None = None, port: int | None = None) -> Iterator[SmtpServer]:
    """A server on a free port (or ``port``); with ``tls_folder``, it offers STARTTLS with a certificate made there
    and takes mail only from a client that signed in (``USER``/``PASSWORD``) over TLS."""
    server = SmtpServer(port or free_port())
    options: dict = {}
    if tls_folder is not None:
        server.cert_file, key_file = self_signed(tls_folder)
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(server.cert_file, key_file)
        options = dict(
            tls_context=context,
            require_starttls=True,
            authenticator=_check_login,
            auth_required=True,
            auth_require_tls=True,
        )
    controller = Controller(server, hostname=HOST, port=server.port, **options)
    controller.start()
    try:
        yield server
    finally:
        controller.stop()
