"""Hostile issue sources through the real import and render commands, each in a process
of its own: a render or a clear refusal within 60 s, never a process killed by a signal
(issue 10, "How it will be checked")."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from mailer.rendering.limits import MAX_SOURCE_BYTES
from tests.web.personas import *  # noqa: F403  (shared fixtures)

ROOT = Path(__file__).resolve().parents[2]
HEAD = "---\ntitle: Hostile\npreheader: A preheader long enough for the inbox preview line.\n---\n\n"

HOSTILE = {
    "nested-b-28kb": "<b>" * 9200 + "x",
    "nested-b-closed": "<b>" * 9200 + "x" + "</b>" * 9200,
    "nested-emphasis": "*" * 9000 + "x" + "*" * 9000,
    "nested-quotes": "> " * 5000 + "x",
    "nested-tables": "<table><tr><td>" * 3000 + "x",
    "comment-trick": "<!--><script>alert(1)</script>-->" * 500,
    "brackets-under-limit": "[" * (MAX_SOURCE_BYTES - 1000),
    "over-the-size-limit": "word " * (MAX_SOURCE_BYTES // 4),
}


@pytest.fixture(scope="module")
def cli_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    db = tmp_path_factory.mktemp("cli") / "db.sqlite3"
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{db}", "DEBUG": "1"}
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env,
                   check=True, timeout=300)
    return env


def _run(env: dict[str, str], *args: str) -> tuple[subprocess.CompletedProcess[str], float]:
    started = time.monotonic()
    done = subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env, text=True,
                          capture_output=True, timeout=120)
    return done, time.monotonic() - started


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_it_renders_or_refuses_a_hostile_source_through_the_commands(cli_env, tmp_path, name):
    path = tmp_path / f"{name}.md"
    path.write_text(HEAD + HOSTILE[name], encoding="utf-8")
    imported, seconds = _run(cli_env, "import_issue", str(path))
    assert imported.returncode in (0, 1), imported.stderr  # never a negative (signal) code
    assert seconds < 60
    if imported.returncode == 1:
        assert "limit" in imported.stderr and "nothing was stored" in imported.stderr
        return
    issue_id = imported.stdout.strip().splitlines()[-1]
    rendered, seconds = _run(cli_env, "render_issue", issue_id, "-o", str(tmp_path / "out.html"))
    assert rendered.returncode in (0, 1), rendered.stderr
    assert seconds < 60
    if rendered.returncode == 1:
        assert "cannot be rendered" in rendered.stderr
        assert any(advice in rendered.stderr for advice in ("Shorten", "remove", "Nothing was"))
    else:
        html = (tmp_path / "out.html").read_text("utf-8")
        assert "<script" not in html.lower() and "alert(1)" not in html


HOSTILE_28KB = HEAD + HOSTILE["nested-b-28kb"]


@pytest.fixture
def hostile_issue(db: None):
    from mailer.issues.services import issue_import

    return issue_import(HOSTILE_28KB, language="en", slug="hostile").issue


def test_the_api_preview_of_a_hostile_issue_is_a_clear_refusal(comms_user, hostile_issue):
    from mailer.web.tokens import token_create
    from tests.api.conftest import ApiClient

    api = ApiClient(token_create(comms_user, name="test"))
    preview = api.post(f"/issues/{hostile_issue.pk}/preview", {}).json()
    assert preview["ok"] is False
    assert [f["code"] for f in preview["findings"]] == ["nesting-too-deep"]
    unsaved = api.post(f"/issues/{hostile_issue.pk}/preview", {"markdown": "<i>" * 20000}).json()
    assert unsaved["ok"] is False and "the limit is 100" in unsaved["findings"][0]["message"]


def test_the_editor_and_preview_pages_of_a_hostile_issue_answer(comms_user, hostile_issue):
    from tests.web.personas import signed_in

    comms_user.is_staff = True
    comms_user.save()
    client = signed_in(comms_user)
    edit = client.get(f"/issues/{hostile_issue.pk}/edit/")
    assert edit.status_code == 200 and "the limit is 100" in edit.content.decode()
    frame = client.get(f"/issues/{hostile_issue.pk}/preview/en/frame/")
    assert frame.status_code == 422 and b"nesting-too-deep" in frame.content
