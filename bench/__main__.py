"""``python -m bench`` runs every benchmark; ``python -m bench export`` (or ``overview``, ``import_expenses``, ``http``)
runs one.

Each benchmark prints its time as a ratio against a baseline measured in the same run. Row counts:
``BENCH_ROWS`` (ledger rows, default 1,000,000), ``BENCH_EXPENSES`` (default 1,000,000); backends:
``BENCH_BACKENDS=sqlite,postgresql``. ``http`` (the app under gunicorn on PostgreSQL): ``BENCH_HTTP_SECONDS``
per scenario (20), ``BENCH_HTTP_CLIENTS`` (16), ``BENCH_HTTP_PG_URL``.
"""
from __future__ import annotations

import importlib
import logging
import sys

BENCHMARKS = ("import_expenses", "export", "overview", "queue", "http")
MODULES = {"http": "http_load"}  # not bench.http: that name would shadow the standard library's http


def main(argv: list[str]) -> None:
    logging.disable(logging.INFO)
    names = argv or list(BENCHMARKS)
    unknown = [n for n in names if n not in BENCHMARKS]
    if unknown:
        raise SystemExit(f"unknown benchmark {unknown}; known: {', '.join(BENCHMARKS)}")
    summary = []
    for name in names:
        print(f"== {name}", flush=True)
        summary += importlib.import_module(f"bench.{MODULES.get(name, name)}").main()
    print("\n== summary")
    for line in summary:
        print(line)


if __name__ == "__main__":
    main(sys.argv[1:])
