"""The subscribe form pasted into the organisation's own website: it posts cross-site to
``/subscribe/<list>/embed/`` without our CSRF cookie, and lands on the branded "check your
mailbox" page; the usual guards (public lists only, honeypot, rate limit, double opt-in,
address checks) hold, and hostile input is refused or escaped."""

from __future__ import annotations

from typing import Any

import pytest
from django.core import mail
from django.core.cache import cache
from django.test import Client

from mailer.brand.models import Brand
from mailer.brand.services import brand_save
from mailer.web.roles import Role
from subscribers.models import MailingList, Subscriber, Subscription
from tests.web.personas import make_user, signed_in

ORG_SITE = "https://www.partner-org.example"


def cross_site() -> Client:
    """A browser coming from the organisation's site: no cookies of ours, CSRF enforced."""
    return Client(enforce_csrf_checks=True, HTTP_ORIGIN=ORG_SITE, HTTP_REFERER=f"{ORG_SITE}/news",
                  HTTP_SEC_FETCH_SITE="cross-site")


def fields(**overrides: str) -> dict[str, str]:
    data = {"email": "reader@example.org", "name": "Reader", "language": "en",
            "consent": "on", "website": ""}
    data.update(overrides)
    return data


@pytest.fixture(autouse=True)
def fresh_rate_limits() -> None:
    cache.clear()


def test_a_cross_origin_post_subscribes_with_double_opt_in_and_shows_the_branded_page(
        double_list: MailingList, django_capture_on_commit_callbacks: Any) -> None:
    brand_save(Brand(name_en="IOM Central Asia", reply_to="press@iom.example.org"))
    with django_capture_on_commit_callbacks(execute=True):
        response = cross_site().post("/subscribe/digest/embed/", fields())
    assert response.status_code == 200
    page = response.content.decode()
    assert "we have sent it an email" in page
    assert '<header class="brand">' in page and "IOM Central Asia" in page
    sub = Subscription.objects.get(subscriber__email="reader@example.org")
    assert sub.status == "unconfirmed"
    assert "I agree to receive Digest" in sub.consent_text
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["reader@example.org"]
    assert mail.outbox[0].message()["Reply-To"] == "press@iom.example.org"


def test_the_same_cross_origin_post_to_the_sites_own_form_is_refused_by_csrf(
        double_list: MailingList) -> None:
    """Only the embed endpoint is exempt."""
    assert cross_site().post("/subscribe/digest/", fields()).status_code == 403
    assert not Subscriber.objects.exists()


def test_the_embed_endpoint_answers_only_posts(double_list: MailingList) -> None:
    assert Client().get("/subscribe/digest/embed/").status_code == 405


def test_it_refuses_a_private_list(db: None) -> None:
    MailingList.objects.create(slug="partners", name="Partners", visibility="private")
    assert cross_site().post("/subscribe/partners/embed/", fields()).status_code == 404
    assert not Subscriber.objects.exists()


@pytest.mark.parametrize("address", ["reader@example.org\r\nBcc: everyone@example.org",
                                     "reader@example.org\nCc: x@example.org",
                                     "reader@example.org%0d%0aBcc:x@example.org"])
def test_it_refuses_a_header_injection_in_the_address(double_list: MailingList,
                                                       address: str) -> None:
    response = cross_site().post("/subscribe/digest/embed/", fields(email=address))
    assert response.status_code == 400
    assert "does not look like an email address" in response.content.decode()
    assert not Subscriber.objects.exists()
    assert mail.outbox == []


def test_it_escapes_markup_in_the_name_when_the_form_comes_back(double_list: MailingList) -> None:
    hostile = '"><script>alert(1)</script><img src=x onerror=alert(2)>'
    response = cross_site().post("/subscribe/digest/embed/", fields(email="not-an-address",
                                                                    name=hostile))
    page = response.content.decode()
    assert response.status_code == 400
    assert "<script>alert(1)" not in page and "<img src=x" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_a_stored_name_with_markup_is_never_markup_on_a_page(
        double_list: MailingList, django_capture_on_commit_callbacks: Any) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        cross_site().post("/subscribe/digest/embed/",
                          fields(name="<b onmouseover=alert(1)>Evil</b>\r\nBcc: x@example.org"))
    stored = Subscriber.objects.get().name
    assert "\r" not in stored and "\n" not in stored  # no header injection via the name
    body = mail.outbox[0].message().as_string()
    assert "Bcc: x@example.org" not in body.split("\n\n", 1)[0]


def test_a_filled_honeypot_answers_like_a_person_and_does_nothing(double_list: MailingList) -> None:
    response = cross_site().post("/subscribe/digest/embed/", fields(website="http://spam"))
    assert response.status_code == 200
    assert not Subscriber.objects.exists() and mail.outbox == []


def test_the_embed_endpoint_shares_the_rate_limit_of_the_form(double_list: MailingList) -> None:
    for i in range(10):
        cross_site().post("/subscribe/digest/embed/", fields(email=f"r{i}@example.org"),
                          REMOTE_ADDR="198.51.100.7")
    response = cross_site().post("/subscribe/digest/embed/", fields(email="r11@example.org"),
                                 REMOTE_ADDR="198.51.100.7")
    assert response.status_code == 429


def test_the_answer_is_in_the_language_the_form_asked_for(double_list: MailingList) -> None:
    response = cross_site().post("/subscribe/digest/embed/", fields(language="ru"))
    assert '<html lang="ru">' in response.content.decode()


# --- the staff page with the snippet -------------------------------------------------------

def test_an_admin_gets_the_snippet_that_posts_to_the_embed_endpoint(
        double_list: MailingList, settings: Any) -> None:
    settings.SITE_URL = "https://news.example.org"
    client = signed_in(make_user("alma", Role.ADMIN))
    page = client.get(f"/audience/forms/{double_list.pk}/?lang=ru").content.decode()
    assert ('action="https://news.example.org/subscribe/digest/embed/"' in page.replace("&quot;", '"'))
    assert "name=&quot;website&quot;" in page  # the honeypot travels with the form
    assert "csrfmiddlewaretoken" not in page.split('id="snippet"', 1)[1].split("</textarea>")[0]
    assert "value=&quot;ru&quot;" in page
    assert client.get("/audience/forms/").status_code == 200


def test_the_snippet_page_says_a_private_list_has_no_form(db: None) -> None:
    mlist = MailingList.objects.create(slug="partners", name="Partners", visibility="private")
    client = signed_in(make_user("alma", Role.ADMIN))
    page = client.get(f"/audience/forms/{mlist.pk}/").content.decode()
    assert "This list is private" in page and 'id="snippet"' not in page


def test_comms_staff_cannot_open_the_snippet_pages(double_list: MailingList) -> None:
    client = signed_in(make_user("casey", Role.COMMS))
    assert client.get("/audience/forms/").status_code == 403
    assert client.get(f"/audience/forms/{double_list.pk}/").status_code == 403
