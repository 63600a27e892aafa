"""``codesign knowledge``: load service documents and check what the bot would cite."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from bot.cli.common import fail, store
from bot.config import var_dir
from bot.knowledge.documents import FaqFields

app = typer.Typer(help="Load the agency's service documents and search them.",
                  no_args_is_help=True)


@app.command()
def ingest(
    paths: list[Path] = typer.Argument(..., help="Files and folders: .md .html .pdf .txt, "
                                                 "FAQ .csv/.jsonl."),
    collection: str | None = typer.Option(
        None, "--collection", "-c",
        help="Collection name (a-z, 0-9, '-', '_'). Without it, each PATH must be a folder "
             "and is ingested into the collection named after it."),
    question_field: str = typer.Option("question", help="FAQ field holding the question."),
    answer_field: str = typer.Option("answer", help="FAQ field holding the answer."),
) -> None:
    """Ingest documents into a collection; unchanged ones are not re-embedded.

    Broken or unreadable files are reported by name and skipped; the rest goes in.
    """
    from bot.knowledge.ingest import check_collection

    missing = [str(p) for p in paths if not p.exists()]
    if missing:
        fail(f"not found: {', '.join(missing)}")
    if collection is None:
        not_folders = [str(p) for p in paths if not p.is_dir()]
        if not_folders:
            fail(f"--collection is needed for files: {', '.join(not_folders)}")
        jobs = [(p.resolve().name, [p]) for p in paths]
    else:
        jobs = [(collection, paths)]
    for name, _ in jobs:
        try:
            check_collection(name)
        except ValueError as exc:
            fail(str(exc))
    for name, job_paths in jobs:
        _ingest_one(name, job_paths, FaqFields(question_field, answer_field))


def _ingest_one(collection: str, paths: list[Path], faq: FaqFields) -> None:
    from rich.progress import Progress

    from bot.knowledge.ingest import ingest as run_ingest

    with Progress(transient=True) as progress, store() as session:
        task = progress.add_task("Reading documents", total=None)

        def on_file(name: str) -> None:
            progress.update(task, description=f"Reading {Path(name).name}")

        def on_embed(done: int, total: int) -> None:
            progress.update(task, description="Embedding passages", total=total, advance=done)

        report = run_ingest(session, paths, collection, var_dir(), faq=faq, on_file=on_file,
                            on_embed=on_embed)
    for problem in report.failed:
        typer.secho(f"skipped: {problem}", err=True, fg=typer.colors.YELLOW)
    typer.echo(f"{collection}: {len(report.added)} added, {len(report.updated)} updated, "
               f"{len(report.unchanged)} unchanged, {len(report.failed)} skipped; "
               f"{report.passages_embedded} passages embedded, {report.passages_reused} reused")


@app.command()
def remove(
    path: str = typer.Argument(..., help="The document's path as `knowledge stats --documents` "
                                         "shows it."),
    collection: str = typer.Option(..., "--collection", "-c"),
) -> None:
    """Delete a document and its passages from a collection."""
    from bot.knowledge.ingest import remove_document

    with store() as session:
        if not remove_document(session, collection, path, var_dir()):
            fail(f"no document '{path}' in collection '{collection}'")
    typer.echo(f"removed {path} from {collection}")


@app.command()
def stats(documents: bool = typer.Option(False, "--documents", help="List every document."),
          as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """Collections with their document and passage counts."""
    from bot.knowledge.catalogue import documents as stored_documents

    with store() as session:
        listing = sorted(stored_documents(session), key=lambda d: (d.collection, d.path))
    totals: dict[str, list[int]] = {}
    for document in listing:
        counts = totals.setdefault(document.collection, [0, 0])
        counts[0] += 1
        counts[1] += document.passages
    rows = [(collection, docs, passages) for collection, (docs, passages) in totals.items()]
    if as_json:
        typer.echo(json.dumps([{"collection": c, "documents": d, "passages": p}
                               for c, d, p in rows], indent=2))
        return
    if not rows:
        typer.echo("No documents yet: `codesign knowledge ingest PATH --collection NAME`.")
        return
    typer.echo(f"{'COLLECTION':20} {'DOCUMENTS':>9} {'PASSAGES':>9}")
    for collection, docs, passages in rows:
        typer.echo(f"{collection:20} {docs:>9} {passages:>9}")
    if documents:
        typer.echo("")
        for d in listing:
            typer.echo(f"{d.collection:20} {d.path:45} {d.format:10} {d.title}")


@app.command()
def search(
    query: str = typer.Argument(None, help="A question, as a citizen would ask it."),
    collection: list[str] = typer.Option(None, "--collection", "-c",
                                         help="Search only these collections (repeatable)."),
    k: int = typer.Option(5, "--k", min=1, max=50, help="How many passages."),
    queries: Path | None = typer.Option(None, "--queries", exists=True, dir_okay=False,
                                        help="File with one query per line: prints one JSON "
                                             "line per query (the model is loaded once)."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
    mode: str = typer.Option("hybrid", help="dense, bm25 or hybrid."),
) -> None:
    """Show what the bot would cite for a question (and whether it counts as covered)."""
    from bot.knowledge.answers import judge
    from bot.knowledge.grounding import TermGrounder
    from bot.knowledge.search import KnowledgeSearcher

    if mode not in ("dense", "bm25", "hybrid"):
        fail("--mode must be dense, bm25 or hybrid")
    if (query is None) == (queries is None):
        fail("give a QUERY or --queries FILE")
    searcher = KnowledgeSearcher(var_dir())
    if not searcher.collections():
        fail("no knowledge has been ingested yet")
    unknown = [c for c in collection or [] if c not in searcher.collections()]
    if unknown:
        fail(f"unknown collection(s): {', '.join(unknown)} "
             f"(have: {', '.join(searcher.collections())})")
    scope = list(collection) if collection else None
    grounder = TermGrounder()
    if queries is not None:
        for line in queries.read_text(encoding="utf-8").splitlines():
            if line.strip():
                hits = searcher.search(line.strip(), scope, k, mode)  # type: ignore[arg-type]
                coverage = judge(line.strip(), hits, grounder)
                typer.echo(json.dumps({"query": line.strip(), "covered": coverage.covered,
                                       "closest": coverage.closest,
                                       "missing_terms": list(coverage.missing_terms),
                                       "hits": [h.as_dict() for h in hits]},
                                      ensure_ascii=False))
        return
    hits = searcher.search(query, scope, k, mode)  # type: ignore[arg-type]
    if as_json:
        typer.echo(json.dumps([h.as_dict() for h in hits], indent=2, ensure_ascii=False))
        return
    coverage = judge(query, hits, grounder)
    missing = f" (not mentioned: {', '.join(coverage.missing_terms)})" \
        if coverage.missing_terms else ""
    verdict = "yes" if coverage.covered else \
        "no, the closest passage is shown with a caveat" if coverage.closest else "no"
    typer.echo(f"covered: {verdict}{missing}")
    for rank, hit in enumerate(hits, 1):
        p = hit.passage
        where = f"{p.title}" + (f" › {p.section}" if p.section else "")
        typer.echo(f"\n{rank}. [{hit.similarity:.2f}] {where}  ({p.collection}: "
                   f"{p.url or p.document})")
        typer.echo("   " + (p.text if len(p.text) < 300 else p.text[:297] + "…"))
