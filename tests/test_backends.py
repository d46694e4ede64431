"""One conformance suite over both backends (issue 19): the embedded archive (SQLite + FAISS +
tantivy) and the same archive migrated into a real PostgreSQL + pgvector server.

Queries are made from what the archive stores (each document's kenmerk, Kamerstuk number, type,
date and sender), so the suite checks that both backends answer alike, and answer right, on real
letters. The PostgreSQL side also gets its own writer lock and a SIGKILL during an ingest.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import psycopg
import pytest
from click.testing import CliRunner

from archive import Archive
from archive.cli import cli
from archive.errors import ArchiveLocked, StorageFull, StoreError
from tests.conftest import DEMO, REPO
from tests.postgres_server import PostgresServer

BACKENDS = ("embedded", "postgres")


@pytest.fixture(params=BACKENDS)
def either(request: pytest.FixtureRequest, demo_path: Path) -> Archive:
    """The demo archive on one backend."""
    location = demo_path if request.param == "embedded" else request.getfixturevalue("demo_url")
    with Archive.open(location) as archive:
        yield archive


@pytest.fixture
def both(demo_path: Path, demo_url: str) -> tuple[Archive, Archive]:
    with Archive.open(demo_path) as embedded, Archive.open(demo_url) as postgres:
        yield embedded, postgres


def top_documents(archive: Archive, query: str, k: int = 5, **filters: str) -> list[str]:
    return [hit.document for hit in archive.search(query, k=k, per_doc=True, **filters)]


def test_identifier_searches_find_the_same_document_first(both: tuple[Archive, Archive]) -> None:
    embedded, postgres = both
    asked = 0
    for row in embedded.store.documents():
        queries = [row.kenmerk] if row.kenmerk else []
        if row.dossier and row.ondernummer:
            queries.append(f"Kamerstuk {row.dossier.replace('-', ' ')} nr. {row.ondernummer}")
        for query in queries:
            asked += 1
            first = [top_documents(archive, query)[0] for archive in both]
            assert first == [row.key, row.key], query
    assert asked >= 3


def test_filtered_searches_give_the_same_documents(both: tuple[Archive, Archive]) -> None:
    embedded, postgres = both
    rows = embedded.store.documents()
    filters = [{"doc_type": t} for t in sorted({r.doc_type for r in rows if r.doc_type})]
    filters += [{"date_from": d[:4], "date_to": d[:4]} for d in sorted({r.date for r in rows if r.date})]
    filters += [{"sender": s.split()[-1]} for s in sorted({r.sender for r in rows if r.sender})]
    assert len(filters) >= 4
    for query in ("veiligheid van ambtenaren", "uitstoot van de luchtvaart", "motie verzoekt de regering"):
        for given in filters:
            found = [top_documents(archive, query, k=50, **given) for archive in both]
            allowed = {embedded.store.document(d).key for d in embedded.store.documents_matching(_filter(given))}
            assert set(found[0]) == set(found[1]) == allowed, (query, given)
            assert found[0][0] == found[1][0], (query, given)


def _filter(given: dict[str, str]):  # noqa: ANN202 - the store's DocumentFilter
    from archive.search import Filters

    return Filters(**given)


@pytest.mark.parametrize("mode", ["hybrid", "dense", "lexical"])
def test_free_text_searches_agree(both: tuple[Archive, Archive], mode: str) -> None:
    """Dense: the same vectors, searched exactly at this size. Lexical: the same terms and BM25."""
    for query in ("veiligheid van ambtenaren", "stikstof en landbouw", "digitale middelen Woo-verzoek"):
        found = [top_documents(archive, query, k=3, mode=mode) for archive in both]
        assert found[0][0] == found[1][0] and set(found[0]) == set(found[1]), (mode, query, found)


def test_dense_scores_are_the_same_cosines(both: tuple[Archive, Archive]) -> None:
    hits = [archive.search("onveilige werksfeer op het ministerie", k=10, mode="dense") for archive in both]
    assert [h.passage_id for h in hits[0]] == [h.passage_id for h in hits[1]]
    assert np.allclose([h.scores["dense"] for h in hits[0]], [h.scores["dense"] for h in hits[1]], atol=1e-5)


def test_related_correspondence_is_the_same(both: tuple[Archive, Archive]) -> None:
    embedded, postgres = both
    for row in embedded.store.documents():
        relations = [[(r.kind, r.target, r.reason) for r in archive.related(row.key)] for archive in both]
        assert relations[0] == relations[1], row.key
        threads = [[r.target for r in archive.related(row.key, thread=True)] for archive in both]
        assert threads[0] == threads[1], row.key


def test_similar_letters_read_the_same_lexical_side(both: tuple[Archive, Archive]) -> None:
    """What `similar` asks of the lexical side: `documents_of` maps passages to the same documents,
    and `more_like_this` finds the same documents with the same scores (BM25 in SQL with tantivy's
    length norms)."""
    embedded, postgres = both
    ids = [int(i) for i in embedded.store.passage_ids()]
    assert embedded.indexes.lexical().documents_of(ids) == postgres.indexes.lexical().documents_of(ids)
    assert postgres.indexes.lexical().documents_of([max(ids) + 1]) == {}
    for row in embedded.store.documents():
        texts = [text for _, _, text in embedded.store.passage_rows(embedded.store.passage_ids([row.id])[:16])]
        found = [a.indexes.lexical().more_like_this(texts, terms=30, k=len(ids), skip_doc=row.id) for a in both]
        assert found[0].keys() == found[1].keys() and row.id not in found[1], row.key
        assert all(found[1][doc] == pytest.approx(score, rel=1e-5) for doc, score in found[0].items()), row.key


def test_show_and_resolve_agree(both: tuple[Archive, Archive]) -> None:
    embedded, postgres = both
    for row in embedded.store.documents():
        assert embedded.show(row.key) == postgres.show(row.key)
        assert embedded.resolve(row.path) == postgres.resolve(row.path)


def test_check_is_clean(either: Archive) -> None:
    report = either.check()
    assert report.ok, report.problems
    assert report.counts["passages"] > 0 and report.counts["vectors"] > 0


def test_migrate_round_trip_keeps_every_vector(demo_path: Path, demo_url: str) -> None:
    with Archive.open(demo_path) as embedded, Archive.open(demo_url) as postgres:
        model = embedded.store.model()
        assert postgres.store.model() == model
        ids, vectors = embedded.store.passage_vectors(model[0])
        copied_ids, copied = postgres.store.passage_vectors(model[0])
        assert np.array_equal(ids, copied_ids) and np.array_equal(vectors, copied)
        assert embedded.store.counts() == postgres.store.counts()
        assert [d.key for d in embedded.store.documents()] == [d.key for d in postgres.store.documents()]


def test_migrate_refuses_a_database_that_holds_an_archive(demo_path: Path, demo_url: str) -> None:
    with Archive.open(demo_path) as embedded, pytest.raises(StoreError, match="already holds an archive"):
        embedded.migrate(demo_url)


def test_cli_migrate_and_check_with_backend(demo_path: Path, postgres: PostgresServer, tmp_path: Path) -> None:
    url = postgres.create("cli_copy")
    result = CliRunner().invoke(cli, ["migrate", "-a", str(demo_path), "--to", url], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "verified: ok" in result.stdout
    result = CliRunner().invoke(cli, ["check", "--backend", url], catch_exceptions=False)
    assert result.exit_code == 0 and result.stdout.strip().endswith("ok"), result.output
    search = ["search", "veiligheid van ambtenaren", "-k", "3", "--json"]
    from_env = CliRunner(env={"ARCHIVE_BACKEND": url}).invoke(cli, search, catch_exceptions=False)
    embedded = CliRunner().invoke(cli, [*search, "-a", str(demo_path)], catch_exceptions=False)
    assert from_env.exit_code == embedded.exit_code == 0
    documents = [[hit["document"] for hit in json.loads(r.stdout)["hits"]] for r in (from_env, embedded)]
    assert documents[0] == documents[1] and len(documents[0]) == 3


def test_an_unreachable_database_is_a_clear_error(tmp_path: Path) -> None:
    url = f"postgresql://nobody@/archive?host={tmp_path}"
    result = CliRunner().invoke(cli, ["search", "x", "--backend", url])
    assert result.exit_code == 1 and "cannot open the archive database" in result.stderr


def test_one_writer_at_a_time(either: Archive) -> None:
    with either.store.writer_lock():
        with Archive.open(either.store.location) as other:
            with pytest.raises(ArchiveLocked):
                other.remove(["geen-document"])


# --- SIGKILL during an ingest into PostgreSQL ------------------------------------------------------

SEED = 20261130
COPIES = 4
"""Copies of the demo's text letters ingested in the killed runs: their passages' vectors are already
in the database, so nothing is embedded (no model load), and 4 × 7 commits give the kill a window."""


def _generation(url: str) -> int:
    with psycopg.connect(url, autocommit=True) as db:
        return int(db.execute("SELECT value FROM meta WHERE key = 'generation'").fetchone()[0])


def test_sigkill_during_ingest_leaves_postgres_consistent(demo_path: Path, postgres: PostgresServer, tmp_path: Path) -> None:
    url = postgres.create("crash")
    with Archive.open(demo_path) as source:
        assert source.migrate(url).ok
        seeded = len(source.store.documents())
    letters = tmp_path / "letters"
    for n in range(COPIES):  # text letters only: PDFs (one needs OCR) would make each run slow to start
        (letters / f"copy{n}").mkdir(parents=True)
        for source in DEMO.glob("*.txt"):
            shutil.copy(source, letters / f"copy{n}" / source.name)
    rng = random.Random(SEED)
    kills = 0
    for _ in range(3):
        started, before = time.perf_counter(), _generation(url)
        proc = subprocess.Popen(
            [sys.executable, "-c", "from archive.cli import cli; cli()", "ingest", str(letters), "--backend", url, "-q"],
            cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        target = before + rng.randint(1, COPIES * len(list(DEMO.glob('*.txt'))) - 1)
        while proc.poll() is None and _generation(url) < target:
            time.sleep(0.005)
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
            kills += 1
        proc.wait()
        print(f"ingest killed after {time.perf_counter() - started:.1f} s, {_generation(url) - before} commits")
        with Archive.open(url) as archive:
            assert archive.check().ok, archive.check().problems
            _every_document_whole(archive)
    assert kills >= 1
    with Archive.open(url) as archive:  # the lock died with the killed writer: a new run finishes the set
        report = archive.ingest([letters])
        assert report.ok, report.failed
        assert archive.check().ok
        assert len(archive.store.documents()) == seeded + len(list(letters.rglob("*.*")))
        _every_document_whole(archive)


def _every_document_whole(archive: Archive) -> None:
    """Each stored document has the passages a full ingest gives its text, each with a vector, and
    a lexical search for its own first passage finds it."""
    store = archive.store
    by_text: dict[str, int] = {}
    for row in store.documents():
        ids = store.passage_ids([row.id])
        assert len(ids), row.path
        passages = store.passages(ids.tolist())
        text = store.document_text(row.id)
        assert all(text[p.char_start : p.char_end] == p.text for p in passages.values())
        count = by_text.setdefault(Path(row.path).name, len(ids))
        assert count == len(ids), row.path
        first = passages[int(ids.min())].text
        assert row.id in {passages_doc for passages_doc in _lexical_docs(archive, first)}, row.path


def _lexical_docs(archive: Archive, text: str) -> set[int]:
    hits = archive.indexes.lexical().search(text[:300], 200)
    return {p.doc for p in archive.store.passages([pid for pid, _ in hits]).values()}


def test_the_web_app_serves_both_backends_alike(both: tuple[Archive, Archive]) -> None:
    """`archive serve` wraps one Archive; its API and pages answer the same from either backend."""
    from starlette.testclient import TestClient

    from archive.web.app import create_app

    embedded, postgres = both
    key = embedded.store.documents()[0].key
    answers = []
    for archive in both:
        client = TestClient(create_app(archive))
        search = client.get("/api/search", params={"q": "uitstoot van de luchtvaart", "type": "Kamerbrief"})
        related = client.get(f"/api/documents/{key}/related")
        page = client.get("/", params={"q": "veiligheid van ambtenaren"})
        assert search.status_code == related.status_code == page.status_code == 200
        answers.append((
            [hit["document"] for hit in search.json()["hits"]],
            [(r["kind"], r["target"]) for r in related.json()["relations"]],
            client.get("/healthz").json(),
        ))
    assert answers[0] == answers[1] and answers[0][0]


def test_threads_share_a_postgres_archive(demo_url: str) -> None:
    """A server's request threads share one Archive: each thread gets its own connection."""
    from concurrent.futures import ThreadPoolExecutor

    calls = [("search", "veiligheid van ambtenaren"), ("search", "uitstoot luchtvaart"), ("related", None)] * 10
    with Archive.open(demo_url) as archive:
        key = archive.store.documents()[0].key

        def call(item: tuple[str, str | None]) -> list[str]:
            kind, query = item
            if kind == "search":
                return [f"{h.document}:{h.passage_id}" for h in archive.search(query, k=5)]
            return [r.target for r in archive.related(key)]

        serial = [call(item) for item in calls]
        with ThreadPoolExecutor(8) as pool:
            assert list(pool.map(call, calls)) == serial


