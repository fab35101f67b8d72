"""Named failures of the knowledge base, each a subclass of the builtin a caller would expect.

Each carries a phrase (``words.Phrase``: a code of the catalogue and its values) that the edges word in the
reader's language: ``raise IncidentNotFound("incident_not_found", id=7)``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.exc import DBAPIError

from words import PhrasedError


class IncidentNotFound(PhrasedError, KeyError):
    """No incident has the given id."""


class RequesterNotFound(PhrasedError, KeyError):
    """No requester has the given id or address."""


class UserNotFound(PhrasedError, KeyError):
    """No member of the team has the given name or id."""


class InvalidValue(PhrasedError, ValueError):
    """A field got a value outside its vocabulary (see ``kb.vocab``), or a value the knowledge base cannot keep."""


class KnowledgeBaseUnavailable(PhrasedError, RuntimeError):
    """The database cannot be opened or brought to the current schema."""


class ConnectionLost(KnowledgeBaseUnavailable):
    """The database connection broke during a read or before a change was committed: the server rolled the change
    back whole, so trying it again once is safe."""


class CommitUncertain(KnowledgeBaseUnavailable):
    """The database connection broke while a change was being committed: only the database knows whether it was
    stored, so it must not be tried again blindly."""


@contextmanager
def connection_lost_named(where: str, committing: list[bool] | None = None) -> Iterator[None]:
    """A database connection that breaks inside becomes ConnectionLost naming ``where`` (CommitUncertain once
    ``committing`` holds True); other database errors pass as they are."""
    try:
        yield
    except DBAPIError as exc:
        if not exc.connection_invalidated:
            raise
        if committing and committing[0]:
            raise CommitUncertain("kb_commit_uncertain", where=where) from exc
        raise ConnectionLost("kb_connection_lost", where=where) from exc


class PgVectorMissing(KnowledgeBaseUnavailable):
    """A PostgreSQL database without the pgvector extension, which holds its similar-case index."""


class JobNotFound(PhrasedError, KeyError):
    """No job of the background worker has the given id."""


class AccountLocked(PhrasedError, PermissionError):
    """The account is locked after too many wrong passwords."""


class KnowledgeBaseBusy(PhrasedError, RuntimeError):
    """Another write held the database for longer than the wait allowed; nothing was changed."""


class IndexMismatch(PhrasedError, RuntimeError):
    """The vector index was made by another model or from another state of the database."""


class IndexCorrupt(PhrasedError, RuntimeError):
    """The vector index file cannot be read."""


class ModelVersionNotFound(PhrasedError, LookupError):
    """No trained model has the version asked for."""


class StaleEdit(PhrasedError, RuntimeError):
    """A case changed after the caller read it; the edit was refused so that nothing is silently overwritten."""
