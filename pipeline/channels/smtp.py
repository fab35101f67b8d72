"""Sending one mail through the desk's SMTP server (``smtplib``): TLS from the start, STARTTLS, or plain only to
this machine (the settings refuse it elsewhere); signed in when the settings name a user, with the secret
``smtp``. The mail is plain text, never HTML, its headers built by ``email.message.EmailMessage``: a subject or
name with a line break in it is made one line, so it can never start a header of its own."""

from __future__ import annotations

import logging
import smtplib
import ssl
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import formatdate

from kb import DeliveryRecord
from pipeline.channels.config import MailSettings, Smtp
from words import PhrasedError

logger = logging.getLogger(__name__)


class MailRefused(PhrasedError, RuntimeError):
    """The server could not be reached, or did not accept the mail (the phrase says which and why)."""


def one_line(text: str) -> str:
    """Text as one header line: every run of whitespace (CR, LF, tabs included) one space."""
    return " ".join(text.split())


def build(smtp: Smtp, delivery: DeliveryRecord) -> EmailMessage:
    """The mail of a delivery: from the desk, to its recipient, threaded under the mails it answers. A notice says
    it was sent automatically (RFC 3834), so another system's auto-reply does not answer it."""
    mail = EmailMessage()
    mail["From"] = Address(display_name=one_line(smtp.from_name), addr_spec=smtp.from_address)
    mail["To"] = Address(addr_spec=delivery.recipient)
    mail["Subject"] = one_line(delivery.subject)
    mail["Date"] = formatdate(usegmt=True)
    if delivery.mail_id:
        mail["Message-ID"] = delivery.mail_id
    answered = (delivery.references or "").split()
    if answered:
        mail["In-Reply-To"] = answered[-1]
        mail["References"] = " ".join(answered)
    if delivery.purpose != "reply":
        mail["Auto-Submitted"] = "auto-generated"
    mail.set_content(delivery.body)  # text/plain; a reply's markup arrives as the text it is
    return mail


def _connect(smtp: Smtp) -> smtplib.SMTP:
    context = ssl.create_default_context()  # the system's CAs (or SSL_CERT_FILE's), the host name checked
    if smtp.security == "tls":
        return smtplib.SMTP_SSL(smtp.host, smtp.port, timeout=smtp.timeout_seconds, context=context)
    client = smtplib.SMTP(smtp.host, smtp.port, timeout=smtp.timeout_seconds)
    if smtp.security == "starttls":
        client.starttls(context=context)
    return client


def send(settings: MailSettings, delivery: DeliveryRecord) -> None:
    """Hand one e-mail delivery to the SMTP server; returns once the server accepted it, else MailRefused."""
    smtp = settings.smtp
    if smtp is None:
        raise MailRefused("out_no_smtp")
    try:
        mail = build(smtp, delivery)
    except (ValueError, IndexError, TypeError, AttributeError) as exc:  # an address the header parser refuses
        raise MailRefused("out_bad_address", recipient=delivery.recipient, error=str(exc)[:200]) from exc
    where = f"{smtp.host}:{smtp.port}"
    try:
        with _connect(smtp) as client:
            if smtp.user:
                password = settings.secret("smtp")
                if password is None:
                    raise MailRefused("out_smtp_no_password", where=where)
                client.login(smtp.user, password)
            # The envelope names the recipient itself: no header of the mail decides where it goes.
            client.send_message(mail, from_addr=smtp.from_address, to_addrs=[delivery.recipient])
    except smtplib.SMTPRecipientsRefused as exc:
        code, reply = next(iter(exc.recipients.values()))
        raise MailRefused("out_smtp_refused", where=where, code=code, reply=_text(reply)) from exc
    except smtplib.SMTPResponseException as exc:
        raise MailRefused("out_smtp_refused", where=where, code=exc.smtp_code, reply=_text(exc.smtp_error)) from exc
    except (smtplib.SMTPException, OSError) as exc:  # refused connection, timeout, TLS, a dropped line
        raise MailRefused("out_smtp_unreachable", where=where, error=str(exc) or type(exc).__name__) from exc


def _text(reply: bytes | str) -> str:
    return one_line(reply.decode("utf-8", "replace") if isinstance(reply, bytes) else reply)[:300]
