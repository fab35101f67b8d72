"""The team's accounts from the command line: add, list, set a password, disable. The operator at the command
line owns the database, so acts as an admin; the event log records them as the operator."""

from __future__ import annotations

import sys

import click

from cli.common import Run, pass_run
from kb.vocab import ROLES
from pipeline.access import team, tokens


def _password(run: Run, from_stdin: bool) -> str:
    """A password from the first line of standard input (for scripts), else typed twice at a hidden prompt."""
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    return click.prompt(run.say("cli_password_prompt"), hide_input=True, confirmation_prompt=True)


_STDIN = click.option("--password-stdin", is_flag=True, help="Read the password from the first line of stdin.")


@click.group()
def users() -> None:
    """Add, list, set the password of, or disable the accounts that sign in to the app; issue, list and revoke
    their API tokens."""


@users.command("add")
@click.argument("name")
@click.option("--email", help="The address single sign-on and the sign-in page know the account by.")
@click.option("--role", type=click.Choice(ROLES), default="agent", show_default=True)
@_STDIN
@pass_run
def users_add(run: Run, name: str, email: str | None, role: str, password_stdin: bool) -> None:
    """Add an account NAME that signs in with a password (asked for; or --password-stdin)."""
    password = _password(run, password_stdin)
    user = team.add_account(run.workspace().kb, name, role, actor=run.actor, email=email, password=password)
    run.echo("cli_user_added", name=user.name, role=run.say(f"role_{user.role}"))


@users.command("list")
@pass_run
def users_list(run: Run) -> None:
    """Every account: name, role, e-mail, active or disabled, locked, last sign-in."""
    for u in run.workspace().kb.users(active_only=False):
        state = run.say("cli_user_active" if u.active else "cli_user_disabled")
        last = f"{u.last_sign_in_at:%Y-%m-%d %H:%M}" if u.last_sign_in_at else "—"
        locked = run.say("cli_user_locked", until=u.locked_until) if team.locked(u) else ""
        click.echo(f"{u.name}\t{run.say(f'role_{u.role}')}\t{u.email or '—'}\t{state}\t{last}\t{locked}".rstrip())


@users.command("passwd")
@click.argument("name")
@_STDIN
@pass_run
def users_passwd(run: Run, name: str, password_stdin: bool) -> None:
    """Set NAME's password (lifting a lockout); NAME's sessions end."""
    kb = run.workspace().kb
    team.reset_password(kb, kb.user(name).id, _password(run, password_stdin), actor=run.actor)
    run.echo("cli_password_set", name=name)


@users.command("disable")
@click.argument("name")
@pass_run
def users_disable(run: Run, name: str) -> None:
    """Disable NAME: their sessions end and they can no longer sign in (the history keeps their name)."""
    kb = run.workspace().kb
    team.update_account(kb, kb.user(name).id, active=False, actor=run.actor)
    run.echo("cli_user_disabled_now", name=name)


@users.command("token")
@click.argument("name")
@click.option("--label", default="", help="What the token is for, shown in `users tokens` (e.g. the system using it).")
@pass_run
def users_token(run: Run, name: str, label: str) -> None:
    """Issue a new API token acting as NAME and print it: it is shown only this once (only its hash is kept)."""
    kb = run.workspace().kb
    issued = tokens.issue_token(kb, kb.user(name).id, actor=run.actor, label=label)
    run.echo("cli_token_issued", name=name, id=issued.record.id, err=True)
    click.echo(issued.token)


@users.command("tokens")
@click.argument("name")
@pass_run
def users_tokens(run: Run, name: str) -> None:
    """NAME's API tokens: id, label, created, last used, active or revoked (never the tokens themselves)."""
    kb = run.workspace().kb
    listed = tokens.tokens_of(kb, kb.user(name).id, actor=run.actor)
    if not listed:
        run.echo("cli_tokens_none", name=name)
    for t in listed:
        state = run.say("cli_token_revoked_at", at=t.revoked_at) if t.revoked_at else run.say("cli_token_active")
        last = f"{t.last_used_at:%Y-%m-%d %H:%M}" if t.last_used_at else "—"
        click.echo(f"{t.id}\t{t.label or '—'}\t{t.created_at:%Y-%m-%d %H:%M}\t{last}\t{state}")


@users.command("revoke-token")
@click.argument("token_id", metavar="ID", type=int)
@pass_run
def users_revoke_token(run: Run, token_id: int) -> None:
    """Revoke the API token ID (from `users tokens`): its next request is refused."""
    kb = run.workspace().kb
    record = tokens.revoke_token(kb, token_id, actor=run.actor)
    run.echo("cli_token_revoked", id=record.id, name=kb.user_by_id(record.user_id).name)


COMMANDS = (users,)
