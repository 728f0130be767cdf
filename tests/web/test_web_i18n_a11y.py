"""The staff app in Russian, and the accessibility basics a test can check on the HTML:
every form control has a label, images have alt text, the page has a language and a title."""

from __future__ import annotations

from html.parser import HTMLParser

import pytest
from django.test import Client
from django.urls import reverse

from mailer.issues.models import Issue
from mailer.sending.planning import send_create
from subscribers.models import MailingList, Subscriber


def test_it_speaks_russian_when_asked(comms_client: Client, issue: Issue) -> None:
    page = comms_client.get(reverse("web:issues"), HTTP_ACCEPT_LANGUAGE="ru").content.decode()
    assert '<html lang="ru">' in page
    assert "Выпуски" in page and "Новый выпуск" in page


def test_it_switches_the_interface_language(comms_client: Client) -> None:
    comms_client.post(reverse("web:set_language"), {"language": "ru", "next": "/issues/"})
    page = comms_client.get(reverse("web:issues")).content.decode()
    assert "Выйти" in page


def test_it_translates_the_lockout_message(comms_user: object, settings: object) -> None:
    settings.LOGIN_FAILURE_LIMIT = 1  # type: ignore[attr-defined]
    client = Client(HTTP_ACCEPT_LANGUAGE="ru")
    client.post(reverse("web:login"), {"username": "casey", "password": "x"})
    page = client.post(reverse("web:login"), {"username": "casey", "password": "x"})
    assert "Слишком много неудачных попыток входа" in page.content.decode()


class _A11y(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.labels: set[str] = set()
        self.controls: list[dict[str, str]] = []
        self.images: list[dict[str, str]] = []
        self.in_label = 0
        self.title = ""
        self._in_title = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "label":
            self.in_label += 1
            if a.get("for"):
                self.labels.add(a["for"])
        elif tag in ("input", "select", "textarea") and a.get("type") not in (
                "hidden", "submit", "button"):
            self.controls.append({**a, "wrapped": "1" if self.in_label else ""})
        elif tag in ("img", "iframe"):
            self.images.append({**a, "tag": tag})
        elif tag == "title":
            self._in_title = True

    def handle_endtag(self, tag: str) -> None:
        if tag == "label":
            self.in_label -= 1
        if tag == "title":
            self._in_title = False

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self.title += data


@pytest.fixture
def pages(issue: Issue, audience: dict[str, Subscriber], lists: dict[str, MailingList]) -> list[str]:
    send = send_create(issue, [lists["news"]])
    return [reverse("web:issues"), reverse("web:issue-new"),
            reverse("web:issue-edit", args=[issue.pk]), reverse("web:media"),
            reverse("web:send-new", args=[issue.pk]), reverse("web:send-confirm", args=[send.pk]),
            reverse("web:send-detail", args=[send.pk]), reverse("web:send-report", args=[send.pk]),
            reverse("web:sends"), reverse("web:tokens"), reverse("web:import")]


def test_it_labels_every_form_control(admin_client: Client, pages: list[str]) -> None:
    for url in [*pages, reverse("web:login")]:
        parser = _A11y()
        parser.feed((Client() if url == reverse("web:login") else admin_client).get(url)
                    .content.decode())
        unlabelled = [c for c in parser.controls
                      if not c["wrapped"] and c.get("id") not in parser.labels
                      and not c.get("aria-label")]
        assert unlabelled == [], (url, unlabelled)
        assert parser.title.strip(), url


def test_it_gives_every_image_and_frame_a_text_alternative(admin_client: Client,
                                                           pages: list[str]) -> None:
    for url in pages:
        page = admin_client.get(url).content.decode()
        parser = _A11y()
        parser.feed(page)
        for element in parser.images:
            text = element.get("alt") if element["tag"] == "img" else element.get("title")
            assert text is not None and (text or element["tag"] == "img"), (url, element)
