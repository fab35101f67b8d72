"""Another app process for the cross-process tests: opens its own workspace on the database named on the command
line, says "ready", waits for the go file, does one thing and prints what came of it as JSON.

    python -m tests.other_process URL INDEX GO ACTION [ARG]
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from pipeline.access import Account
from pipeline.desk import casework
from pipeline.settings import Settings
from pipeline.workspace import Workspace


def main(url: str, index: str, go: str, action: str, arg: str = "") -> dict:
    with Workspace(Settings(database_url=url, index_path=Path(index))) as ws:
        if action == "search":
            ws.index()  # loaded before the go: what is found after it was resolved elsewhere meanwhile
        print("ready", flush=True)
        while not Path(go).exists():
            time.sleep(0.01)
        if action == "claim":
            try:
                won = casework.claim(ws, int(arg), actor=Account.operator(f"agent {Path(index).name}"))
                return {"won": True, "assignee": won.assignee}
            except casework.AlreadyClaimed as exc:
                return {"won": False, "error": str(exc)}
        if action == "search":
            return {"titles": [c.incident.title for c in ws.similar_cases(arg, k=3)], "notices": len(ws.notices)}
        if action == "thresholds":
            return {"version": ws.thresholds().version}
        raise SystemExit(f"unknown action {action}")


if __name__ == "__main__":
    print(json.dumps(main(*sys.argv[1:])), flush=True)
