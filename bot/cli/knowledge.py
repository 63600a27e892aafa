"""``codesign knowledge``: load service documents and check what the bot would cite."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from bot.audit.trail import Action, Actor, record
from bot.cli.common import database_url, fail, store
from bot.config import var_dir
from bot.knowledge.documents import FaqFields

if TYPE_CHECKING:
    from bot.knowledge.answers import Thresholds
    from bot.knowledge.evaluation import Case
    from bot.knowledge.search import KnowledgeSearcher

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
        record(session, Actor.cli(), Action.KNOWLEDGE_ADD, collection, added=len(report.added),
               updated=len(report.updated), skipped=len(report.failed))
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
        record(session, Actor.cli(), Action.KNOWLEDGE_REMOVE, f"{collection}/{path}")
    typer.echo(f"removed {path} from {collection}")


@app.command()
def stats(documents: bool = typer.Option(False, "--documents", help="List every document."),
          as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """Collections with their document and passage counts, and which index build is live.

    The text output ends with the local index generation (under CODESIGN_VAR_DIR) and the
    database's latest one; action servers rebuild theirs when the two differ.
    """
    from bot.knowledge.catalogue import documents as stored_documents
    from bot.knowledge.generations import latest_row

    with store() as session:
        listing = sorted(stored_documents(session), key=lambda d: (d.collection, d.path))
        latest = latest_row(session)
        recorded = None if latest is None else (
            f"generation #{latest.id} of {latest.created_at:%Y-%m-%d %H:%M}, "
            f"{latest.passages} passages, fingerprint {latest.fingerprint[:12]}")
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
    typer.echo(f"\nindex here: {_local_generation()}")
    typer.echo(f"database:   {recorded or 'no generation recorded yet'}")
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

    if mode not in ("dense", "bm25", "hybrid"):
        fail("--mode must be dense, bm25 or hybrid")
    if (query is None) == (queries is None):
        fail("give a QUERY or --queries FILE")
    from bot.knowledge.collection_thresholds import ThresholdBook

    searcher = _searcher(collection)
    book = ThresholdBook(database_url(), _thresholds())
    scope = list(collection) if collection else None
    grounder = TermGrounder()
    if queries is not None:
        for line in queries.read_text(encoding="utf-8").splitlines():
            if line.strip():
                hits = searcher.search(line.strip(), scope, k, mode)  # type: ignore[arg-type]
                coverage = judge(line.strip(), hits, grounder, book.for_hits(hits))
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
    coverage = judge(query, hits, grounder, book.for_hits(hits))
    missing = f" (not mentioned: {', '.join(coverage.missing_terms)})" \
        if coverage.missing_terms else ""
    verdict = "yes" if coverage.covered else \
        "no, the closest passage is shown with a caveat" if coverage.closest else "no"
    typer.echo(f"covered: {verdict}{missing}")
    if hits:
        typer.echo(f"ranked by {mode} search; [n.nn] is each passage's meaning similarity")
    for rank, hit in enumerate(hits, 1):
        p = hit.passage
        where = f"{p.title}" + (f" › {p.section}" if p.section else "")
        typer.echo(f"\n{rank}. [{hit.similarity:.2f}] {where}  ({p.collection}: "
                   f"{p.url or p.document})")
        typer.echo("   " + (p.text if len(p.text) < 300 else p.text[:297] + "…"))


def _local_generation() -> str:
    """The live local generation: its name, fingerprint and database generation."""
    from bot.knowledge import index as ix

    live = ix.current_generation(var_dir())
    if live is None:
        return "none yet (an ingest, or an action server's first search, builds it)"
    stamp = ix.read_stamp(live)
    if stamp is None:
        return f"{live.name} (not stamped: made before index builds were recorded)"
    built_for = f"generation #{stamp.generation.id}" if stamp.generation else \
        "no recorded generation"
    return f"{live.name}, fingerprint {stamp.fingerprint[:12]}, built for {built_for}"


def _searcher(collections: list[str] | None) -> KnowledgeSearcher:
    """The live index, failing clearly when it is empty or lacks a named collection."""
    from bot.knowledge.search import KnowledgeSearcher

    searcher = KnowledgeSearcher(var_dir())
    if not searcher.collections():
        fail("no knowledge has been ingested yet")
    unknown = [c for c in collections or [] if c not in searcher.collections()]
    if unknown:
        fail(f"unknown collection(s): {', '.join(unknown)} "
             f"(have: {', '.join(searcher.collections())})")
    return searcher


def _thresholds() -> Thresholds:
    from bot.knowledge.answers import Thresholds

    try:
        return Thresholds.from_env()
    except ValueError as exc:
        fail(str(exc))


@app.command()
def calibrate(
    questions: Path | None = typer.Argument(
        None, exists=True, dir_okay=False,
        help="JSON Lines of labelled questions: {\"question\": ..., \"collection\": ..., "
             "\"sources\": [\"collection/document\", ...]}; empty sources = not answered "
             "by the documents. Or use --from-reviews."),
    from_reviews: bool = typer.Option(
        False, "--from-reviews",
        help="Use the questions reviewers labelled on the Knowledge gaps page instead of a "
             "file, one collection at a time."),
    collection: str | None = typer.Option(
        None, "--collection", "-c", help="With --from-reviews: only this collection."),
    apply: bool = typer.Option(
        False, "--apply", help="With --from-reviews: store the suggested thresholds as the "
                               "collection's (the bot uses them within seconds)."),
    max_wrongly_declined: float = typer.Option(
        0.10, "--max-wrongly-declined", min=0.0, max=1.0,
        help="The largest share of answerable questions you accept the bot declining."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Check when the bot says "not covered" on your own questions, and suggest thresholds.

    Each question is searched as the bot does: answered, closest passage shown, or declined.

    For answerable questions it also reports whether a listed source is found (recall@1, @5).

    It suggests thresholds declining the most unanswerable ones within --max-wrongly-declined.

    Include questions the documents do not answer: without them nothing can be tuned.

    With --from-reviews the questions are those reviewers labelled "the documents do answer
    this" or "not covered"; --apply stores each collection's suggestion.
    """
    if from_reviews == (questions is not None):
        fail("give a QUESTIONS file or --from-reviews (one of the two)")
    if not from_reviews and (collection is not None or apply):
        fail("--collection and --apply go with --from-reviews")
    if from_reviews:
        _calibrate_from_reviews(collection, apply, max_wrongly_declined, as_json)
        return
    assert questions is not None
    from rich.progress import Progress

    from bot.knowledge import evaluation
    from bot.knowledge.glossaries import GlossaryBook
    from bot.knowledge.grounding import TermGrounder

    try:
        cases = evaluation.load_cases(questions)
    except ValueError as exc:
        fail(str(exc))
    if not cases:
        fail(f"{questions} holds no questions")
    named = sorted({c.collection for c in cases if c.collection})
    searcher = _searcher(named)
    current = _current_for_file(cases)
    grounder = TermGrounder()
    book = GlossaryBook(database_url())
    glossaries = {name: book.for_collections([name]) for name in named}
    with Progress(transient=True) as progress:
        task = progress.add_task("Searching the questions", total=len(cases))
        scored = evaluation.score(searcher, cases, grounder,
                                  on_case=lambda: progress.advance(task),
                                  glossaries=glossaries)
    covered = sum(c.covered for c in cases)
    suggested = evaluation.recommend(scored, max_wrongly_declined, current) \
        if 0 < covered < len(cases) else None
    report = {
        "questions": len(cases), "answerable": covered, "unanswerable": len(cases) - covered,
        "retrieval": evaluation.hybrid_retrieval(scored) if covered else None,
        "current": {"similarity": current.similarity, "word_match": current.word_match,
                    "offered_match": current.offered_match,
                    **evaluation.rates(scored, current),
                    "outcomes": evaluation.outcomes(scored, current)},
        "suggested": None if suggested is None else {
            "similarity": suggested.similarity, "word_match": suggested.word_match,
            "offered_match": suggested.offered_match, **evaluation.rates(scored, suggested)},
    }
    if as_json:
        typer.echo(json.dumps(report, indent=2))
        return
    _print_calibration(report, max_wrongly_declined)


