"""The audit trail seen from the review area: staff actions done through the pages and the
JSON API are recorded and listed on the admins' Audit trail page, which filters, pages,
escapes what it shows and downloads as CSV and JSON (the download is recorded too);
reviewers get 403 (FastAPI TestClient, SQLite, the real embedder for the knowledge
upload)."""

from __future__ import annotations

import csv
import io
import json
import re
from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select

from bot.accounts.tokens import issue_token
from bot.audit.trail import Action, Actor, record
from bot.store.audit_models import AuditEntry
from bot.store.db import session_scope
from bot.store.review_models import User
from tests.unit.review_web_support import (
    ADMIN,
    REVIEWER,
    SCRIPT,
    Seeded,
    csrf_of,
    login,
    signed_in,
    to_login,
)
from tests.unit.test_api_docs_and_tokens import make_token, token_id
from tests.unit.test_engine import LIBRARY
from tests.unit.test_knowledge_admin import HOURS_MD, finished, remove, send
from tests.unit.test_user_admin import assert_accessible_form

AUDIT = "/review/audit"
USERS = "/review/admin/users"
NEW = "new-colleague@council.example"
ROW_RE = re.compile(r"<tr>\s*<td><time[^>]*>[^<]*</time></td>\s*<td>([^<]*)</td>\s*"
                    r"<th scope=\"row\">[^<]*<span class=\"muted\">\(([a-z_.]+)\)</span></th>"
                    r"\s*<td>([^<]*)</td>", re.DOTALL)


def post(client: TestClient, path: str, **form: str) -> Any:
    response = client.post(path, data={**form, "csrf_token": csrf_of(client, "/review")},
                           follow_redirects=False)
    assert response.status_code in (200, 303), (path, response.status_code, response.text)
    return response


def rows(client: TestClient, query: str = "") -> list[tuple[str, str, str]]:
    """(who, action, target) of each row of the audit page."""
    page = client.get(AUDIT + query)
    assert page.status_code == 200, page.text
    return [(who, action, target) for who, action, target in ROW_RE.findall(page.text)]


def entries(url: str) -> list[tuple[str, str, str, dict[str, Any] | None]]:
    with session_scope(url) as session:
        return [(e.actor, e.action, e.target, e.detail) for e in
                session.scalars(select(AuditEntry).order_by(AuditEntry.id))]


def test_staff_actions_are_recorded_and_shown_to_admins(app: FastAPI, seeded: Seeded,
                                                       anonymous: TestClient) -> None:
    url = seeded.url
    assert login(anonymous, f"{SCRIPT}@x.example", "not the password 1").status_code == 400
    admin = signed_in(app, ADMIN)
    reviewer = signed_in(app, REVIEWER)
    post(admin, f"/review/c/{LIBRARY}/close")
    post(admin, f"/review/c/{LIBRARY}/open")
    post(admin, f"/review/c/{LIBRARY}/outcome", text="We will open until 8pm on Thursdays.")
    assert admin.get(f"/review/c/{LIBRARY}/export/csv").status_code == 200
    post(admin, USERS, email=NEW, role="reviewer", password="a long new password 1",
         password_again="a long new password 1")
    with session_scope(url) as session:
        new_id = session.scalars(select(User.id).where(User.email == NEW)).one()
        reviewer_account = session.scalars(select(User).where(User.email == REVIEWER[0])).one()
        api_token = issue_token(session, reviewer_account, "analysis")
    post(admin, f"{USERS}/{new_id}/role", role="admin")
    post(admin, f"{USERS}/{new_id}/disable")
    post(admin, f"{USERS}/{new_id}/enable")
    post(admin, f"{USERS}/{new_id}/password", password="reset password 2027",
         password_again="reset password 2027")
    post(admin, f"{USERS}/{new_id}/unlock")
    make_token(admin, "weekly figures")
    post(admin, f"/review/account/tokens/{token_id(url, 'weekly figures')}/revoke")
    post(reviewer, "/review/account/password", current=REVIEWER[1],
         new="a changed password 2027", repeated="a changed password 2027")
    exported = anonymous.get(f"/api/v1/consultations/{LIBRARY}/exports/json",
                             headers={"Authorization": f"Bearer {api_token}"})
    assert exported.status_code == 200 and exported.json()

    shown = rows(admin)
    assert [action for _, action, _ in reversed(shown)] == [
        "auth.sign_in_failed", "auth.sign_in", "auth.sign_in", "consultation.close",
        "consultation.reopen", "outcome.publish", "export.download", "user.create",
        "user.role_change", "user.disable", "user.enable", "user.password_reset",
        "user.unlock", "token.create", "token.revoke", "user.password_change",
        "export.download"]
    assert shown[-1] == ("anonymous", "auth.sign_in_failed",
                         "&lt;script&gt;alert(1)&lt;/script&gt;@x.example")
    assert shown[0] == (REVIEWER[0], "export.download", LIBRARY)
    stored = entries(url)
    assert stored[6][3] == {"format": "csv", "via": "web"}
    assert stored[-1][3] == {"format": "json", "via": "api"}
    assert stored[8][3] == {"role": "admin"} and stored[0][3] == {"locked": False}
    everything = json.dumps(stored)
    for secret in ("not the password", "a long new password", "reset password 2027",
                   "a changed password", "cdsn_", "8pm on Thursdays"):
        assert secret not in everything, secret

    page = admin.get(AUDIT).text
    assert SCRIPT not in page and "<img" not in page
    assert '<a href="/review/audit">Audit trail</a>' in page
    assert '<th scope="col">When (UTC)</th>' in page and "17 entries, newest first" in page
    assert_accessible_form(page)
    assert rows(admin, "?action=user.create") == [(ADMIN[0], "user.create", NEW)]
    assert {who for who, _, _ in rows(admin, "?who=REVIEWER@")} == {REVIEWER[0]}
    assert [a for _, a, _ in rows(admin, f"?target={LIBRARY}&action=export.download")] == \
        ["export.download", "export.download"]
    assert rows(admin, "?since=2999-01-01") == []
    bad = admin.get(AUDIT + "?since=yesterday&until=31/12/2027")
    assert bad.status_code == 200 and bad.text.count("Write dates as YYYY-MM-DD") == 2
    assert "17 entries" in bad.text  # the unusable dates are left out of the filter


