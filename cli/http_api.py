"""``incident-kb api``: the HTTP API served by uvicorn (``serve`` starts it beside the app)."""

from __future__ import annotations

import os

import click
import uvicorn

from cli.common import Run, pass_run


@click.command()
@pass_run
def api(run: Run) -> None:
    """Serve the HTTP API on the settings' api.bind_address and api.port (8502), under /api/v1, its description at
    /api/v1/docs. Requests carry a bearer token (`incident-kb users token NAME`)."""
    settings = run.settings
    # The application reads the settings as this run has them (--db and --model included) from the environment,
    # as serve's children do: the command line never imports the API (it is another front end).
    os.environ["INCIDENT_KB_DATABASE_URL"] = settings.resolved_database_url
    os.environ["INCIDENT_KB_EMBEDDING_MODEL"] = settings.embedding_model
    address, port = settings.api.bind_address, settings.api.port
    run.echo("cli_api_serving", address=address, port=port, err=True)
    uvicorn.run("api:create_app", factory=True, host=address, port=port, proxy_headers=False, log_level="info")


COMMANDS = (api,)