def _current_for_file(cases: list[Case]) -> Thresholds:
    """The thresholds the bot decides a questions file's ``cases`` with now: the stored
    ones of their collection when every question names the same one, else the
    ``CODESIGN_ANSWER_*`` values or the defaults (the bot decides by the best passage's
    collection, so questions across collections have no single "now")."""
    from bot.knowledge import collection_thresholds

    default = _thresholds()
    named = {case.collection for case in cases}
    collection = next(iter(named)) if len(named) == 1 else None
    if collection is None:
        return default
    with store() as session:
        return collection_thresholds.for_collection(session, collection, default)


def _calibrate_from_reviews(collection: str | None, apply: bool, limit: float,
                            as_json: bool) -> None:
    """``calibrate --from-reviews``: per collection with labels, the thresholds now and
    the suggested ones; with ``apply``, store the suggestions."""
    from functools import partial

    from rich.progress import Progress

    from bot.knowledge import collection_thresholds
    from bot.knowledge.glossaries import GlossaryBook
    from bot.knowledge.grounding import TermGrounder
    from bot.knowledge.review_calibration import suggest
    from bot.review import gap_labels

    with store() as session:
        labelled = gap_labels.cases(session, collection)
        default = _thresholds()
        current = {name: collection_thresholds.for_collection(session, name, default)
                   for name in labelled}
    if not labelled:
        fail(f"no labelled questions{f' in collection {collection}' if collection else ''}"
             ": reviewers label declined and disputed questions on the Knowledge gaps page "
             "(“the documents do answer this” or “not covered”)")
    searcher = _searcher(None)
    missing = [name for name in labelled if name not in searcher.collections()]
    for name in missing:
        typer.secho(f"{name}: skipped, the collection has no documents any more", err=True,
                    fg=typer.colors.YELLOW)
    grounder = TermGrounder()
    book = GlossaryBook(database_url())
    results = []
    with Progress(transient=True) as progress:
        for name, cases in labelled.items():
            if name in missing:
                continue
            task = progress.add_task(f"Searching the questions of {name}", total=len(cases))
            results.append(suggest(searcher, name, cases, current[name],
                                   max_wrongly_declined=limit, grounder=grounder,
                                   glossary=book.for_collections([name]),
                                   on_case=partial(progress.advance, task)))
    applied = []
    if apply:
        with store() as session:
            for result in results:
                if result.suggested is not None:
                    collection_thresholds.save(session, result.collection, result.suggested,
                                               Actor.cli().name)
                    record(session, Actor.cli(), Action.KNOWLEDGE_THRESHOLDS,
                           result.collection, change="apply", via="cli",
                           similarity=result.suggested.similarity,
                           word_match=result.suggested.word_match,
                           offered_match=result.suggested.offered_match,
                           labels=result.answered + result.not_covered)
                    applied.append(result.collection)
    if as_json:
        typer.echo(json.dumps([{**r.as_dict(), "applied": r.collection in applied}
                               for r in results], indent=2))
    else:
        for result in results:
            _print_review_calibration(result.as_dict(), limit, result.collection in applied,
                                      apply)
    if not any(r.suggested is not None for r in results):
        raise typer.Exit(code=1)


