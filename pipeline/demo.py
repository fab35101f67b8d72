"""The demo knowledge base: the bundled requesters and incidents of ``data/``, imported and indexed."""

from __future__ import annotations

import logging
import tomllib

from pipeline.importer import ImportReport, import_incidents, import_requesters
from pipeline.intake import assess
from pipeline.progress import ProgressFactory
from pipeline.workspace import Workspace

logger = logging.getLogger(__name__)

REQUESTERS_FILE = "demo_requesters.jsonl"
INCIDENTS_FILE = "demo_incidents.jsonl"
TEAM_FILE = "demo_team.toml"


def build_demo(ws: Workspace, progress: ProgressFactory) -> list[ImportReport]:
    """Import the demo files into an empty knowledge base, index it, train the suggestion models, add the team
    and its reply templates, and store suggestions for the open cases.

    Returns what each import did.
    """
    if ws.kb.stats().incidents:
        raise ValueError(f"{ws.kb} already holds incidents; the demo goes into an empty knowledge base")
    folder = ws.settings.demo_dir
    missing = [name for name in (REQUESTERS_FILE, INCIDENTS_FILE, TEAM_FILE) if not (folder / name).is_file()]
    if missing:
        raise FileNotFoundError(f"demo data {', '.join(missing)} not found in {folder} (setting demo_dir)")
    reports = []
    for name, importer in ((REQUESTERS_FILE, import_requesters), (INCIDENTS_FILE, import_incidents)):
        reports.append(importer(ws.kb, folder / name, actor="demo", progress=progress))
    ws.reindex(progress)
    ws.train(actor="demo", progress=progress)
    team = tomllib.loads((folder / TEAM_FILE).read_text(encoding="utf-8"))
    with ws.kb.write("demo") as w:
        for user in team["users"]:
            w.add_user(user["name"], user["role"])
        for template in team["templates"]:
            w.save_template(**template)
    assess(ws, [case.id for case in ws.kb.open_incidents()], user="demo", progress=progress)
    return reports
