"""The admins' Knowledge page: collections and documents, uploading documents (ingested in
a background job with progress), removing one, file-name safety, the access rules and
hostile text (FastAPI TestClient, SQLite, the real embedder on tiny documents)."""

from __future__ import annotations

import re
import threading
import time
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from fastapi import FastAPI
from fastapi.routing import iter_route_contexts
from fastapi.testclient import TestClient
from sqlalchemy import event, select

from bot.consultations.schema import parse_consultation
from bot.knowledge import glossaries
from bot.knowledge.ingest import ingest
from bot.knowledge.search import KnowledgeSearcher
from bot.store import repository
from bot.store.audit_models import AuditEntry
from bot.store.db import session_scope
from bot.store.models import KnowledgeDocument
from bot.web import knowledge_uploads as uploads
from bot.web.jobs import JobRunner
from bot.web.knowledge_uploads import UploadError, safe_name
from bot.web.routes import knowledge as knowledge_routes
from bot.web.routes.knowledge import BUSY, JOB_KEY
from tests.unit.review_web_support import IMG, SCRIPT, Seeded, csrf_of, to_login
from tests.unit.test_engine import LIBRARY, LIBRARY_FILE
from tests.unit.test_user_admin import assert_accessible_form

KNOWLEDGE = "/review/admin/knowledge"
REMOVE = f"{KNOWLEDGE}/remove"
GLOSSARY = f"{KNOWLEDGE}/glossary"
HOURS_MD = (b"# Swimming pool opening hours\n\n## Weekdays\nThe Riverside swimming pool opens "
            b"Monday to Friday from 7:00 to 21:00.\n\n## Weekends\nOn Saturdays and Sundays "
            b"the pool opens from 8:00 to 18:00.\n")
BROKEN_PDF = b"%PDF-1.4 this is not really a pdf"


def var_of(app: FastAPI) -> Path:
    """The app's data folder (the test's own, see the ``app`` fixture)."""
    var: Path = app.state.settings.var
    return var


def send(client: TestClient, collection: str, files: list[tuple[str, bytes]],
         csrf: bool = True) -> Any:
    """The upload form, sent (redirects not followed)."""
    data = {"collection": collection}
    if csrf:
        data["csrf_token"] = csrf_of(client, "/review")
    return client.post(KNOWLEDGE, data=data, follow_redirects=False,
                       files=[("files", (name, content, "application/octet-stream"))
                              for name, content in files])


def remove(client: TestClient, collection: str, path: str, csrf: bool = True) -> Any:
    data = {"collection": collection, "path": path}
    if csrf:
        data["csrf_token"] = csrf_of(client, "/review")
    return client.post(REMOVE, data=data, follow_redirects=False)


def finished(client: TestClient, response: Any) -> dict[str, Any]:
    """Follow an upload's redirect to its job and wait (through the progress endpoint the
    page polls) until the job has ended; its last progress report."""
    assert response.status_code == 303, response.text
    location = response.headers["location"]
    assert location.startswith(f"{KNOWLEDGE}?job=")
    job_id = parse_qs(urlsplit(location).query)["job"][0]
    page = client.get(location)
    assert page.status_code == 200 and f'data-job-url="/review/jobs/{job_id}"' in page.text
    deadline = time.monotonic() + 180
    while True:
        report = client.get(f"/review/jobs/{job_id}").json()
        if report["status"] != "running":
            return dict(report)
        assert time.monotonic() < deadline, f"the job did not end: {report}"
        time.sleep(0.2)


def documents(seeded: Seeded, collection: str) -> dict[str, str]:
    """Path -> title of the collection's stored documents."""
    with session_scope(seeded.url) as session:
        return dict(session.execute(select(KnowledgeDocument.path, KnowledgeDocument.title)
                                    .where(KnowledgeDocument.collection == collection)).all())


def sources(var: Path, query: str, collection: str) -> set[str]:
    """Which documents a search of the live index finds (a fresh searcher each time)."""
    return {hit.passage.document
            for hit in KnowledgeSearcher(var).search(query, [collection], k=5)}


@pytest.fixture
def libraries(app: FastAPI, seeded: Seeded, tmp_path: Path) -> Path:
    """The ``libraries`` collection (the seeded consultation searches it) with one small
    document, ingested as the CLI does."""
    folder = tmp_path / "libraries"
    folder.mkdir()
    (folder / "opening-hours.md").write_text(
        "# Library opening hours\n\nThe Central Library opens Monday to Saturday 9:00 to "
        "17:00 and is closed on Sundays.\n")
    with session_scope(seeded.url) as session:
        ingest(session, [folder], "libraries", var_of(app))
    return folder