def _rates_line(rates: dict[str, Any]) -> str:
    return (f"{rates['covered_wrongly_declined']:.0%} of answered questions wrongly "
            f"declined, {rates['uncovered_declined']:.0%} of not covered ones declined")


def _print_review_calibration(report: dict[str, Any], limit: float, applied: bool,
                              apply: bool) -> None:
    typer.echo(f"{report['collection']}: {report['answered'] + report['not_covered']} "
               f"labelled questions, {report['answered']} the documents answer, "
               f"{report['not_covered']} not covered.")
    typer.echo(f"  before ({_settings(report['current'])}): {_rates_line(report['current'])}")
    best = report["suggested"]
    if best is None:
        typer.echo(f"  no suggestion: {report['problem']}.")
        return
    typer.echo(f"  after, suggested (at most {limit:.0%} wrongly declined; "
               f"{_settings(best)}): {_rates_line(best)}")
    if applied:
        typer.echo("  applied: the bot uses them for this collection within seconds.")
    elif not apply:
        typer.echo("  to store them for this collection, run again with --apply.")


def _settings(thresholds: dict[str, Any]) -> str:
    return (f"similarity {thresholds['similarity']:.2f}, word match "
            f"{thresholds['word_match']:.2f}, {thresholds['offered_match']:.2f} for "
            "'is there…' questions")


def _print_calibration(report: dict[str, Any], limit: float) -> None:
    typer.echo(f"{report['questions']} questions: {report['answerable']} the documents answer, "
               f"{report['unanswerable']} they do not.")
    if report["retrieval"]:
        r = report["retrieval"]
        typer.echo(f"A listed source is the first passage for {r['recall@1']:.0%} of the "
                   f"answerable questions and in the top 5 for {r['recall@5']:.0%}.")
    now = report["current"]
    typer.echo(f"\nNow ({_settings(now)}): "
               f"{now['uncovered_declined']:.0%} of unanswerable questions declined, "
               f"{now['covered_wrongly_declined']:.0%} of answerable ones wrongly declined.")
    for group, shares in now["outcomes"].items():
        typer.echo(f"  {group}: {shares['answered']:.0%} answered, {shares['closest']:.0%} "
                   f"closest passage with a caveat, {shares['declined']:.0%} declined")
    if not report["unanswerable"] or not report["answerable"]:
        typer.echo("\nNo suggestion: the file needs both questions the documents answer and "
                   "questions they do not.")
        return
    best = report["suggested"]
    if best is None:
        typer.echo(f"\nNo thresholds wrongly decline at most {limit:.0%} of the answerable "
                   "questions; raise --max-wrongly-declined or improve the documents.")
        return
    typer.echo(f"\nSuggested (at most {limit:.0%} wrongly declined; {_settings(best)}): "
               f"{best['uncovered_declined']:.0%} of unanswerable questions declined, "
               f"{best['covered_wrongly_declined']:.0%} of answerable ones wrongly declined.")
    typer.echo("To use them, set for the action server (and this CLI):\n"
               f"  CODESIGN_ANSWER_SIMILARITY={best['similarity']:.2f}\n"
               f"  CODESIGN_ANSWER_WORD_MATCH={best['word_match']:.2f}\n"
               f"  CODESIGN_ANSWER_OFFERED_MATCH={best['offered_match']:.2f}")
    if report["questions"] < 100:
        typer.echo("With fewer than 100 questions these rates are rough; check the "
                   "suggestion on questions it was not chosen on before relying on it.")
