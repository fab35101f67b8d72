"""Mail from the command line: ``incident-kb mail poll`` polls every mailbox of the settings once, now (the worker
does it every ``interval_minutes``), for operators and tests."""

from __future__ import annotations

import click

from cli.common import Run, pass_run
from pipeline import jobs
from pipeline.channels import inbound


@click.group()
def mail() -> None:
    """The mailboxes the worker polls (settings: mail.mailboxes)."""


@mail.command("poll")
@pass_run
def mail_poll(run: Run) -> None:
    """Poll every mailbox once now: file each new mail, mark it, list what cannot be filed. Exits with an error if
    a mailbox could not be read."""
    ws = run.workspace()
    results = inbound.poll_due(ws, lock=jobs.queue(ws.settings).huey.lock_task, force=True)
    if not ws.settings.mail.mailboxes:
        run.echo("cli_mail_no_mailboxes")
    failed = False
    for r in results:
        if r.error is not None:
            run.echo(r.error, err=True)
            failed = True
        else:
            run.echo("cli_mail_polled", mailbox=r.mailbox, filed=r.filed, already=r.already_filed, left=r.left)
    if failed:
        raise SystemExit(1)


COMMANDS = [mail]