# ---------------------------------------------------------------------------- the page
def test_admins_see_collections_documents_and_the_consultations_searching_them(
        admin: TestClient, reviewer: TestClient, libraries: Path) -> None:
    page = admin.get(KNOWLEDGE)
    assert page.status_code == 200
    html = page.text
    assert '<a href="/review/admin/knowledge">Knowledge</a>' in html
    assert '"/review/admin/knowledge"' not in reviewer.get("/review").text
    summary = re.search(r'<th scope="row" class="text"><a href="#collection-libraries">'
                        r'libraries</a></th>\s*<td class="num">(\d+)</td>\s*'
                        r'<td class="num">(\d+)</td>\s*<td>(.*?)</td>', html, re.DOTALL)
    assert summary, html
    assert summary.group(1) == "1" and int(summary.group(2)) >= 1
    assert '<a href="/review/c/library-hours-2027">' in summary.group(3)
    assert f"<caption>Documents in libraries (1 document, {summary.group(2)} passage" in html
    row = re.search(r'<th scope="row" class="text">Library opening hours</th>(.*?)</tr>', html,
                    re.DOTALL)
    assert row and "opening-hours.md" in row.group(1) and "<time datetime=" in row.group(1)
    assert "(uploaded here)" not in row.group(1)  # ingested from the CLI's folder
    assert ('<button class="button button-small button-secondary" type="submit">Remove'
            '<span class="visually-hidden"> Library opening hours (opening-hours.md)</span>'
            in row.group(1))
    assert 'name="path" value="opening-hours.md"' in row.group(1)
    assert '<option value="libraries">' in html  # offered in the upload form
    assert 'type="file" multiple' in html and 'enctype="multipart/form-data"' in html
    assert_accessible_form(html)


def test_the_page_says_when_there_is_no_knowledge_yet(admin: TestClient) -> None:
    html = admin.get(KNOWLEDGE).text
    # The seeded consultation names "libraries", which holds nothing yet.
    assert "libraries</th>" in html and "(no documents yet)" in html
    assert "<caption>Documents in" not in html


def launch_copy(url: str, slug: str, title: str, knowledge: str) -> None:
    """Launch the library consultation's file under another slug, title or collection."""
    text = (LIBRARY_FILE.read_text(encoding="utf-8")
            .replace(f"slug: {LIBRARY}", f"slug: {slug}")
            .replace("title: Shaping our library opening hours", f"title: {title}")
            .replace("knowledge: [libraries]", f"knowledge: [{knowledge}]"))
    with session_scope(url) as session:
        repository.launch_consultation(session, parse_consultation(text), text)


def used_by(html: str, collection: str) -> str:
    """The "searched by" cell of a collection's row in the summary table (a collection
    without documents)."""
    row = re.search(rf'<th scope="row" class="text">{collection}</th>.*?'
                    r'<td>(.*?)</td>\s*</tr>', html, re.DOTALL)
    assert row, html
    return row.group(1)


def test_only_each_consultations_current_version_counts_in_one_query(
        admin: TestClient, seeded: Seeded) -> None:
    # Version 2 of the library consultation searches "leisure" instead of "libraries".
    launch_copy(seeded.url, LIBRARY, "Library hours, second draft", "leisure")
    launch_copy(seeded.url, "zoo-hours-2027", "A zoo consultation", "libraries")
    launch_copy(seeded.url, "arts-hours-2027", "An arts consultation", "libraries")
    html = admin.get(KNOWLEDGE).text
    assert used_by(html, "leisure") == (
        '<a href="/review/c/library-hours-2027">Library hours, second draft</a> (open)'
        " <strong>(no documents yet)</strong>")
    assert used_by(html, "libraries") == (  # by title; not the library's version 1
        '<a href="/review/c/zoo-hours-2027">A zoo consultation</a> (open); '
        '<a href="/review/c/arts-hours-2027">An arts consultation</a> (open)'
        " <strong>(no documents yet)</strong>")
    statements: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement)

    with session_scope(seeded.url) as session:
        bind = session.get_bind()
        event.listen(bind, "before_cursor_execute", record)
        try:
            used = knowledge_routes._usage(session)
        finally:
            event.remove(bind, "before_cursor_execute", record)
    assert [u.slug for u in used["libraries"]] == ["zoo-hours-2027", "arts-hours-2027"]
    assert 1 <= len(statements) <= 2, statements  # consultations, then all their versions


