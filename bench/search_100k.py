"""Similar-case search speed on a knowledge base of about 100,000 incidents, embedding of the report included.

The corpus is the 47,837 real CC0 tickets twice (the copies get new ids) plus the 5,431 Endava ticket bodies:
101,105 incidents. Reports are texts the index has never seen (Endava titles in English, demo reports in
Japanese), embedded without the cache as a new report would be. Prints the median and 99th percentile of one
search, and beside them the time of the embedding alone and the ratio of the two.

    .venv/bin/python bench/search_100k.py [--reports 300]

The first run embeds the corpus (about ten minutes on two cores; the embedding cache keeps it for later runs).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import pandas as pd

from cli.common import Run
from pipeline.settings import Settings
from pipeline.text import detect_language
from pipeline.triage.embed import load_embedder
from pipeline.triage.embed_cache import EmbeddingCache
from pipeline.triage.indexing import Encoders

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared" / "datasets"


def corpus() -> list[str]:
    tickets = pd.read_csv(ROOT / "data" / "it_service_tickets_v3.csv.gz")["Document"].astype(str).tolist()
    endava = pd.read_csv(SHARED / "endava_tickets_subset.csv.gz")["body"].dropna().astype(str).tolist()
    return tickets + tickets + endava


def reports(n: int) -> list[str]:
    titles = pd.read_csv(SHARED / "endava_tickets_subset.csv.gz")["title"].dropna().astype(str)
    english = titles[titles.str.split().str.len() >= 3].drop_duplicates().sample(n // 2, random_state=1).tolist()
    demo = [json.loads(line) for line in (ROOT / "data" / "demo_incidents.jsonl").open(encoding="utf-8")]
    japanese = [f"{r['title']}\n{r.get('body', '')}" for r in demo if r.get("language") == "ja"][: n - len(english)]
    return english + japanese


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reports", type=int, default=300)
    args = parser.parse_args()
    s = Settings()
    cache = EmbeddingCache(s.embedding_cache_path)
    build = Encoders(load_embedder(s.embedding_model, cache=cache), load_embedder(s.english_model, cache=cache))
    texts = corpus()
    started = time.perf_counter()
    index = build.index(range(len(texts)), texts, progress=Run(s, "en").progress())
    print(f"indexed {len(index):,} incidents in {time.perf_counter() - started:.0f} s")

    # New reports: embedded without the cache, as in the app.
    fresh = Encoders(load_embedder(s.embedding_model), load_embedder(s.english_model))
    queries = reports(args.reports)
    fresh.query("warm up the models")
    embed_ms, search_ms = [], []
    for text in queries:
        started = time.perf_counter()
        query = fresh.query(text)
        embedded = time.perf_counter()
        index.search(query, s.search_top_k, s.search_weights)
        done = time.perf_counter()
        embed_ms.append((embedded - started) * 1000)
        search_ms.append((done - started) * 1000)
    embed, total = np.array(embed_ms), np.array(search_ms)
    english = np.array([detect_language(text) == "en" for text in queries])
    print(f"{len(queries)} reports ({english.sum()} English) over {len(index):,} incidents")
    print(f"{'':<30}{'median ms':>10}{'p99 ms':>10}{'ratio':>8}")
    for label, rows in [("all", english | ~english), ("English", english), ("Japanese", ~english)]:
        t, e = total[rows], embed[rows]
        print(
            f"{label + ', search with embedding':<30}{np.median(t):>10.1f}{np.percentile(t, 99):>10.1f}"
            f"{np.median(t) / np.median(e):>8.2f}"
        )
        print(f"{label + ', embedding alone':<30}{np.median(e):>10.1f}{np.percentile(e, 99):>10.1f}")
    print("ratio: median search with embedding / median embedding alone. Targets: median < 30 ms, p99 < 100 ms.")


if __name__ == "__main__":
    main()
