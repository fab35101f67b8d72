"""A real IMAP server for the tests: Debian's Dovecot, started on 127.0.0.1 with a throwaway configuration and
maildir in a temporary folder (plain IMAP, loopback only), stopped at the end. Each test gets users of its own
(``add_user``), so one server serves the whole session; mail is delivered with IMAP APPEND."""

from __future__ import annotations

import contextlib
import os
import pwd
import secrets
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from imapclient import IMAPClient

DOVECOT = "/usr/sbin/dovecot"

_CONFIG = """\
protocols = imap
listen = 127.0.0.1
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
info_log_path = {root}/dovecot.log
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
auth_failure_delay = 0
first_valid_uid = 0
first_valid_gid = 0
default_internal_user = {internal}
default_login_user = {login}
mail_location = maildir:{root}/mail/%u
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {root}/users/%u
}}
userdb {{
  driver = static
  args = uid={uid} gid={gid} home={root}/home/%u
}}
namespace inbox {{
  inbox = yes
  separator = /
  mailbox Filed {{
    auto = create
  }}
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service pop3-login {{
  inet_listener pop3 {{
    port = 0
  }}
}}
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class ImapServer:
    """Dovecot serving ``root`` on 127.0.0.1:``port``."""

    root: Path
    port: int
    host: str = "127.0.0.1"

    def add_user(self, name: str | None = None, password: str | None = None) -> tuple[str, str]:
        """A new mail account (user, password) with an empty INBOX."""
        name = name or f"user{secrets.token_hex(4)}"
        password = password or secrets.token_urlsafe(12)
        # A file per user: Dovecot may not notice a line added to a file it read within the same second.
        (self.root / "users" / name).write_text(f"{name}:{{PLAIN}}{password}\n")
        return name, password

    @contextlib.contextmanager
    def client(self, user: str, password: str) -> Iterator[IMAPClient]:
        with IMAPClient(self.host, port=self.port, ssl=False, timeout=10) as imap:
            imap.login(user, password)
            yield imap

    def deliver(self, user: str, password: str, message: bytes, folder: str = "INBOX") -> None:
        """Put ``message`` into the user's ``folder`` (IMAP APPEND), as a mail arriving would be."""
        with self.client(user, password) as imap:
            imap.append(folder, message)

    def log(self) -> str:
        path = self.root / "dovecot.log"
        return path.read_text(errors="replace") if path.exists() else ""


@contextlib.contextmanager
def running_dovecot() -> Iterator[ImapServer]:
    """Start Dovecot in the foreground on a free port, wait until it greets; stop it and remove its folder at the
    end. The folder is made outside pytest's (owner-only) temporary tree: Dovecot's own users must reach it."""
    root = Path(tempfile.mkdtemp(prefix="incident-kb-dovecot-"))
    root.chmod(0o755)
    for sub in ("run", "state", "mail", "home", "users"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    port = free_port()
    conf = root / "dovecot.conf"
    if os.geteuid() == 0:
        # Dovecot never runs a mail process as root: the maildir belongs to its own system user.
        owner = pwd.getpwnam("dovecot")
        uid, gid, internal, login = owner.pw_uid, owner.pw_gid, "dovecot", "dovenull"
        for sub in ("mail", "home"):
            os.chown(root / sub, uid, gid)
    else:
        me = pwd.getpwuid(os.geteuid())
        uid, gid, internal, login = me.pw_uid, me.pw_gid, me.pw_name, me.pw_name
    values = {"root": root, "port": port, "uid": uid, "gid": gid, "internal": internal, "login": login}
    conf.write_text(_CONFIG.format(**values))
    process = subprocess.Popen([DOVECOT, "-F", "-c", str(conf)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    server = ImapServer(root, port)
    try:
        for _ in range(200):
            if process.poll() is not None:
                out = process.stdout.read().decode(errors="replace") if process.stdout else ""
                raise RuntimeError(f"dovecot stopped at once: {out}\n{server.log()}")
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1) as s:
                if s.recv(100).startswith(b"* OK"):
                    break
            time.sleep(0.05)
        else:
            raise RuntimeError(f"dovecot did not answer on port {port}: {server.log()}")
        yield server
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        shutil.rmtree(root, ignore_errors=True)
