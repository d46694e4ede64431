"""Load on `archive serve`: p50/p95 of GET /api/search with 1, 4 and 16 concurrent clients on
loopback, beside the in-process latency of `Archive.search`, and again while an ingest into the
same archive runs in another process.

Run: .venv/bin/python bench/serve_load.py --archive DIR [--ingest DIR] [--requests 200] [--seconds 60]

Every phase is bounded: it stops after --requests requests or --seconds seconds, whichever comes
first. Queries are the judged queries of eval/dev_queries.jsonl, in turn. The server is the real
`archive serve` in a subprocess; clients are threads using plain HTTP/1.1 (urllib), one
connection per request, as a browser tab would mostly do. Nothing is written to RESULTS.md.

With --ingest, the files under that folder are ingested into a temporary copy of the archive
while the server answers from that copy (the archive itself is left as it was).
"""

from __future__ import annotations

import argparse
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from archive import Archive  # noqa: E402
from archive.evaluate import load_queries  # noqa: E402
from bench.results import percentiles  # noqa: E402

QUERIES = ROOT / "eval" / "dev_queries.jsonl"
CLI = [sys.executable, "-c", "from archive.cli import cli; cli()"]


def start_server(archive: Path) -> tuple[subprocess.Popen, str]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    process = subprocess.Popen([*CLI, "serve", "-a", str(archive), "--port", str(port)], cwd=ROOT)
    base = f"http://127.0.0.1:{port}"
    for _ in range(600):
        try:
            urllib.request.urlopen(base + "/healthz", timeout=2)
            return process, base
        except OSError:
            time.sleep(0.2)
    process.kill()
    raise SystemExit("archive serve did not start")


def load(base: str, queries: list[str], clients: int, requests: int, seconds: float,
         until: threading.Event | None = None) -> tuple[list[float], int]:
    """Latencies (ms) of /api/search from `clients` threads; the number of failed requests."""
    latencies: list[float] = []
    failures = 0
    counter = iter(range(requests))
    lock = threading.Lock()
    deadline = time.monotonic() + seconds

    def client() -> None:
        nonlocal failures
        while time.monotonic() < deadline and not (until and until.is_set()):
            with lock:
                n = next(counter, None)
            if n is None:
                return
            url = base + "/api/search?" + urllib.parse.urlencode({"q": queries[n % len(queries)], "k": 10})
            start = time.perf_counter()
            try:
                with urllib.request.urlopen(url, timeout=60) as response:
                    response.read()
                ok = True
            except OSError:
                ok = False
            with lock:
                latencies.append((time.perf_counter() - start) * 1000) if ok else None
                failures += not ok

    threads = [threading.Thread(target=client) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return latencies, failures


def line(label: str, latencies: list[float], failures: int, wall: float | None = None) -> str:
    p = percentiles(latencies)
    rate = f"  {len(latencies) / wall:6.1f} req/s" if wall else ""
    return f"{label:<34} n={len(latencies):4d}  p50 {p['p50']:7.1f} ms  p95 {p['p95']:7.1f} ms  failed {failures}{rate}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--archive", type=Path, required=True)
    parser.add_argument("--ingest", type=Path, help="Folder to ingest (into a copy) during the last phase.")
    parser.add_argument("--requests", type=int, default=200, help="Requests per phase at most.")
    parser.add_argument("--seconds", type=float, default=60.0, help="Seconds per phase at most.")
    args = parser.parse_args()
    queries = [q.text for q in load_queries(QUERIES)]

    with Archive.open(args.archive, create=False) as archive:
        archive.search(queries[0])
        timings = []
        for query in queries[: args.requests]:
            start = time.perf_counter()
            archive.search(query, 10)
            timings.append((time.perf_counter() - start) * 1000)
        counts = archive.store.counts()
    print(f"archive {args.archive}: {counts['documents']} documents, {counts['passages']} passages")
    print(line("in-process Archive.search (k=10)", timings, 0))

    process, base = start_server(args.archive)
    try:
        load(base, queries, 1, 5, args.seconds)  # warm-up
        for clients in (1, 4, 16):
            start = time.monotonic()
            latencies, failures = load(base, queries, clients, args.requests, args.seconds)
            print(line(f"/api/search, {clients:2d} concurrent clients", latencies, failures, time.monotonic() - start))
    finally:
        process.terminate()
        process.wait()
    if not args.ingest:
        return
    with tempfile.TemporaryDirectory() as scratch:
        copy = Path(scratch) / "archive"
        shutil.copytree(args.archive, copy)
        process, base = start_server(copy)
        try:
            ingest = subprocess.Popen([*CLI, "ingest", "-q", "-a", str(copy), str(args.ingest)], cwd=ROOT,
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            done = threading.Event()
            threading.Thread(target=lambda: (ingest.wait(), done.set()), daemon=True).start()
            start = time.monotonic()
            latencies, failures = load(base, queries, 4, args.requests, args.seconds, until=done)
            print(line("/api/search, 4 clients, during ingest", latencies, failures, time.monotonic() - start))
            ingest.terminate() if ingest.poll() is None else None
            ingest.wait()
        finally:
            process.terminate()
            process.wait()


if __name__ == "__main__":
    main()
