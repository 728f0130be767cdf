from __future__ import annotations

from django.test import RequestFactory

from mailer.core.client_ip import client_ip


def request(remote: str, forwarded: str = ""):  # type: ignore[no-untyped-def]
    extra = {"HTTP_X_FORWARDED_FOR": forwarded} if forwarded else {}
    return RequestFactory().get("/", REMOTE_ADDR=remote, **extra)


def test_it_ignores_forwarded_for_without_trusted_proxies(settings) -> None:  # type: ignore[no-untyped-def]
    settings.TRUSTED_PROXY_COUNT = 0
    assert client_ip(request("203.0.113.9", "198.51.100.1")) == "203.0.113.9"


def test_it_takes_the_address_our_proxy_saw(settings) -> None:  # type: ignore[no-untyped-def]
    settings.TRUSTED_PROXY_COUNT = 1
    # The client forged the first entry; our proxy appended the real one.
    assert client_ip(request("10.0.0.2", "1.2.3.4, 198.51.100.7")) == "198.51.100.7"


def test_it_refuses_garbage_in_the_header(settings) -> None:  # type: ignore[no-untyped-def]
    settings.TRUSTED_PROXY_COUNT = 1
    assert client_ip(request("10.0.0.2", "not-an-ip")) == "10.0.0.2"
