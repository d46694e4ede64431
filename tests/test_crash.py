"""Issue 6: `archive ingest` killed with SIGKILL at seeded random moments leaves a sound archive.

After every kill the store opens, `check` is clean once `Archive.open` has repaired the derived
indexes, and every document is either fully searchable (all its passages in the store, in FAISS
and in the lexical index, found by a lexical search for a phrase of its own) or absent; a final
re-run completes the set.

How a moment is chosen: each kill names a phase and waits for that phase's mark in the running
process, then a seeded random delay: time since start (imports, store, discovery), extraction
extraction workers alive (its `indexer.extract_worker` children), libtorch mapped (model load), the model's
`model.safetensors` mapped (weights in, passages being embedded), the store's generation between
its value before the run and after all commits (one transaction per document), all commits done
(index writing). The process is stopped (SIGSTOP) so the phase it is really in can be read, then
SIGKILLed; a kill that lands later than its phase is retried with shorter delays.

Cost: a run that embeds loads torch and the model, which takes most of a minute on two busy cores.
So the archive starts as a copy of one seeded in-process (once per session, shared with the other
issue-6 tests), the cheap kills ingest fresh copies of the seeded letters (their passages' vectors
are known, so nothing is embedded and torch is never loaded), and only the last kills, on a new
motie, go through model load and embedding; the final re-run, in-process, embeds it.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from archive import Archive
from tests.conftest import CORPUS, DEMO, REPO

SEED = 20260606
MOTIES = CORPUS / "text" / "moties"
AANHANGSELS = CORPUS / "pdf" / "aanhangsel_kamervragen"
ORIGINALS = [
    DEMO / "brief-financien-2022-04-13.txt",
    MOTIES / "009bc14a-e7cf-4f5d-a07d-f1e760bb646e.txt",
    MOTIES / "00c5c4d7-c14f-496b-816a-3800c4a0261c.txt",
    MOTIES / "018ada83-99bc-4f46-835c-efd0012ee782.txt",
    AANHANGSELS / "01bf9f06-42d0-48a6-a85f-12c9c8e14c57.pdf",
]
NEW_MOTIES = [
    MOTIES / "01e35538-bb53-4a57-bdcd-5f73141d5936.txt",
    MOTIES / "03088a77-5134-490a-a356-5a0661be6073.txt",
    MOTIES / "04e4c5eb-e158-4399-a7bf-7b2f8cd779bb.txt",
    MOTIES / "0503354c-0750-4279-87ea-404ade55d601.txt",
    MOTIES / "066589e0-ff32-4008-be95-5cc3de789cf8.txt",
    MOTIES / "0751ced3-a605-46d8-afe8-452ac638adaf.txt",
]
"""Letters not in the seed: only they make a run load the model and embed."""

CHEAP_PHASES = ["startup", "extraction", "commits", "index writing"] * 2
MODEL_PHASES = ["model load", "embedding"]
PHASE_ORDER = ["startup", "extraction", "after extraction", "model load", "embedding", "commits",
               "index writing", "after index writing"]
ATTEMPTS = 3
"""Tries per phase; each retry halves the random delay (a fast machine leaves a phase sooner)."""


def archive_command(*args: str) -> list[str]:
    script = Path(sys.executable).with_name("archive")
    if script.exists():
        return [str(script), *args]
    return [sys.executable, "-c", "from archive.cli import cli; cli()", *args]


def ingest_later_letter(folder: Path, archive_dir: Path) -> None:
    """Ingest, in another process, one new letter (key "stoombrug") that nothing in the test
    archives mentions: how tests show that a reader opened before sees it afterwards."""
    folder.mkdir()
    (folder / "stoombrug.txt").write_text(
        "Datum 3 maart 2023\nBetreft Stoombrug\n\nGeachte voorzitter,\n\n"
        "De stoombrug bij de sluis van Kornwerderzand wordt in 2024 vervangen.\n",
        encoding="utf-8",
    )
    result = subprocess.run(archive_command("ingest", str(folder), "-a", str(archive_dir), "-q"),
                            capture_output=True, timeout=600)
    assert result.returncode == 0, result.stderr


def start_ingest(folder: Path, archive_dir: Path, *extra: str) -> subprocess.Popen:
    log = open(archive_dir.parent / "ingest-stderr.log", "ab")  # noqa: SIM115 - closed by the child's exit
    return subprocess.Popen(
        archive_command("ingest", str(folder), "-a", str(archive_dir), "-q", *extra),
        cwd=REPO, stdout=subprocess.DEVNULL, stderr=log,
    )


# --- watching a running ingest -----------------------------------------------------------------


def children(pid: int) -> list[int]:
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            found += [int(c) for c in (task / "children").read_text().split()]
        except OSError:
            pass
    return found


def descendants(pid: int) -> list[int]:
    found, todo = [], [pid]
    while todo:
        kids = children(todo.pop())
        found += kids
        todo += kids
    return found


def alive(pid: int) -> bool:
    """Running or sleeping (a zombie waiting for a reaper counts as gone)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state not in ("Z", "X")


