"""The pipeline: settings, embedding, import, indexing and search, wired together by ``Workspace``."""

from __future__ import annotations

from pipeline.cases import CaseFile
from pipeline.embed import Embedder, ModelUnavailable, load_embedder
from pipeline.importer import ImportFileError, ImportReport, import_incidents, import_requesters
from pipeline.search import SimilarCase
from pipeline.settings import Settings
from pipeline.text import ReportError
from pipeline.workspace import Workspace

__all__ = [
    "CaseFile",
    "Embedder",
    "ImportFileError",
    "ImportReport",
    "ModelUnavailable",
    "ReportError",
    "Settings",
    "SimilarCase",
    "Workspace",
    "import_incidents",
    "import_requesters",
    "load_embedder",
]
