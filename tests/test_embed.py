"""The Embedder contract on the real offline models, and the cache that keeps texts from being embedded twice."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from pipeline.triage import embed
from pipeline.triage.embed import Embedder, ModelUnavailable, UniversalSentenceEncoder, load_embedder
from pipeline.triage.embed_cache import EmbeddingCache


class CountingUSE(UniversalSentenceEncoder):
    """The real model, counting the texts it actually had to embed."""

    embedded = 0

    def _encode_batch(self, texts: list[str]) -> np.ndarray:
        self.embedded += len(texts)
        return super()._encode_batch(texts)


def test_encode_follows_the_sentence_transformers_contract(embedder: Embedder) -> None:
    vectors = embedder.encode(["VPN drops every ten minutes", "VPNが10分ごとに切れる", ""])
    assert vectors.shape == (3, 512) and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors[:2], axis=1), 1, atol=1e-5)
    assert embedder.encode("one text").shape == (512,)
    assert embedder.encode([]).shape == (0, 512)
    assert embedder.name.startswith("use-ml@") and embedder.dim == 512
    with pytest.raises(TypeError, match="a string or a sequence of strings"):
        embedder.encode([1, 2])


def test_the_multilingual_model_links_japanese_and_english(embedder: Embedder) -> None:
    send_ja, send_en, printer = embedder.encode(
        ["メールが送信できない", "I cannot send email", "The printer is jammed"]
    )
    assert send_ja @ send_en > send_ja @ printer + 0.1


def test_a_text_is_embedded_once_across_runs(tmp_path: Path) -> None:
    path = tmp_path / "cache.sqlite"
    first = CountingUSE(cache=EmbeddingCache(path))
    a = first.encode(["printer jam", "VPN drops", "printer jam"], batch_size=2)
    assert first.embedded == 2  # a repeat within one call is embedded once
    assert np.array_equal(a[0], a[2])
    second = CountingUSE(cache=EmbeddingCache(path))  # a new process: same file
    done: list[int] = []
    b = second.encode(["VPN drops", "printer jam", "new text"], progress=done.append)
    assert second.embedded == 1 and sum(done) == 3
    assert np.array_equal(b[0], a[1]) and np.array_equal(b[1], a[0])
    assert len(EmbeddingCache(path)) == 3


def test_an_unreadable_cache_is_set_aside_not_fatal(tmp_path: Path) -> None:
    path = tmp_path / "cache.sqlite"
    path.write_bytes(b"this is not a database" * 100)
    cache = EmbeddingCache(path)
    assert len(cache) == 0
    assert (tmp_path / "cache.sqlite.corrupt").exists()


def test_an_unknown_model_says_what_is_available() -> None:
    with pytest.raises(
        ModelUnavailable, match=r"(?s)cannot load embedding model 'no-such-model'.*Offline choices: use-ml, minilm"
    ):
        load_embedder("no-such-model")


def test_a_model_whose_package_is_missing_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    def needs_missing_package(**kwargs):
        import incident_kb_no_such_package  # noqa: F401

    monkeypatch.setitem(embed.OFFLINE_MODELS, "missing", (needs_missing_package, "some-model-package"))
    with pytest.raises(ModelUnavailable, match="pip install some-model-package"):
        load_embedder("missing")


@pytest.mark.slow
def test_minilm_from_its_package(tmp_path: Path) -> None:
    minilm = load_embedder("minilm", cache=EmbeddingCache(tmp_path / "c.sqlite"))
    out = minilm.encode(["Outlook keeps asking for my password", "Outlook prompts for credentials", "paper jam"])
    assert out.shape == (3, 384) and minilm.name.startswith("minilm@")
    assert out[0] @ out[1] > out[0] @ out[2]


def test_combined_puts_each_models_unit_vector_side_by_side_and_caches_in_the_parts(encoders, tmp_path: Path) -> None:
    first = CountingUSE(cache=EmbeddingCache(tmp_path / "c.sqlite"))
    combined = embed.Combined([first, encoders.english])
    texts = ["Outlook keeps asking for my password", "プリンターで紙詰まり"]
    out = combined.encode(texts)
    assert out.shape == (2, 512 + 384) and combined.dim == 896
    assert combined.name == f"{first.name}+{encoders.english.name}"
    assert np.allclose(np.linalg.norm(out, axis=1), 1, atol=1e-5)
    # Each model counts alike: its part is its own unit vector, shrunk by the same square root of two.
    assert np.allclose(out[:, :512] * np.sqrt(2), first.encode(texts), atol=1e-5)
    assert np.allclose(out[:, 512:] * np.sqrt(2), encoders.english.encode(texts), atol=1e-5)
    assert first.embedded == 2 and combined.cache is None
    combined.encode(texts[:1])
    assert first.embedded == 2  # the part's own cache answered
