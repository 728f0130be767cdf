"""Issues in the staff app: create from Markdown, edit with live preview, images, XSS."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from mailer.issues.models import Issue, IssueVariant
from mailer.web.models import MediaAsset

PNG = (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00"
       b"\x00\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N"
       b"\x00\x00\x00\x00IEND\xaeB`\x82")
XSS = '<script>alert("x")</script>'


def editor_data(**overrides: str) -> dict[str, str]:
    data = {"title": "Issue 4", "number": "4", "date": "2020-08-01", "subject": "News in August",
            "preheader": "", "from_name": "", "body": "## Hello\n\nA paragraph of text.\n",
            "lang": "en"}
    data.update(overrides)
    return data


def test_it_creates_an_issue_from_the_seed_file(comms_client: Client, seed_source: str) -> None:
    upload = SimpleUploadedFile("iom-central-asia-issue-3.md", seed_source.encode())
    response = comms_client.post(reverse("web:issue-new"),
                                 {"markdown_file": upload, "language": "en"})
    issue = Issue.objects.get()
    assert response["Location"] == reverse("web:issue-edit", args=[issue.pk])
    assert issue.created_by is not None and issue.created_by.username == "casey"
    assert issue.variants.get().language == "en"


def test_it_refuses_a_new_issue_without_markdown(comms_client: Client) -> None:
    response = comms_client.post(reverse("web:issue-new"), {"language": "en"})
    assert response.status_code == 200
    assert b"Choose a Markdown file or paste the Markdown" in response.content
    assert not Issue.objects.exists()


def test_it_lists_issues_with_their_status(viewer_client: Client, issue: Issue) -> None:
    response = viewer_client.get(reverse("web:issues"))
    assert issue.title.encode() in response.content
    assert b"status-draft" in response.content


def test_it_shows_the_preview_at_desktop_and_phone_widths(comms_client: Client,
                                                          issue: Issue) -> None:
    response = comms_client.get(reverse("web:issue-edit", args=[issue.pk]))
    html = response.content.decode()
    assert 'id="frame-desktop"' in html and 'width="600"' in html
    assert 'id="frame-phone"' in html and 'width="375"' in html
    assert 'id="panel-text"' in html
    assert "DIRECT ASSISTANCE" in html  # the compiled email, inside the srcdoc


def test_it_shows_render_warnings_next_to_the_editor(comms_client: Client, issue: Issue) -> None:
    response = comms_client.get(reverse("web:issue-edit", args=[issue.pk]))
    assert b"goes nowhere in an email" in response.content


def test_it_warns_next_to_the_editor_about_a_subject_in_capitals(comms_client: Client,
                                                                 issue: Issue) -> None:
    response = comms_client.get(reverse("web:issue-edit", args=[issue.pk]))
    assert "the subject &#x27;RETURNING HOME&#x27; is all capitals" in response.content.decode()
    assert b"SUBJ_ALL_CAPS" in response.content


def test_it_renders_unsaved_text_for_the_live_preview(comms_client: Client, issue: Issue) -> None:
    response = comms_client.post(reverse("web:issue-render", args=[issue.pk]),
                                 editor_data(body="## Fresh words\n\nNot saved yet.\n"))
    data = json.loads(response.content)
    assert data["ok"] is True
    assert "Fresh words" in data["html"] and "Not saved yet." in data["text"]
    assert data["subject"] == "News in August"
    assert IssueVariant.objects.get(issue=issue).source_markdown.count("Fresh words") == 0


def test_it_reports_template_code_as_an_error_instead_of_a_preview(comms_client: Client,
                                                                   issue: Issue) -> None:
    response = comms_client.post(reverse("web:issue-render", args=[issue.pk]),
                                 editor_data(body="Hello {{ settings.SECRET_KEY }}\n"))
    data = json.loads(response.content)
    assert data["ok"] is False
    assert any(f["level"] == "error" for f in data["findings"])


def test_it_saves_the_form_fields_as_front_matter(comms_client: Client, issue: Issue) -> None:
    before = issue.variants.get().revision
    comms_client.post(reverse("web:issue-edit", args=[issue.pk]) + "?lang=en", editor_data())
    variant = issue.variants.get()
    assert variant.revision == before + 1
    assert variant.subject == "News in August"
    assert variant.source_markdown.startswith("---\ntitle: Issue 4\n")
    issue.refresh_from_db()
    assert (issue.title, issue.number) == ("Issue 4", 4)


def test_it_adds_a_language_version(comms_client: Client, issue: Issue) -> None:
    comms_client.post(reverse("web:issue-edit", args=[issue.pk]) + "?lang=ru",
                      editor_data(title="Выпуск 4", body="## Привет\n\nТекст.\n", lang="ru"))
    ru = issue.variants.get(language="ru")
    assert "Привет" in ru.source_markdown
    issue.refresh_from_db()
    assert issue.title != "Выпуск 4"  # the default language names the issue


def test_it_escapes_script_in_an_issue_title(comms_client: Client, issue: Issue) -> None:
    comms_client.post(reverse("web:issue-edit", args=[issue.pk]), editor_data(title=XSS))
    for url in (reverse("web:issues"), reverse("web:issue-edit", args=[issue.pk]),
                reverse("web:issue-sends", args=[issue.pk])):
        content = comms_client.get(url).content.decode()
        assert XSS not in content
        assert "&lt;script&gt;" in content


def test_it_keeps_script_in_markdown_out_of_the_preview(comms_client: Client,
                                                        issue: Issue) -> None:
    response = comms_client.post(reverse("web:issue-render", args=[issue.pk]),
                                 editor_data(body=f"Hi\n\n{XSS}\n\n<img src=x onerror=alert(1)>\n"))
    data = json.loads(response.content)
    assert "<script" not in data["html"].split("</head>", 1)[-1]
    assert "onerror" not in data["html"]


def test_it_uploads_an_image_and_gives_its_markdown(comms_client: Client) -> None:
    response = comms_client.post(
        reverse("web:media"), {"image": SimpleUploadedFile("map.png", PNG), "alt_text": "A map"},
        HTTP_ACCEPT="application/json")
    assert response.status_code == 201
    data = json.loads(response.content)
    assert data["markdown"].startswith("![A map](http")
    assert MediaAsset.objects.get().content_type == "image/png"


def test_it_refuses_an_upload_that_is_not_an_image(comms_client: Client) -> None:
    svg = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'
    response = comms_client.post(reverse("web:media"),
                                 {"image": SimpleUploadedFile("x.png", svg), "alt_text": ""},
                                 HTTP_ACCEPT="application/json")
    assert response.status_code == 400
    assert not MediaAsset.objects.exists()


def test_an_uploaded_image_outlives_its_library_entry(comms_client: Client, admin_client: Client,
                                                      settings: Any, tmp_path: Path) -> None:
    """Sent emails point at the image for years: deleting the entry keeps the file served."""
    settings.MEDIA_ROOT = tmp_path
    comms_client.post(reverse("web:media"), {"image": SimpleUploadedFile("map.png", PNG),
                                             "alt_text": "A map"}, HTTP_ACCEPT="application/json")
    asset = MediaAsset.objects.get()
    url = asset.file.url
    response = admin_client.post(reverse("admin:web_mediaasset_delete", args=[asset.pk]), {"post": "yes"})
    assert response.status_code == 302 and not MediaAsset.objects.exists()
    served = comms_client.get(url)
    assert served.status_code == 200 and served["Content-Type"] == "image/png"


def test_the_admin_cannot_replace_an_uploaded_file(admin_client: Client, comms_client: Client,
                                                   settings: Any, tmp_path: Path) -> None:
    settings.MEDIA_ROOT = tmp_path
    comms_client.post(reverse("web:media"), {"image": SimpleUploadedFile("map.png", PNG),
                                             "alt_text": "A map"}, HTTP_ACCEPT="application/json")
    asset = MediaAsset.objects.get()
    page = admin_client.get(reverse("admin:web_mediaasset_change", args=[asset.pk]))
    assert b'type="file"' not in page.content
    assert admin_client.get(reverse("admin:web_mediaasset_add")).status_code == 403