# ---------------------------------------------------------------------------- uploads
def test_an_upload_is_ingested_in_the_background_searchable_and_reports_broken_files(
        app: FastAPI, admin: TestClient, seeded: Seeded) -> None:
    var = var_of(app)
    report = finished(admin, send(admin, "leisure", [("pool-hours.md", HOURS_MD),
                                                     ("broken.pdf", BROKEN_PDF)]))
    assert report["status"] == "done" and report["percent"] == 100, report
    assert report["result"].startswith("Collection leisure: 1 document added, 0 updated, "
                                       "0 unchanged;"), report
    assert "broken.pdf: broken or unreadable PDF" in report["result"]
    assert documents(seeded, "leisure") == {"pool-hours.md": "Swimming pool opening hours"}
    assert sources(var, "when does the swimming pool open on saturday", "leisure") == {
        "pool-hours.md"}
    kept = var / "knowledge-uploads" / "leisure"
    assert (kept / "pool-hours.md").read_bytes() == HOURS_MD
    assert not (kept / "broken.pdf").exists()  # skipped files are not kept
    page = admin.get(f"{KNOWLEDGE}?job={report['id']}").text
    assert f'<p role="status">{report["result"]}</p>' in page
    assert "Swimming pool opening hours</th>" in page and "(uploaded here)" in page

    # The same file again: recognised, nothing embedded again.
    again = finished(admin, send(admin, "leisure", [("pool-hours.md", HOURS_MD)]))
    assert again["result"] == ("Collection leisure: 0 documents added, 0 updated, "
                               "1 unchanged; 0 passages embedded, 0 reused."), again
    # A changed file of the same name replaces the copy and the document.
    changed = HOURS_MD.replace(b"21:00", b"22:00")
    third = finished(admin, send(admin, "leisure", [("pool-hours.md", changed)]))
    assert "0 documents added, 1 updated" in third["result"], third
    assert (kept / "pool-hours.md").read_bytes() == changed
    assert documents(seeded, "leisure") == {"pool-hours.md": "Swimming pool opening hours"}


@pytest.mark.parametrize(("collection", "files", "message"), [
    ("Bad Name!", [("a.md", HOURS_MD)],
     "Collection: invalid collection name &#39;Bad Name!&#39;: use a-z, 0-9, &#39;-&#39; "
     "and &#39;_&#39;."),
    ("", [("a.md", HOURS_MD)], "Collection: give the collection a name"),
    ("leisure", [("a.md", HOURS_MD), ("setup.exe", b"MZ...")],
     "setup.exe: unsupported file type (&#39;.exe&#39;); use Markdown"),
    ("leisure", [("README", b"text")], "README: unsupported file type (no extension)"),
    ("leisure", [("empty.txt", b"  \n")], "empty.txt: the file is empty"),
    ("leisure", [], "Choose at least one file."),
    ("leisure", [("a.md", HOURS_MD), ("sub/a.md", HOURS_MD)],
     "sub/a.md: another chosen file is also kept as a.md"),
])
def test_bad_uploads_get_clear_errors_and_nothing_is_kept(
        app: FastAPI, admin: TestClient, collection: str, files: list[tuple[str, bytes]],
        message: str) -> None:
    response = send(admin, collection, files)
    assert response.status_code == 400
    assert message in response.text
    assert '<div class="flash flash-error" role="alert" id="upload-errors">' in response.text
    assert "<title>Error: Knowledge" in response.text
    field = 'id="collection"' if message.startswith("Collection") else 'id="files"'
    assert re.search(f'<input {field}[^>]*aria-invalid="true"', response.text)
    assert len(re.findall('aria-invalid="true"', response.text)) == 1
    assert_accessible_form(response.text)
    assert not (var_of(app) / "knowledge-uploads").exists()
    assert JobRunner(app.state.settings.database_url).running(JOB_KEY) is None