def mapped(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/maps").read_text()
    except OSError:
        return ""


def workers_alive(pid: int) -> bool:
    """Extraction workers are the ingest's children running `indexer.extract_worker`."""
    return any(b"indexer.extract_worker" in _cmdline(child) for child in children(pid))


def _cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


class Generation:
    """The store's generation as a second process sees it (None before the store exists)."""

    def __init__(self, archive_dir: Path):
        self.path = archive_dir / "archive.sqlite"
        self.db: sqlite3.Connection | None = None

    def __call__(self) -> int | None:
        if self.db is None:
            if not self.path.exists():
                return None
            self.db = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True, timeout=10)
        try:
            row = self.db.execute("SELECT value FROM meta WHERE key = 'generation'").fetchone()
        except sqlite3.Error:
            return None
        return None if row is None else int(row[0])

    def close(self) -> None:
        if self.db is not None:
            self.db.close()
            self.db = None


def stamp_generation(archive_dir: Path, index: str) -> int | None:
    try:
        return json.loads((archive_dir / index / "stamp.json").read_text(encoding="utf-8")).get("generation")
    except (OSError, ValueError):
        return None


def wait_for(condition: Callable[[], bool], proc: subprocess.Popen, pause: float) -> bool:
    """Poll until `condition` holds (True) or the process has exited (False)."""
    while proc.poll() is None:
        if condition():
            return True
        time.sleep(pause)
    return False


def phase_now(proc: subprocess.Popen, archive_dir: Path, gen: Generation, before: int, commits: int,
              saw_workers: bool) -> str:
    """The phase a stopped ingest is in, read from the store, the index stamps and its mappings."""
    now = gen()
    if now is None or now == before:
        maps = mapped(proc.pid)
        if "model.safetensors" in maps:
            return "embedding"
        if "libtorch" in maps:
            return "model load"
        if workers_alive(proc.pid):
            return "extraction"
        return "after extraction" if saw_workers else "startup"
    if now < before + commits:
        return "commits"
    if stamp_generation(archive_dir, "vectors") != now or stamp_generation(archive_dir, "lexical") != now:
        return "index writing"
    return "after index writing"


def kill_in_phase(proc: subprocess.Popen, archive_dir: Path, target: str, rng: random.Random,
                  scale: float, before: int, commits: int, notes: dict | None = None) -> str:
    """Wait for `target`'s mark plus a random delay, stop the process, read its phase, SIGKILL it.

    Returns the phase it was killed in, or "finished" when it exited first; `notes` gets whether
    torch was loaded and how long its orphans took to go.
    """
    gen = Generation(archive_dir)
    started = time.monotonic()
    saw = {"workers": False}

    def workers() -> bool:
        saw["workers"] = saw["workers"] or workers_alive(proc.pid)
        return saw["workers"]

    try:
        if target == "startup":
            delay = rng.uniform(0.1, 1.2) * scale
            reached = wait_for(lambda: time.monotonic() - started >= delay, proc, 0.01)
        elif target == "extraction":
            reached = wait_for(workers, proc, 0.005)
            time.sleep(rng.uniform(0.0, 0.3) * scale)
        elif target == "model load":
            reached = wait_for(lambda: workers() and "libtorch" in mapped(proc.pid), proc, 0.05)
            time.sleep(rng.uniform(0.0, 3.0) * scale)
        elif target == "embedding":
            reached = wait_for(lambda: workers() and "model.safetensors" in mapped(proc.pid), proc, 0.05)
            time.sleep(rng.uniform(0.5, 3.0) * scale)
        elif target == "commits":
            stop_at = before + rng.randint(1, max(1, commits - 1))
            reached = wait_for(lambda: (gen() or 0) >= stop_at, proc, 0.0005)
        elif target == "index writing":
            reached = wait_for(lambda: (gen() or 0) >= before + commits, proc, 0.0005)
            time.sleep(rng.uniform(0.0, 0.02) * scale)  # the indexes of a few letters are written in tens of ms
        else:
            raise ValueError(target)
        if not reached and proc.poll() is not None:
            return "finished"
        workers()
        try:
            os.kill(proc.pid, signal.SIGSTOP)
        except ProcessLookupError:
            return "finished"
        phase = phase_now(proc, archive_dir, gen, before, commits, saw["workers"])
        family = descendants(proc.pid)
        if notes is not None:
            notes["torch"] = "libtorch" in mapped(proc.pid)
        os.kill(proc.pid, signal.SIGKILL)
        code = proc.wait()
        reaping = time.monotonic()
        reap(family)
        if notes is not None:
            notes["reap_s"] = round(time.monotonic() - reaping, 1)
        return phase if code == -signal.SIGKILL else "finished"
    finally:
        gen.close()


