"""Issue 6: bad files cost one reported failure each, never the run or the documents stored before.

A folder of hostile inputs (encrypted, truncated, empty and junk files, a cp1252 letter, a file over
the size limit, a scan whose OCR runs past the time limit, symlink loops) is ingested into an
archive that already holds letters: each bad file is reported by name with its reason, the CLI
exits 1, the good files beside them are ingested, and what the archive answered before does not
change. Nothing is mocked: the slow file really is OCR'd by Tesseract until the time limit stops it.

Decided here: a text file over `indexer.extract.MAX_FILE_BYTES` (200 MiB) is refused ("file too
large (201 MiB > 200 MiB)"), not ingested; a FIFO named .pdf is never opened but must be reported;
the folder-without-permission test is skipped as root, who can read it anyway.
"""

from __future__ import annotations

import json
import os
import random
import shutil
from pathlib import Path

import pypdfium2 as pdfium
import pytest
from click.testing import CliRunner

from archive import Archive, BadQuery
from archive.cli import cli
from archive.search import MAX_K, MODES
from indexer.extract import MAX_FILE_BYTES
from tests.conftest import CORPUS, DEMO
from tests.test_crash import seeded_archive

MOTIES = CORPUS / "text" / "moties"
AANHANGSELS = CORPUS / "pdf" / "aanhangsel_kamervragen"
PDF = AANHANGSELS / "01bf9f06-42d0-48a6-a85f-12c9c8e14c57.pdf"
GOOD_PDF = AANHANGSELS / "1aa9bd01-68a1-4a4a-a808-5b0183bc217a.pdf"
GOOD_MOTIE = MOTIES / "0763ccf5-3350-42b6-906d-5819fc93677a.txt"
"""New letters beside the bad files (not in the seeded archive)."""
TIMEOUT = 10.0
"""Seconds one file may take to extract: room for a worker to start on a busy machine, far below
what the twelve scanned pages take to OCR."""
QUERIES = ["werksfeer op het ministerie", "veiligheid van ambtenaren", "motie spoor overwegen", "2022-0000088502"]

CP1252_LETTER = """Ministerie van Financiën
Directie Begrotingszaken

Aan de Voorzitter van de Tweede Kamer der Staten-Generaal
Postbus 20018
2500 EA  's-Gravenhage

Datum 3 maart 2023
Betreft Coördinatie van de inkoop

Geachte voorzitter,

Hierbij informeer ik u over de coördinatie van de inkoop tussen de ministeries. Het ministerie
van Financiën neemt daarin het voortouw en reserveert € 2,5 miljoen voor één gezamenlijk
inkoopbureau in ’s-Gravenhage. De reünie van inkopers in het café naast het ministerie is
niet uit deze begroting betaald.

Ik vertrouw erop u hiermee voldoende te hebben geïnformeerd.

De minister van Financiën,
"""


