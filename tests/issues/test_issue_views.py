"""Staff previews at two widths, the public web version and the archive of sent issues."""

from __future__ import annotations

import pytest

from mailer.issues.models import Issue
from mailer.sending.models import Send
from subscribers.models import MailingList
from tests.rendering.conftest import Elements

pytestmark = [pytest.mark.django_db]


def sent(issue: Issue, status: str = Send.Status.DONE, *, visibility: str = "public") -> Send:
    """A send of ``issue`` to one list of the given visibility."""
    send = Send.objects.create(issue=issue, status=Send.Status.DRAFT)  # lists lock once it leaves draft
    send.lists.add(MailingList.objects.create(slug=f"list-{send.pk}", name="List",
                                              visibility=visibility))
    Send.objects.filter(pk=send.pk).update(status=status)
    send.refresh_from_db()
    return send


def test_it_imports_both_variants_into_one_issue(seed_issue):
    assert sorted(seed_issue.variants.values_list("language", flat=True)) == ["en", "ru"]


def test_preview_requires_a_staff_login(client, seed_issue, outsider):
    url = f"/issues/{seed_issue.pk}/preview/"
    assert client.get(url).status_code == 302
    client.force_login(outsider)
    assert client.get(url).status_code == 302


def test_preview_shows_desktop_and_phone_frames_side_by_side(client, seed_issue, staff):
    client.force_login(staff)
    page = client.get(f"/issues/{seed_issue.pk}/preview/?lang=ru")
    frames = Elements(page.content.decode()).all("iframe")
    assert [f["width"] for f in frames] == ["600", "375"]
    assert all(f["src"] == f"/issues/{seed_issue.pk}/preview/ru/frame/" for f in frames)
    assert all(f.get("title") for f in frames)


def test_preview_frame_serves_the_merged_email_to_the_same_origin_only(client, seed_issue, staff):
    client.force_login(staff)
    response = client.get(f"/issues/{seed_issue.pk}/preview/en/frame/")
    assert response.status_code == 200
    assert response["X-Frame-Options"] == "SAMEORIGIN"
    html = response.content.decode()
    assert "{{" not in html and "RETURNING HOME" in html


def test_preview_frame_serves_the_text_part(client, seed_issue, staff):
    client.force_login(staff)
    response = client.get(f"/issues/{seed_issue.pk}/preview/en/frame/?format=text")
    assert response["Content-Type"].startswith("text/plain")
    assert "RETURNING HOME\n==============" in response.content.decode()


def test_preview_frame_is_staff_only(client, seed_issue):
    assert client.get(f"/issues/{seed_issue.pk}/preview/en/frame/").status_code == 302


def test_preview_lists_errors_instead_of_frames(client, seed_issue, staff):
    variant = seed_issue.variants.get(language="en")
    variant.source_markdown += "\n\n[x](javascript:alert(1))\n"
    variant.revision += 1
    variant.save()
    client.force_login(staff)
    page = client.get(f"/issues/{seed_issue.pk}/preview/?lang=en").content.decode()
    assert "javascript:alert" in page and "<iframe" not in page


def test_archive_lists_nothing_when_nothing_was_sent(client, seed_issue):
    Send.objects.create(issue=seed_issue, status=Send.Status.DRAFT)
    page = client.get("/archive/").content.decode()
    assert seed_issue.title not in page


@pytest.mark.parametrize("status", [Send.Status.DONE, Send.Status.SENDING])
def test_archive_lists_issues_that_were_sent(client, seed_issue, status):
    sent(seed_issue, status)
    page = client.get("/archive/").content.decode()
    links = {a.get("href") for a in Elements(page).all("a")}
    assert {f"/archive/{seed_issue.slug}/en/", f"/archive/{seed_issue.slug}/ru/"} <= links


def test_web_version_is_hidden_until_the_issue_is_sent(client, seed_issue):
    assert client.get(f"/archive/{seed_issue.slug}/en/").status_code == 404


def test_web_version_of_a_sent_issue_is_public_and_in_its_language(client, seed_issue):
    sent(seed_issue)
    response = client.get(f"/archive/{seed_issue.slug}/ru/")
    assert response.status_code == 200
    assert Elements(response.content.decode()).all("html")[0]["lang"] == "ru"


def test_web_version_url_is_the_one_the_sending_code_uses(seed_issue):
    from mailer.issues.services import web_version_url
    from mailer.sending.compose import web_url

    assert web_version_url(seed_issue, "ru") == web_url(seed_issue.slug, "ru")


def test_unknown_language_is_not_found(client, seed_issue):
    sent(seed_issue)
    assert client.get(f"/archive/{seed_issue.slug}/kk/").status_code == 404


def test_an_issue_sent_only_to_a_private_list_stays_out_of_the_archive(client, seed_issue):
    """Issue 10 (low): it was listed, and its web version open to anyone."""
    sent(seed_issue, visibility="private")
    assert seed_issue.title not in client.get("/archive/").content.decode()
    assert client.get(f"/archive/{seed_issue.slug}/en/").status_code == 404
    assert client.get(f"/archive/{seed_issue.slug}/en/?k=forged").status_code == 404


def test_recipients_of_a_private_send_open_its_web_version_with_their_link(client, seed_issue,
                                                                          settings):
    from mailer.issues.services import web_version_url

    sent(seed_issue, visibility="private")
    link = web_version_url(seed_issue, "en").removeprefix(settings.SITE_URL)
    assert client.get(link).status_code == 200
    other_language = web_version_url(seed_issue, "ru").split("?")[1]
    assert client.get(f"/archive/{seed_issue.slug}/en/?{other_language}").status_code == 404


def test_the_key_opens_nothing_before_the_issue_is_sent(client, seed_issue, settings):
    from mailer.issues.services import web_version_url

    link = web_version_url(seed_issue, "en").removeprefix(settings.SITE_URL)
    assert client.get(link).status_code == 404


def test_an_issue_marked_public_appears_even_if_sent_only_to_a_private_list(client, seed_issue):
    sent(seed_issue, visibility="private")
    Issue.objects.filter(pk=seed_issue.pk).update(archive_public=True)
    assert seed_issue.title in client.get("/archive/").content.decode()
    assert client.get(f"/archive/{seed_issue.slug}/en/").status_code == 200


def test_an_issue_marked_public_stays_hidden_until_sent(client, seed_issue):
    Issue.objects.filter(pk=seed_issue.pk).update(archive_public=True)
    Send.objects.create(issue=seed_issue, status=Send.Status.DRAFT)
    assert seed_issue.title not in client.get("/archive/").content.decode()
    assert client.get(f"/archive/{seed_issue.slug}/en/").status_code == 404