def reap(pids: list[int], grace: float = 30.0) -> None:
    """Give the killed ingest's orphans (extraction workers, tesseract) time to notice, then end them."""
    deadline = time.monotonic() + grace
    while any(alive(p) for p in pids) and time.monotonic() < deadline:
        time.sleep(0.1)
    for pid in pids:
        if alive(pid):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


# --- what must hold after every kill -------------------------------------------------------------


def stored_state(archive_dir: Path, may_hold: set[str]) -> dict[str, tuple[str, list[str]]]:
    """Open (repairing), check, and prove each stored document fully searchable; return
    path → (document text, passage texts) for comparison with the final state."""
    with Archive.open(archive_dir, repair=False) as raw:
        assert raw.store.integrity() == [], "the store itself is damaged"
    with Archive.open(archive_dir) as archive:
        report = archive.check()
        assert report.ok, report.problems
        store = archive.store
        documents = store.documents()
        assert {d.path for d in documents} <= may_hold, "a document from nowhere"
        passage_ids = set(store.passage_ids().tolist())
        assert set(archive.indexes.vectors().ids().tolist()) == passage_ids
        assert len(archive.indexes.lexical()) == len(passage_ids)
        state, by_text, by_passage = {}, {}, {}
        for doc in documents:
            rows = store.passages(store.passage_ids([doc.id]).tolist())
            assert rows, f"{doc.path} is stored without passages"
            for pid, row in rows.items():
                by_passage.setdefault(row.text, {})[pid] = doc.id
            text = store.document_text(doc.id)
            state[doc.path] = (text, [rows[p].text for p in sorted(rows)])
            by_text.setdefault(text, (max((r.text for r in rows.values()), key=len), set()))[1].add(doc.key)
        lexical = archive.indexes.lexical()
        for text, owners in by_passage.items():  # identical passages (copies): one search finds them all
            found = {p for p, _ in lexical.search(text, 10 * len(owners) + 50, allowed_docs=set(owners.values()))}
            assert set(owners) <= found, f"passages {sorted(set(owners) - found)} are not in the lexical index"
        for phrase_source, keys in by_text.values():  # and each document is found by a phrase of its own
            phrase = " ".join(phrase_source.split()[3:15])
            found = {h.document for h in archive.search(phrase, k=1000, mode="lexical")}
            assert keys <= found, f"{sorted(keys - found)} not found by their own phrase {phrase!r}"
        return state


# --- the tests -------------------------------------------------------------------------------------


