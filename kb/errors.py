"""Named failures of the knowledge base, each a subclass of the builtin a caller would expect."""

from __future__ import annotations


class IncidentNotFound(KeyError):
    """No incident has the given id."""

    def __str__(self) -> str:  # KeyError quotes its argument; a message reads better
        return str(self.args[0]) if self.args else "incident not found"


class RequesterNotFound(KeyError):
    def __str__(self) -> str:
        return str(self.args[0]) if self.args else "requester not found"


class InvalidValue(ValueError):
    """A field got a value outside its vocabulary (see ``kb.vocab``)."""


class KnowledgeBaseUnavailable(RuntimeError):
    """The database cannot be opened or brought to the current schema."""


class IndexMismatch(RuntimeError):
    """The vector index was made by another model or from another state of the database."""


class IndexCorrupt(RuntimeError):
    """The vector index file cannot be read."""


class ModelVersionNotFound(LookupError):
    """No trained model has the version asked for."""


class StaleEdit(RuntimeError):
    """A case changed after the caller read it; the edit was refused so that nothing is silently overwritten."""


class AlreadyClaimed(RuntimeError):
    """Someone else holds the case."""

    def __init__(self, message: str, holder: str) -> None:
        super().__init__(message)
        self.holder = holder


class UserNotFound(KeyError):
    def __str__(self) -> str:
        return str(self.args[0]) if self.args else "user not found"