def test_a_long_lived_postgres_archive_sees_a_later_ingest(demo_path: Path, postgres: PostgresServer, tmp_path: Path) -> None:
    url = postgres.create("later")
    with Archive.open(demo_path) as source:
        assert source.migrate(url).ok
    (tmp_path / "later").mkdir()
    shutil.copy(DEMO / "brief-financien-2022-04-13.txt", tmp_path / "later" / "later-letter.txt")
    with Archive.open(url) as reader:
        before = reader.refresh()
        with Archive.open(url) as writer:
            assert writer.ingest([tmp_path / "later"]).ok
        assert reader.refresh() == before + 1
        assert reader.resolve("later-letter").key == "later-letter"
        assert "later-letter" in top_documents(reader, "brief van Financiën", k=20)


def test_a_full_disk_on_the_server_ends_ingest_with_a_clear_error(postgres: PostgresServer, tmp_path: Path) -> None:
    """The database's files on a real 24 MiB tmpfs (a tablespace; the server's WAL stays on its own
    disk): when it fills up part-way through an ingest, PostgreSQL's disk-full error (SQLSTATE
    53100) ends the run as StorageFull, as a full disk does for the embedded archive, and the
    documents committed before it stay whole."""
    disk = postgres.root / "small-disk"
    disk.mkdir()
    made = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=24m", "tmpfs", str(disk)], capture_output=True)
    if made.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here: {made.stderr.decode().strip()}")
    try:
        if postgres.user:
            import pwd

            entry = pwd.getpwnam(postgres.user)
            os.chown(disk, entry.pw_uid, entry.pw_gid)
        with psycopg.connect(postgres.url(), autocommit=True) as db:
            db.execute(f"CREATE TABLESPACE small LOCATION '{disk}'")
            db.execute('CREATE DATABASE "full" TABLESPACE small')
        url = postgres.url("full")
        first, copies = tmp_path / "first", tmp_path / "copies"
        first.mkdir()
        copies.mkdir()
        letter = DEMO / "brief-financien-2022-04-13.txt"
        shutil.copyfile(letter, first / letter.name)
        for n in range(60):  # copies of the stored letter: its vectors are known, so no embedding
            shutil.copyfile(letter, copies / f"kopie-{n:02}.txt")
        with Archive.open(url, create=True) as archive:
            assert archive.ingest([first]).ok
            filler = disk / "filler"
            filler.write_bytes(bytes(max(shutil.disk_usage(disk).free - (1 << 20), 0)))  # leave 1 MiB
            with pytest.raises(StorageFull, match="the disk is full") as raised:
                archive.ingest([copies])
            assert getattr(raised.value.__cause__, "sqlstate", None) == "53100", raised.value.__cause__
            filler.unlink()
            stored = [d for d in archive.store.documents() if d.path.startswith(str(copies))]
            assert 0 < len(stored) < 60, "the disk did not fill up part-way through the run"
            _every_document_whole(archive)
            assert archive.check().ok
        with psycopg.connect(postgres.url(), autocommit=True) as db:
            db.execute('DROP DATABASE "full"')
            db.execute("DROP TABLESPACE small")
    finally:
        subprocess.run(["umount", "-l", str(disk)], check=False)