def test_files_over_the_size_limits_are_refused(app: FastAPI, admin: TestClient,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(uploads, "MAX_FILE_BYTES", 2 * 1024 * 1024)
    monkeypatch.setattr(uploads, "MAX_TOTAL_BYTES", 3 * 1024 * 1024)
    big = b"word " * (2 * 1024 * 1024 // 5 + 1)
    response = send(admin, "leisure", [("big.txt", big), ("fine.md", HOURS_MD)])
    assert response.status_code == 400
    assert "big.txt: the file is larger than 2 MB" in response.text
    assert "fine.md" not in response.text  # only the file at fault is named
    half = b"word " * (1024 * 1024 // 5)
    response = send(admin, "leisure", [(f"part{i}.txt", half) for i in range(4)])
    assert response.status_code == 400
    assert "The files add up to more than 3 MB" in response.text
    assert not (var_of(app) / "knowledge-uploads").exists()


def test_a_hostile_file_name_is_kept_inside_the_uploads_folder(
        app: FastAPI, admin: TestClient, seeded: Seeded, tmp_path: Path) -> None:
    var = var_of(app)
    report = finished(admin, send(admin, "leisure", [("../../evil.md", HOURS_MD)]))
    assert report["status"] == "done", report
    assert (var / "knowledge-uploads" / "leisure" / "evil.md").read_bytes() == HOURS_MD
    assert not (var / "evil.md").exists() and not (tmp_path / "evil.md").exists()
    assert sorted(p.relative_to(var).as_posix() for p in var.rglob("evil.md")) == [
        "knowledge-uploads/leisure/evil.md"]
    assert documents(seeded, "leisure") == {"evil.md": "Swimming pool opening hours"}


@pytest.mark.parametrize(("given", "kept"), [
    ("../../evil.md", "evil.md"),
    ("..\\..\\windows\\evil.MD", "evil.md"),
    ("/etc/passwd.txt", "passwd.txt"),
    (".hidden.txt", "hidden.txt"),
    ("..md", "document.md"),
    ("Opening hours <2026>.html", "Opening-hours-2026.html"),
    ("Öffnungszeiten.pdf", "Öffnungszeiten.pdf"),
    ("faq.csv", "faq.csv"),
    ("a" * 300 + ".jsonl", "a" * uploads.MAX_NAME + ".jsonl"),
])
def test_safe_names_keep_the_extension_and_nothing_of_the_path(given: str, kept: str) -> None:
    assert safe_name(given) == kept


@pytest.mark.parametrize("given", ["evil.exe", "evil", "evil.md.sh", "../x.php"])
def test_unsupported_names_are_refused(given: str) -> None:
    with pytest.raises(UploadError, match="unsupported file type"):
        safe_name(given)


# ---------------------------------------------------------------------------- removing
def test_removing_a_document_takes_it_off_the_page_out_of_search_and_deletes_its_copy(
        app: FastAPI, admin: TestClient, seeded: Seeded, libraries: Path) -> None:
    var = var_of(app)
    finished(admin, send(admin, "libraries", [("pool-hours.md", HOURS_MD)]))
    query = "when does the swimming pool open on saturday"
    assert "pool-hours.md" in sources(var, query, "libraries")
    response = remove(admin, "libraries", "pool-hours.md")
    assert response.status_code == 303 and response.headers["location"] == KNOWLEDGE
    page = admin.get(KNOWLEDGE).text
    assert ("Removed “Swimming pool opening hours” (pool-hours.md) from collection libraries "
            "and deleted its uploaded file.") in page
    assert "Swimming pool opening hours</th>" not in page
    assert "Library opening hours</th>" in page
    assert "pool-hours.md" not in sources(var, query, "libraries")
    assert sources(var, "is the library open on sundays", "libraries") == {"opening-hours.md"}
    assert not (var / "knowledge-uploads" / "libraries" / "pool-hours.md").exists()
    assert documents(seeded, "libraries") == {"opening-hours.md": "Library opening hours"}
    # A document ingested from elsewhere (the CLI) goes too; its source file stays.
    remove(admin, "libraries", "opening-hours.md")
    assert documents(seeded, "libraries") == {}
    assert (libraries / "opening-hours.md").exists()
    assert "(no documents yet)" in admin.get(KNOWLEDGE).text


def test_removing_an_unknown_document_says_so(admin: TestClient, libraries: Path) -> None:
    response = remove(admin, "libraries", "nothing-here.md")
    assert response.status_code == 303
    page = admin.get(KNOWLEDGE).text
    assert "There is no document nothing-here.md in collection libraries" in page
    assert "Library opening hours</th>" in page


def test_while_documents_are_being_added_nothing_else_changes_the_index(
        app: FastAPI, admin: TestClient, seeded: Seeded, libraries: Path) -> None:
    release = threading.Event()
    runner: JobRunner = app.state.jobs

    def slow(progress: Any) -> str:
        progress("Reading hours.md (1 of 1)", 0.1)
        release.wait(30)
        return "done"

    job = runner.start(JOB_KEY, slow)
    try:
        page = admin.get(KNOWLEDGE).text  # the running job is shown without asking
        assert f'data-job-url="/review/jobs/{job.id}"' in page and "<progress" in page
        assert '<noscript><meta http-equiv="refresh" content="3"></noscript>' in page
        refused = send(admin, "leisure", [("pool-hours.md", HOURS_MD)])
        assert refused.status_code == 409 and BUSY in refused.text
        assert not (var_of(app) / "knowledge-uploads").exists()
        remove(admin, "libraries", "opening-hours.md")
        assert "Nothing was removed." in admin.get(KNOWLEDGE).text
        assert documents(seeded, "libraries") == {"opening-hours.md": "Library opening hours"}
    finally:
        release.set()
    deadline = time.monotonic() + 30
    while (runner.get(job.id) or job).status == "running":
        assert time.monotonic() < deadline
        time.sleep(0.1)


def test_a_failed_or_unrelated_job_is_shown_only_when_it_is_a_knowledge_job(
        app: FastAPI, admin: TestClient) -> None:
    runner: JobRunner = app.state.jobs

    def broken(_progress: Any) -> str:
        raise RuntimeError(f"disk full {SCRIPT}")

    job = runner.start(JOB_KEY, broken)
    other = runner.start("themes:1:x", lambda _p: "Found 2 themes.")
    deadline = time.monotonic() + 30
    while any((runner.get(j.id) or j).status == "running" for j in (job, other)):
        assert time.monotonic() < deadline
        time.sleep(0.1)
    page = admin.get(f"{KNOWLEDGE}?job={job.id}").text
    assert "Adding the documents failed: disk full &lt;script&gt;" in page
    assert SCRIPT not in page
    assert "Found 2 themes." not in admin.get(f"{KNOWLEDGE}?job={other.id}").text


# ---------------------------------------------------------------------------- glossary
def save_glossary(client: TestClient, collection: str, text: str, use_general: bool = True,
                  csrf: bool = True) -> Any:
    data = {"collection": collection, "glossary": text}
    if use_general:
        data["use_general"] = "1"
    if csrf:
        data["csrf_token"] = csrf_of(client, "/review")
    return client.post(GLOSSARY, data=data, follow_redirects=False)


def stored_glossary(seeded: Seeded, collection: str) -> tuple[str, bool] | None:
    with session_scope(seeded.url) as session:
        row = glossaries.stored(session, collection)
        return None if row is None else (row.text, row.use_general)


def test_an_admin_edits_a_collections_glossary_and_it_is_audited(
        admin: TestClient, seeded: Seeded, libraries: Path) -> None:
    page = admin.get(KNOWLEDGE).text
    assert 'id="glossary-libraries"' in page and "Also use the general glossary" in page
    assert_accessible_form(page)
    text = "# ours\nlate fees: charges\nbook club: [reading group, book group]\n"
    response = save_glossary(admin, "libraries", text, use_general=False)
    assert response.status_code == 303
    assert response.headers["location"] == f"{KNOWLEDGE}#glossary-libraries"
    assert stored_glossary(seeded, "libraries") == (text, False)
    page = admin.get(KNOWLEDGE).text
    assert ("Saved the glossary of libraries: 2 entries, without the general glossary. The bot "
            "uses it within a few seconds.") in page
    assert "late fees: charges" in page and 'value="1" checked' not in page
    with session_scope(seeded.url) as session:
        entry = session.scalars(select(AuditEntry).where(
            AuditEntry.action == "knowledge.glossary")).one()
        assert entry.target == "libraries" and entry.detail == {"entries": 2, "general": False}


def test_a_glossary_with_a_mistake_is_shown_again_with_the_line_and_nothing_is_stored(
        admin: TestClient, seeded: Seeded, libraries: Path) -> None:
    save_glossary(admin, "libraries", "tip: recycling centre\n")
    broken = f"tip: recycling centre\nlate fees: []\n# {SCRIPT}\n"
    response = save_glossary(admin, "libraries", broken)
    assert response.status_code == 400
    html = response.text
    assert ("The glossary was not saved: glossary, line 2, the documents&#39; words for "
            "&#39;late fees&#39;: give at least one") in html
    assert 'aria-invalid="true"' in html and "late fees: []" in html  # kept to fix it
    assert SCRIPT not in html and "&lt;script&gt;" in html
    assert_accessible_form(html)
    assert stored_glossary(seeded, "libraries") == ("tip: recycling centre\n", True)
    unknown = save_glossary(admin, "no-such-collection", "tip: centre")
    assert unknown.status_code == 303 and stored_glossary(seeded, "no-such-collection") is None
    assert "There is no collection no-such-collection." in admin.get(KNOWLEDGE).text


# ---------------------------------------------------------------------------- access
def test_reviewers_get_403_and_anonymous_browsers_sign_in_on_every_knowledge_route(
        app: FastAPI, anonymous: TestClient, reviewer: TestClient, libraries: Path,
        seeded: Seeded) -> None:
    knowledge_routes = sorted((route.path, method) for route in iter_route_contexts(app.routes)
                              for method in (route.methods or set()) - {"HEAD"}
                              if (route.path or "").startswith(KNOWLEDGE))
    assert knowledge_routes == [(KNOWLEDGE, "GET"), (KNOWLEDGE, "POST"), (GLOSSARY, "POST"),
                                (REMOVE, "POST")]
    for path, method in knowledge_routes:
        for client, expected in ((anonymous, "login"), (reviewer, 403)):
            token = csrf_of(client, "/review/login" if client is anonymous else "/review")
            if method == "GET":
                response = client.get(path, follow_redirects=False)
            else:
                response = client.post(path, follow_redirects=False, data={
                    "csrf_token": token, "collection": "libraries", "glossary": "tip: bin",
                    "path": "opening-hours.md"}, files=[("files", ("x.md", HOURS_MD))]
                    if path == KNOWLEDGE else None)
            if expected == "login":
                assert to_login(response), (path, method, response.status_code)
            else:
                assert response.status_code == 403, (path, method, response.status_code)
    assert '"/review/admin/knowledge"' not in reviewer.get("/review").text
    assert documents(seeded, "libraries") == {"opening-hours.md": "Library opening hours"}
    assert not (var_of(app) / "knowledge-uploads").exists()
    assert stored_glossary(seeded, "libraries") is None


def test_posts_without_the_csrf_token_are_refused(app: FastAPI, admin: TestClient,
                                                  seeded: Seeded, libraries: Path) -> None:
    response = send(admin, "leisure", [("pool-hours.md", HOURS_MD)], csrf=False)
    assert response.status_code == 403
    assert remove(admin, "libraries", "opening-hours.md", csrf=False).status_code == 403
    assert save_glossary(admin, "libraries", "tip: bin", csrf=False).status_code == 403
    assert stored_glossary(seeded, "libraries") is None
    assert documents(seeded, "libraries") == {"opening-hours.md": "Library opening hours"}
    assert not (var_of(app) / "knowledge-uploads").exists()


# ---------------------------------------------------------------------------- hostile text
def test_hostile_titles_names_and_addresses_are_shown_as_text(
        app: FastAPI, admin: TestClient, seeded: Seeded) -> None:
    hostile = (f"# Pool {SCRIPT} {IMG}\n\nThe pool opens at 7:00.\n").encode()
    page_html = (b"<html><head><title>Join</title><link rel='canonical' "
                 b"href='javascript:alert(1)'></head><body><h1>Join \"now\"</h1>"
                 b"<p>Bring proof of address.</p></body></html>")
    report = finished(admin, send(admin, "leisure", [(f"{IMG}.md", hostile),
                                                     ("join.html", page_html)]))
    assert report["status"] == "done", report
    html = admin.get(KNOWLEDGE).text
    assert SCRIPT not in html and IMG not in html
    assert "Pool &lt;script&gt;alert(1)&lt;/script&gt; &lt;img src=x onerror=alert(1)&gt;" in html
    assert 'data-confirm="Remove Pool &lt;script&gt;' in html
    assert 'href="javascript:' not in html and "<br>javascript:alert(1)</td>" in html
    assert "Join &#34;now&#34;" in html
    # The file name lost its markup; the collection field keeps what was typed, escaped.
    assert set(documents(seeded, "leisure")) == {"img-src-x-onerror-alert-1.md", "join.html"}
    bad = send(admin, f"x{SCRIPT}", [("a.md", HOURS_MD)])
    assert bad.status_code == 400 and SCRIPT not in bad.text
    assert 'value="x&lt;script&gt;alert(1)&lt;/script&gt;"' in bad.text
