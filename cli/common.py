"""What every command shares: the group and its global options, the workspace of one run, progress bars, every
printed sentence in the reader's language (``--lang``), and errors as one line without a traceback."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import click
from pydantic import ValidationError
from tqdm import tqdm

from pipeline import Settings, Workspace
from pipeline.access.accounts import Account
from pipeline.progress import Progress, ProgressFactory
from words import LANGUAGES, Phrase, PhrasedError, say


@dataclass
class Run:
    """One run of the command line: its settings, the reader's language, and the workspace once opened."""

    settings: Settings
    language: str
    _workspace: Workspace | None = field(default=None, repr=False)

    def say(self, what: Phrase | str, **values: Any) -> str:
        return say(what, self.language, **values)

    def echo(self, what: Phrase | str, *, err: bool = False, **values: Any) -> None:
        click.echo(self.say(what, **values), err=err)

    def workspace(self) -> Workspace:
        """The workspace of this run, opened on first use and closed when the command ends."""
        if self._workspace is None:
            self._workspace = Workspace(self.settings)
            click.get_current_context().call_on_close(self._workspace.close)
        return self._workspace

    @property
    def actor(self) -> Account:
        """Who the command acts as: the operator, who owns the database files and may do anything; the event log
        records them as such ("operator (login)"), never as a name given on the command line."""
        return Account.operator()

    def progress(self) -> ProgressFactory:
        """Progress bars on the terminal, each step named in the reader's language."""

        @contextmanager
        def bar(step: Phrase, total: int) -> Iterator[Progress]:
            with tqdm(total=total, desc=self.say(step), unit="", dynamic_ncols=True) as shown:
                yield shown.update

        return bar

    def notices(self) -> None:
        """What the workspace noticed (an index rebuilt, say), on standard error."""
        for notice in self.workspace().notices:
            self.echo(notice, err=True)


class Group(click.Group):
    """Failures that are the user's to fix (every phrased error, a missing file, a bad setting) end as one line in
    the reader's language, without a traceback."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except PhrasedError as exc:
            run = ctx.find_object(Run)
            raise click.ClickException(say(exc.phrase, run.language if run else "en")) from exc
        except (FileNotFoundError, ValidationError) as exc:
            raise click.ClickException(str(exc)) from exc


@click.group(cls=Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--db",
    metavar="PATH|URL",
    help="Knowledge base: a SQLite file or an SQLAlchemy URL (default: setting database_url, var/incident-kb.db).",
)
@click.option("--model", metavar="NAME", help="Embedding model: use-ml, minilm, or a sentence-transformers path.")
@click.option(
    "--lang", type=click.Choice(list(LANGUAGES)), help="Language of what is printed (default: setting ui_language)."
)
@click.option("-v", "--verbose", is_flag=True, help="Log what happens, for troubleshooting.")
@click.pass_context
def cli(ctx: click.Context, db: str | None, model: str | None, lang: str | None, verbose: bool) -> None:
    """incident-kb: a knowledge-centric incident resolution assistant.

    Settings come from INCIDENT_KB_* environment variables or incident-kb.toml; see `incident-kb settings`.
    """
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s"
    )
    overrides = {k: v for k, v in {"database_url": db, "embedding_model": model}.items() if v}
    settings = Settings(**overrides)
    ctx.obj = Run(settings, lang or settings.ui_language)


pass_run = click.make_pass_decorator(Run)