def seeded_archive(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """ORIGINALS (in `<dir>/letters`) ingested in-process with the real model into `<dir>/idx`,
    once per test session and shared by the crash, concurrency and bad-input tests, which copy
    `idx` before writing to it. Kept under the session's base temp directory, not in a module
    global: pytest imports this file as `test_crash`, the other tests as `tests.test_crash`."""
    root = tmp_path_factory.getbasetemp() / "issue6-seeded"
    if not (root / "ready").exists():
        shutil.rmtree(root, ignore_errors=True)
        (root / "letters").mkdir(parents=True)
        for source in ORIGINALS:
            shutil.copyfile(source, root / "letters" / source.name)
        with Archive.open(root / "idx", create=True) as archive:
            report = archive.ingest([root / "letters"])
        assert report.ok, report.failed
        (root / "ready").write_text("ok\n")
    return root / "idx"


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    letters = tmp_path / "letters"
    letters.mkdir()
    for source in ORIGINALS:
        shutil.copyfile(source, letters / source.name)
    return letters


def test_sigkill_at_random_moments_leaves_every_document_whole_or_absent(
    tmp_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    rng = random.Random(SEED)
    seeded = seeded_archive(tmp_path_factory)
    archive_dir = tmp_path / "idx"
    shutil.copytree(seeded, archive_dir)
    seed_files = sorted((seeded.parent / "letters").iterdir())
    folder = tmp_path / "letters"  # what the killed runs ingest: copies of the seed, new moties
    folder.mkdir()
    spare = list(NEW_MOTIES)
    plan = list(CHEAP_PHASES)
    rng.shuffle(plan)
    plan += MODEL_PHASES
    ever_present: set[str] = {str(p) for p in seed_files}
    snapshots: list[dict[str, tuple[str, list[str]]]] = []
    kills: list[tuple[str, str, float]] = []
    copy_round = 0

    for target in plan:
        scale = 1.0
        for _ in range(ATTEMPTS):
            copy_round += 1
            new = [
                shutil.copyfile(source, folder / f"copy{copy_round:02d}-{n}-{source.name}")
                for n, source in enumerate(rng.sample(seed_files * 2, k=8 if target == "commits" else 4))
            ]
            extra: list[str] = []
            if target in MODEL_PHASES:
                motie = spare.pop(0)
                new.append(shutil.copyfile(motie, folder / motie.name))
            copies = sorted(folder.glob("copy*"))
            if target in ("commits", "index writing") and rng.random() < 0.5 and len(copies) > len(new) + 1:
                (gone := copies[rng.randrange(len(copies) - len(new))]).unlink()
                extra = ["--prune"]
            ever_present |= {str(p) for p in new}
            with Archive.open(archive_dir) as archive:
                before = archive.store.generation
                stored = {d.path for d in archive.store.documents() if Path(d.path).parent == folder}
            on_disk = {str(p) for p in folder.iterdir()}
            commits = len(on_disk - stored) + len(stored - on_disk)
            started = time.monotonic()
            proc = start_ingest(folder, archive_dir, *extra)
            notes: dict = {}
            phase = kill_in_phase(proc, archive_dir, target, rng, scale, before, commits, notes)
            if phase != "finished":
                kills.append((target, phase, round(time.monotonic() - started, 1)))
                print(f"kill {len(kills)}: {target} → {phase} after {kills[-1][2]} s; "
                      f"{commits} commits pending; {notes}", flush=True)
            snapshots.append(stored_state(archive_dir, ever_present))
            if extra and phase in ("commits", "index writing", "after index writing"):
                assert str(gone) not in snapshots[-1], "pruning comes before any new document"
            if phase == target:
                break
            scale /= 2
        else:
            pytest.fail(f"no kill landed in phase {target!r} in {ATTEMPTS} tries: {kills}")

    with Archive.open(archive_dir) as archive:  # the re-run after the last crash, in-process: torch is loaded here
        final = archive.ingest([folder], prune=True)
    assert final.ok, final.failed
    done = stored_state(archive_dir, ever_present)
    assert set(done) == {str(p) for p in [*folder.iterdir(), *seed_files]}, "the re-run did not complete the set"
    for snapshot in snapshots:
        for path, content in snapshot.items():
            if path in done:
                assert content == done[path], f"{path} was stored incompletely or differently before a kill"

    again = subprocess.run(archive_command("ingest", str(folder), "-a", str(archive_dir), "-q", "--json"),
                           cwd=REPO, capture_output=True, text=True, timeout=600)
    assert again.returncode == 0, again.stderr
    report = json.loads(again.stdout)["report"]
    assert report["added"] == [] and report["failed"] == [] and report["embedded"] == 0
    assert len(report["skipped"]) == len(done) - len(seed_files)
    check = subprocess.run(archive_command("check", "-a", str(archive_dir)), cwd=REPO, capture_output=True, text=True)
    assert check.returncode == 0 and check.stdout.strip().endswith("ok"), check.stdout + check.stderr

    landed = {phase for _, phase, _ in kills}
    print(f"\n{len(kills)} kills: " + ", ".join(f"{t}→{p} ({s} s)" for t, p, s in kills))
    assert len(kills) >= 10
    assert {"startup", "extraction", "model load", "embedding", "commits", "index writing"} <= landed


def test_a_kill_during_the_first_ingest_leaves_an_empty_archive_that_checks_clean(tmp_path: Path, folder: Path) -> None:
    """The first ingest into a new directory, killed while extracting: the store exists (with the
    model recorded) but holds no documents and no index was ever written. Opening it must repair
    that like any other crash, so `check` is clean and a search answers (with nothing)."""
    archive_dir = tmp_path / "idx"
    proc = start_ingest(folder, archive_dir)
    phase = kill_in_phase(proc, archive_dir, "extraction", random.Random(SEED), 1.0, 0, len(ORIGINALS))
    assert phase in ("extraction", "after extraction", "model load")
    with Archive.open(archive_dir) as archive:
        assert archive.store.counts()["documents"] == 0
        problems = archive.check().problems
        hits = None
        try:
            hits = archive.search("spoorwegovergangen", k=5)
        except FileNotFoundError as error:
            hits = f"FileNotFoundError: {error}"
    cli = subprocess.run(archive_command("search", "spoorwegovergangen", "-a", str(archive_dir)),
                         cwd=REPO, capture_output=True, text=True)
    assert problems == [] and hits == [] and cli.returncode == 0, (
        f"after a crash in the first ingest: check problems {problems}; search → {hits!r}; "
        f"CLI search exit {cli.returncode}: {cli.stderr.strip().splitlines()[-1:]}"
    )
