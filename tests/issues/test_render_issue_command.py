"""`newsletter render_issue ID --format html|text|mjml|eml` writes previews of a variant."""

from __future__ import annotations

import email
import re
from email import policy

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

pytestmark = pytest.mark.django_db


def _render(issue, tmp_path, fmt, lang="en"):
    out = tmp_path / f"out.{fmt}"
    call_command("render_issue", str(issue.pk), "--format", fmt, "--lang", lang, "-o", str(out))
    return out.read_bytes()


def test_eml_is_multipart_alternative_with_text_first_then_html(seed_issue, tmp_path):
    msg = email.message_from_bytes(_render(seed_issue, tmp_path, "eml"), policy=policy.default)
    assert msg.get_content_type() == "multipart/alternative"
    parts = list(msg.iter_parts())
    assert [p.get_content_type() for p in parts] == ["text/plain", "text/html"]
    assert all(p.get_content_charset() == "utf-8" for p in parts)
    assert parts[1]["Content-Transfer-Encoding"] == "quoted-printable"


def test_eml_lines_fit_the_rfc_limits(seed_issue, tmp_path):
    raw = _render(seed_issue, tmp_path, "eml", "ru")
    lines = raw.split(b"\r\n")
    assert all(len(line) <= 76 for line in lines[lines.index(b""):])  # QP body lines
    assert all(len(line) <= 998 for line in lines)


def test_eml_subject_is_encoded_and_round_trips(seed_issue, tmp_path):
    raw = _render(seed_issue, tmp_path, "eml", "ru")
    head = raw.split(b"\r\n\r\n", 1)[0]
    head.decode("ascii")
    msg = email.message_from_bytes(raw, policy=policy.default)
    assert msg["Subject"].startswith("МОМ в Центральной Азии №3")


def test_eml_html_is_merged_and_has_the_russian_text(seed_issue, tmp_path):
    msg = email.message_from_bytes(_render(seed_issue, tmp_path, "eml", "ru"),
                                   policy=policy.default)
    html = msg.get_body(("html",)).get_content()
    assert "АЛМАТИНСКИЙ ПРОЦЕСС" in html and "Aigerim" in html
    assert not re.search(r"\{\{|\{%", html)


@pytest.mark.parametrize(("fmt", "marker"), [("html", b"<!doctype html>"),
                                              ("text", b"RETURNING HOME"),
                                              ("mjml", b"<mjml lang=\"en\">")])
def test_other_formats(seed_issue, tmp_path, fmt, marker):
    assert marker in _render(seed_issue, tmp_path, fmt)


def test_an_unrenderable_issue_is_a_clear_command_error(seed_issue):
    variant = seed_issue.variants.get(language="en")
    variant.source_markdown += "\n{{ ''.__class__ }}\n"
    variant.revision += 1
    variant.save()
    with pytest.raises(CommandError, match=r"cannot be rendered.*template code"):
        call_command("render_issue", str(seed_issue.pk), "--format", "html")