def test_the_trail_pages_and_downloads_with_its_filters(admin: TestClient,
                                                        seeded: Seeded) -> None:
    with session_scope(seeded.url) as session:
        for n in range(60):
            record(session, Actor("ops@council.example", 99), Action.EXPORT, f"c-{n:02}",
                   format="csv", via="api")
        record(session, Actor.cli(), Action.PRIVACY_ERASE, "telegram:0123456789ab")
    first = admin.get(AUDIT + "?action=export.download").text
    assert "60 entries" in first and "Page 1 of 2" in first
    assert 'href="/review/audit?action=export.download&amp;page=2"' in first
    second = rows(admin, "?action=export.download&page=2")
    assert [target for _, _, target in second] == [f"c-{n:02}" for n in range(9, -1, -1)]
    assert 'href="/review/audit/download/csv?action=export.download"' in first

    as_csv = admin.get("/review/audit/download/csv?action=export.download&who=ops@")
    assert as_csv.status_code == 200
    assert as_csv.headers["content-disposition"] == 'attachment; filename="audit-trail.csv"'
    table = list(csv.DictReader(io.StringIO(as_csv.text)))
    assert len(table) == 60 and table[0]["target"] == "c-59"
    assert json.loads(table[0]["detail"]) == {"format": "csv", "via": "api"}
    as_json = admin.get("/review/audit/download/json?target=telegram:")
    assert as_json.headers["content-type"] == "application/json"
    [erase] = as_json.json()
    assert (erase["action"], erase["target"]) == ("privacy.erase", "telegram:0123456789ab")
    assert admin.get("/review/audit/download/xml").status_code == 404
    downloads = rows(admin, "?action=audit.download")
    assert [(who, target) for who, _, target in downloads] == [
        (ADMIN[0], "audit trail"), (ADMIN[0], "audit trail")]
    details = [d for _, action, _, d in entries(seeded.url) if action == "audit.download"]
    assert details == [
        {"format": "csv", "filter_action": "export.download", "filter_who": "ops@"},
        {"format": "json", "filter_target": "telegram:"}]


def test_only_admins_see_the_trail(reviewer: TestClient, anonymous: TestClient) -> None:
    for path in (AUDIT, f"{AUDIT}/download/csv", f"{AUDIT}/download/json"):
        assert reviewer.get(path, follow_redirects=False).status_code == 403, path
        assert to_login(anonymous.get(path, follow_redirects=False)), path
    assert 'href="/review/audit"' not in reviewer.get("/review").text
    assert reviewer.post(AUDIT, data={"csrf_token": csrf_of(reviewer, "/review")},
                         follow_redirects=False).status_code == 405


def test_knowledge_uploads_and_removals_are_recorded(admin: TestClient,
                                                    seeded: Seeded) -> None:
    report = finished(admin, send(admin, "pool", [("hours.md", HOURS_MD)]))
    assert report["status"] == "done", report
    assert remove(admin, "pool", "hours.md").status_code == 303
    assert remove(admin, "pool", "hours.md").status_code == 303  # gone: nothing recorded
    assert [(a, t, d) for _, a, t, d in entries(seeded.url)
            if a.startswith("knowledge.")] == [
        ("knowledge.add", "pool", {"files": 1}), ("knowledge.remove", "pool/hours.md", None)]