def invoke(*args: str):  # noqa: ANN201 - click's Result
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def results(archive: Archive) -> dict[tuple[str, str], list[tuple[str, int, float]]]:
    """Every query's full ranking in every mode: (document, passage id, score)."""
    return {
        (query, mode): [(h.document, h.passage_id, h.score) for h in archive.search(query, k=MAX_K, mode=mode)]
        for query in QUERIES
        for mode in MODES
    }


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An archive already holding letters: a copy of the session's seeded archive (the Financiën
    letter, three moties, an Aanhangsel PDF)."""
    path = tmp_path_factory.mktemp("archive") / "idx"
    shutil.copytree(seeded_archive(tmp_path_factory), path)
    return path


def make_bad_folder(folder: Path) -> dict[str, str]:
    """Write the hostile files; return file name → a phrase its failure reason must contain."""
    from pypdf import PdfReader, PdfWriter

    folder.mkdir()
    writer = PdfWriter(clone_from=PdfReader(PDF))
    writer.encrypt(user_password="geheim", owner_password="eigenaar", algorithm="RC4-128")
    with open(folder / "versleuteld.pdf", "wb") as handle:
        writer.write(handle)
    data = PDF.read_bytes()
    (folder / "afgebroken.pdf").write_bytes(data[: len(data) // 2])
    (folder / "leeg.pdf").write_bytes(b"")
    junk = random.Random(6).randbytes(40_000)
    (folder / "rommel.pdf").write_bytes(junk)
    (folder / "rommel.txt").write_bytes(junk)
    letter = (DEMO / "brief-financien-2022-04-13.txt").read_bytes()
    with open(folder / "enorm.txt", "wb") as handle:
        for _ in range(MAX_FILE_BYTES // len(letter) + 2):
            handle.write(letter)
    page = pdfium.PdfDocument(PDF)[0].render(scale=100 / 72, grayscale=True).to_pil()
    page.save(folder / "scan-zonder-tekstlaag.pdf", save_all=True, append_images=[page] * 11, resolution=100)
    (folder / "lus.pdf").symlink_to("lus.pdf")
    (folder / "heen.txt").symlink_to("terug.txt")
    (folder / "terug.txt").symlink_to("heen.txt")
    (folder / "submap").mkdir()
    (folder / "submap" / "terug").symlink_to("..", target_is_directory=True)
    return {
        "versleuteld.pdf": "encrypted",
        "afgebroken.pdf": "damaged",
        "leeg.pdf": "empty",
        "rommel.pdf": "not a PDF",
        "rommel.txt": "binary",
        "enorm.txt": "too large",
        "scan-zonder-tekstlaag.pdf": f"longer than {TIMEOUT:.0f} s",
        "lus.pdf": "symlink loop",
        "heen.txt": "symlink loop",
        "terug.txt": "symlink loop",
    }


def test_bad_files_are_reported_and_nothing_else_changes(base: Path, tmp_path: Path) -> None:
    folder = tmp_path / "post"
    bad = make_bad_folder(folder)
    (folder / "brief-cp1252.txt").write_bytes(CP1252_LETTER.encode("cp1252"))
    good = ["brief-cp1252.txt", GOOD_MOTIE.name, GOOD_PDF.name]
    shutil.copyfile(GOOD_MOTIE, folder / GOOD_MOTIE.name)
    shutil.copyfile(GOOD_PDF, folder / GOOD_PDF.name)

    with Archive.open(base) as archive:
        before = results(archive)
        old_docs = {d.key for d in archive.store.documents()}

    run = invoke("ingest", str(folder), "-a", str(base), "--json", "-q", "--timeout", str(TIMEOUT))
    assert run.exit_code == 1
    report = json.loads(run.stdout)["report"]
    failed = {Path(f["path"]).name: f for f in report["failed"]}
    assert set(failed) == set(bad), report["failed"]
    for name, reason in bad.items():
        assert reason in failed[name]["error"], failed[name]
        assert f"failed: {folder / name}: {failed[name]['error']}" in run.stderr
    assert sorted(Path(p).name for p in report["added"]) == sorted(good)
    assert f"{len(good)} added" in run.stderr and f"{len(bad)} failed" in run.stderr

    with Archive.open(base) as archive:
        assert archive.check().ok
        text = "\n".join(page.text for page in archive.show(str(folder / "brief-cp1252.txt")).pages)
        for word in ("Financiën", "coördinatie", "€ 2,5 miljoen", "één", "’s-Gravenhage", "geïnformeerd"):
            assert word in text, word
        after = results(archive)
        for query in QUERIES:  # cosine scores of the old passages do not depend on what was added
            old = [hit for hit in after[query, "dense"] if hit[0] in old_docs]
            assert old == before[query, "dense"], query
        recorded = {Path(f["path"]).name for f in archive.check().failures}
        assert {name for name, f in failed.items() if f["stage"] == "extract"} <= recorded

        rerun = archive.ingest([folder], timeout=TIMEOUT)
        assert {Path(f.path).name for f in rerun.failed} == set(bad)
        assert rerun.added == [] and rerun.updated == [] and rerun.embedded == 0
        assert sorted(Path(p).name for p in rerun.skipped) == sorted(good)
        assert results(archive) == after, "a run in which every new file failed changed search results"


def test_discovery_failures_are_recorded_for_check_like_extraction_failures(base: Path, tmp_path: Path) -> None:
    """`archive check` lists the files whose last ingest failed; a symlink loop failed too."""
    folder = tmp_path / "lussen"
    folder.mkdir()
    (folder / "lus.pdf").symlink_to("lus.pdf")
    (folder / "leeg.txt").write_bytes(b"")
    with Archive.open(base, create=True) as archive:
        report = archive.ingest([folder], timeout=TIMEOUT)
        assert sorted(Path(f.path).name for f in report.failed) == ["leeg.txt", "lus.pdf"]
        recorded = {Path(str(f["path"])).name: f["stage"] for f in archive.check().failures}
    assert recorded.get("leeg.txt") == "extract"
    assert recorded.get("lus.pdf") == "discover", f"check lists {recorded}, not the symlink loop"


def test_a_fifo_named_pdf_is_reported_not_silently_skipped(base: Path, tmp_path: Path) -> None:
    """A FIFO would block whoever opens it; discovery must not open it, but must say it left it out."""
    folder = tmp_path / "fifo"
    folder.mkdir()
    os.mkfifo(folder / "hangt.pdf")
    with Archive.open(base, create=True) as archive:
        report = archive.ingest([folder], timeout=TIMEOUT)
    assert [Path(f.path).name for f in report.failed] == ["hangt.pdf"], report


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads folders without permission; run as a normal user")
def test_a_folder_without_permission_is_reported_and_the_rest_ingested(base: Path, tmp_path: Path) -> None:
    folder = tmp_path / "mixed"
    (folder / "dicht").mkdir(parents=True)
    shutil.copyfile(DEMO / "brief-financien-2022-04-13.txt", folder / "dicht" / "brief.txt")
    (folder / "dicht").chmod(0)
    try:
        with Archive.open(base, create=True) as archive:
            report = archive.ingest([folder], timeout=TIMEOUT)
    finally:
        (folder / "dicht").chmod(0o755)
    assert [(Path(f.path).name, f.error) for f in report.failed] == [("dicht", "permission denied")]


@pytest.mark.parametrize(
    "args, code, message",
    [
        ([""], 1, "the query is empty"),
        (["\t \n"], 1, "the query is empty"),
        (["werksfeer", "-k", "-5"], 1, f"k must be between 1 and {MAX_K}"),
        (["werksfeer", "-k", str(MAX_K + 1)], 1, f"k must be between 1 and {MAX_K}"),
        (["werksfeer", "-k", "99999999999999999999999"], 1, f"k must be between 1 and {MAX_K}"),
        (["werksfeer", "-k", "tien"], 2, "is not a valid integer"),
        (["werksfeer", "--mode", "semantisch"], 2, "'semantisch' is not one of"),
    ],
)
def test_empty_queries_and_absurd_k_get_clear_errors(base: Path, args: list[str], code: int, message: str) -> None:
    result = CliRunner().invoke(cli, ["search", *args, "-a", str(base)])
    assert result.exit_code == code, result.output
    assert message in result.stderr
    assert "Traceback" not in result.output


@pytest.mark.parametrize("query, k", [("\n\t ", 5), ("werksfeer", 0), ("werksfeer", -1), ("werksfeer", MAX_K + 1)])
def test_library_rejects_empty_queries_and_absurd_k(base: Path, query: str, k: int) -> None:
    with Archive.open(base) as archive, pytest.raises(BadQuery):
        archive.search(query, k=k)
