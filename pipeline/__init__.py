"""The pipeline: settings, embedding, import, indexing, search and suggestions, wired together by ``Workspace``."""

from __future__ import annotations

from pipeline.cases import CaseFile
from pipeline.embed import Embedder, ModelUnavailable, load_embedder
from pipeline.importer import ImportFileError, ImportReport, import_incidents, import_requesters
from pipeline.search import SimilarCase
from pipeline.settings import Settings
from pipeline.suggest import Criterion, Suggestion, Triage
from pipeline.text import ReportError
from pipeline.training import SuggestionModelUnavailable
from pipeline.workspace import Workspace

__all__ = [
    "CaseFile",
    "Criterion",
    "Embedder",
    "ImportFileError",
    "ImportReport",
    "ModelUnavailable",
    "ReportError",
    "Settings",
    "SimilarCase",
    "Suggestion",
    "SuggestionModelUnavailable",
    "Triage",
    "Workspace",
    "import_incidents",
    "import_requesters",
    "load_embedder",
]
