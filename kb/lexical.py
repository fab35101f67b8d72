"""``LexicalIndex``: character n-gram TF-IDF over incident texts, keyed by incident id.

Character n-grams need no word boundaries, so they work for Japanese written without spaces as well as for
English, and they match error codes (``0x80070005``), product names and exact phrases that a sentence embedding
blurs. Search walks only the posting lists of the query's n-grams (a column slice of a sparse matrix), so its cost
follows how rare the query's n-grams are, not the size of the knowledge base.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import scipy.sparse as sp
from sklearn.feature_extraction.text import TfidfVectorizer

# Character n-grams inside word boundaries; 2 to 4 characters carry both Japanese words and English stems.
NGRAMS = (2, 4)
# On a large corpus, n-grams found in more than this share of texts say little and make posting lists long.
MAX_DF, MAX_DF_FROM = 0.2, 1000


class LexicalIndex:
    """Cosine similarity of sublinear TF-IDF vectors of character n-grams.

    The vocabulary and IDF weights are learnt by ``fit``; later ``add`` calls use them as they are (a rebuild
    learns them again).

    Examples
    --------
    >>> index = LexicalIndex().fit([1, 2], ["error 0x80070005 on install", "printer out of paper"])
    >>> index.search("0x80070005", k=1)[0][0]
    1
    """

    def __init__(self) -> None:
        self.vocabulary_: dict[str, int] = {}
        self.idf_ = np.zeros(0, dtype=np.float32)
        self._ids = np.zeros(0, dtype=np.int64)
        self._rows = sp.csr_matrix((0, 0), dtype=np.float32)
        self._columns: sp.csc_matrix | None = None

    def __len__(self) -> int:
        return int((self._ids >= 0).sum())

    def fit(self, ids: Sequence[int], texts: Sequence[str]) -> LexicalIndex:
        """Learn the n-gram vocabulary and IDF weights from these texts and index them."""
        vectorizer = _vectorizer(max_df=MAX_DF if len(texts) >= MAX_DF_FROM else 1.0)
        try:
            vectorizer.fit(texts)
        except ValueError:  # no n-gram at all (empty texts): an index that finds nothing
            self.vocabulary_, self.idf_ = {}, np.zeros(0, dtype=np.float32)
        else:
            self.vocabulary_ = {term: int(col) for term, col in vectorizer.vocabulary_.items()}
            self.idf_ = vectorizer.idf_.astype(np.float32)
        self._ids = np.zeros(0, dtype=np.int64)
        self._rows = sp.csr_matrix((0, len(self.idf_)), dtype=np.float32)
        self.add(ids, texts)
        return self

    def transform(self, texts: Sequence[str]) -> sp.csr_matrix:
        """Unit-length TF-IDF rows of these texts over the learnt vocabulary."""
        data, indices, indptr = [], [], [0]
        for text in texts:
            counts: dict[int, int] = {}
            for gram in _ANALYZER(text):
                col = self.vocabulary_.get(gram)
                if col is not None:
                    counts[col] = counts.get(col, 0) + 1
            cols = np.fromiter(counts, dtype=np.int64, count=len(counts))
            weights = (1 + np.log(np.fromiter(counts.values(), dtype=np.float32, count=len(counts)))) * self.idf_[cols]
            norm = float(np.linalg.norm(weights))
            indices.append(cols)
            data.append(weights / norm if norm else weights)
            indptr.append(indptr[-1] + len(cols))
        return sp.csr_matrix(
            (np.concatenate(data or [np.zeros(0)]), np.concatenate(indices or [np.zeros(0, np.int64)]), indptr),
            shape=(len(texts), len(self.idf_)),
            dtype=np.float32,
        )

    def add(self, ids: Sequence[int], texts: Sequence[str]) -> None:
        """Index these texts, replacing what these ids had before."""
        ids = np.asarray(ids, dtype=np.int64)
        if len(ids) != len(texts):
            raise ValueError(f"{len(ids)} ids for {len(texts)} texts")
        self.remove(ids)
        self._ids = np.concatenate([self._ids, ids])
        self._rows = sp.vstack([self._rows, self.transform(texts)], format="csr")
        self._columns = None

    def remove(self, ids: Sequence[int]) -> None:
        gone = np.isin(self._ids, np.asarray(ids, dtype=np.int64))
        if gone.any():
            self._ids = np.where(gone, -1, self._ids)  # rows stay until the next fit; -1 is never returned

    def search(self, text: str, k: int, allowed: np.ndarray | None = None) -> list[tuple[int, float]]:
        """The ``k`` ids whose texts share most n-grams with ``text``, weighted by rarity, best first."""
        query = self.transform([text])
        if query.nnz == 0 or not len(self._ids):
            return []
        if self._columns is None:
            self._columns = self._rows.tocsc()
        scores = self._columns[:, query.indices] @ query.data
        live = self._ids >= 0
        if allowed is not None:
            live &= np.isin(self._ids, allowed)
        candidates = np.flatnonzero(live & (scores > 0))
        top = candidates[np.argsort(-scores[candidates], kind="stable")[:k]]
        return [(int(self._ids[i]), float(scores[i])) for i in top]

    def pair_scores(self, a: Sequence[int], b: Sequence[int]) -> np.ndarray:
        """The similarity of each pair of indexed ids ``(a[i], b[i])``."""
        row_of = {int(i): row for row, i in enumerate(self._ids) if i >= 0}
        rows_a = self._rows[[row_of[int(i)] for i in a]]
        rows_b = self._rows[[row_of[int(i)] for i in b]]
        return np.asarray(rows_a.multiply(rows_b).sum(axis=1)).ravel()

    def to_arrays(self) -> dict[str, np.ndarray]:
        terms = sorted(self.vocabulary_, key=self.vocabulary_.__getitem__)
        return {
            "terms": np.array(terms, dtype=str) if terms else np.zeros(0, dtype="<U1"),
            "idf": self.idf_,
            "ids": self._ids,
            "data": self._rows.data,
            "indices": self._rows.indices,
            "indptr": self._rows.indptr,
        }

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray]) -> LexicalIndex:
        index = cls()
        index.vocabulary_ = {str(term): col for col, term in enumerate(arrays["terms"])}
        index.idf_ = arrays["idf"].astype(np.float32)
        index._ids = arrays["ids"].astype(np.int64)
        index._rows = sp.csr_matrix(
            (arrays["data"], arrays["indices"], arrays["indptr"]), shape=(len(index._ids), len(index.idf_))
        )
        return index


def _vectorizer(max_df: float = 1.0) -> TfidfVectorizer:
    """Fits the vocabulary and IDF weights; ``transform`` applies them with the same analyzer and formula."""
    return TfidfVectorizer(analyzer="char_wb", ngram_range=NGRAMS, sublinear_tf=True, max_df=max_df, dtype=np.float32)


_ANALYZER = _vectorizer().build_analyzer()
