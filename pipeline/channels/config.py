"""The settings of the channels (``Settings.mail``, ``Settings.api``): where mail comes from and goes to, and how
the HTTP API serves. Passwords are never settings: they come from the environment or the secrets file
(``secret``)."""

from __future__ import annotations

import os
import re
import tomllib
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

LOCAL_HOSTS = ("localhost", "127.0.0.1", "::1")
# Plain: no TLS at all, which only a server on this machine may be spoken to with (a test's, or a local relay).
Security = Literal["tls", "starttls", "plain"]


class _Server(BaseModel):
    model_config = ConfigDict(extra="forbid")

    host: str
    port: int = Field(gt=0, lt=65536)
    security: Security
    user: str | None = Field(None, description="Account to sign in as; None: no authentication.")

    @model_validator(mode="after")
    def _tls_off_only_here(self) -> _Server:
        if self.security == "plain" and self.host not in LOCAL_HOSTS:
            raise ValueError(f"{self.host}: plain (no TLS) only to this machine; use tls or starttls")
        return self


class Mailbox(_Server):
    """One IMAP mailbox the worker polls; its password is the secret ``imap.<name>``."""

    name: str = Field(pattern=r"^[A-Za-z0-9_-]{1,50}$", description="Its name in the app and the secrets file.")
    port: int = Field(993, gt=0, lt=65536)
    security: Security = "tls"
    folder: str = "INBOX"
    interval_minutes: float = Field(1, gt=0, description="Polled at most this often.")
    after: Literal["flag", "move"] = Field("flag", description="A filed mail is flagged \\Seen, or moved.")
    move_to: str = Field("Filed", description="The folder filed mail is moved to, with after = 'move'.")


class Smtp(_Server):
    """The server replies and notices are sent through; its password is the secret ``smtp``."""

    port: int = Field(587, gt=0, lt=65536)
    security: Security = "starttls"
    from_address: str = Field(pattern=r"^[^@\s<>]+@[^@\s<>]+$", description="The desk's address.")
    from_name: str = "Helpdesk"
    timeout_seconds: float = Field(30, gt=0)


class MailSettings(BaseModel):
    """Mail in and out. Without ``smtp`` nothing is sent (replies wait, shown as not sent); without ``mailboxes``
    mail comes in only as uploaded files."""

    model_config = ConfigDict(extra="forbid")

    smtp: Smtp | None = None
    mailboxes: list[Mailbox] = []
    max_attachment_bytes: int = Field(10_000_000, gt=0, description="Largest attachment kept with a case.")
    retry_minutes: list[float] = Field(
        [1, 5, 15, 60, 240], description="Waits between tries of a refused send; after the last, it has failed."
    )
    secrets_file: Path = Field(
        Path("~/.config/incident-kb/secrets.toml"),
        description="TOML holding smtp_password and [imap] <mailbox> = password; keep it owner-only.",
    )

    @model_validator(mode="after")
    def _names_once(self) -> MailSettings:
        names = [m.name for m in self.mailboxes]
        if len(names) != len(set(names)):
            raise ValueError("each mailbox needs its own name")
        return self

    def secret(self, name: str) -> str | None:
        """A password: ``INCIDENT_KB_SMTP_PASSWORD`` / ``INCIDENT_KB_IMAP_<NAME>_PASSWORD`` from the environment,
        else ``smtp_password`` / ``[imap] <name>`` from the secrets file; None if neither has it."""
        kind, _, box = name.partition(".")
        scope = f"_{re.sub(r'[^A-Za-z0-9]', '_', box).upper()}" if box else ""
        env = f"INCIDENT_KB_{kind.upper()}{scope}_PASSWORD"
        if env in os.environ:
            return os.environ[env]
        path = self.secrets_file.expanduser()
        if not path.is_file():
            return None
        with path.open("rb") as f:
            secrets = tomllib.load(f)
        return secrets.get("imap", {}).get(box) if box else secrets.get(f"{kind}_password")


class ApiSettings(BaseModel):
    """The HTTP API (``incident-kb api``)."""

    model_config = ConfigDict(extra="forbid")

    bind_address: str = Field("127.0.0.1", description="Where it listens: 0.0.0.0 only behind TLS.")
    port: int = Field(8502, gt=0, lt=65536)
    max_body_bytes: int = Field(1_000_000, gt=0, description="Largest request body; more is refused (413).")
    requests_per_minute: int = Field(120, gt=0, description="Per token; more is refused (429) until it refills.")
    public_url: str | None = Field(
        None,
        pattern=r"^https?://[^\s/?#]+(/[^\s?#]*)?$",
        description="The API's address as a requester's mail links reach it (https://desk.example.com); "
        "None: http://<bind_address>:<port>.",
    )
    rating_days: float = Field(30, gt=0, description="How long the satisfaction link of a resolution notice answers.")

    @property
    def base_url(self) -> str:
        """Where links to the API point, without a trailing slash."""
        return (self.public_url or f"http://{self.bind_address}:{self.port}").rstrip("/")
