"""Address normalisation: the domain lower-cased and IDNA-encoded, the local part kept."""

from __future__ import annotations

import pytest
from email_validator import EmailNotValidError, validate_email
from hypothesis import given, settings
from hypothesis import strategies as st

from subscribers.services import InvalidAddress, _plain_normalise, email_normalise, text_clean


def reference(raw: str) -> str:
    info = validate_email(raw, check_deliverability=False, allow_smtputf8=False)
    return f"{info.local_part}@{info.ascii_domain.lower()}"


@pytest.mark.parametrize(("raw", "expected"), [
    ("Anna.Petrova@Example.KZ", "Anna.Petrova@example.kz"),
    ("  x@Sub.Example.org ", "x@sub.example.org"),
    ("info@пример.рф", "info@xn--e1afmkfd.xn--p1ai"),
    ("a+tag@EXAMPLE.com", "a+tag@example.com"),
])
def test_it_lowercases_and_idna_encodes_only_the_domain(raw: str, expected: str) -> None:
    assert email_normalise(raw) == expected


@pytest.mark.parametrize("raw", ["", "no-at-sign", "a..b@example.com", "x@sub.test",
                                 "x@a.c1", "x@-a.com", "a@b", "x\r\nBcc: y@example.com"])
def test_it_refuses_what_is_not_an_address(raw: str) -> None:
    with pytest.raises(InvalidAddress):
        email_normalise(raw)


local = st.from_regex(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]{1,20}", fullmatch=True)
domain = st.from_regex(r"([A-Za-z0-9-]{1,12}\.){1,3}[A-Za-z]{2,6}", fullmatch=True)


@settings(max_examples=400, deadline=None)
@given(local, domain)
def test_it_agrees_with_the_validator_on_every_fast_path_address(lp: str, dom: str) -> None:
    raw = f"{lp}@{dom}"
    fast = _plain_normalise(raw)
    if fast is None:
        return
    try:
        assert fast == reference(raw)
    except EmailNotValidError as exc:  # the fast path must never accept what the validator refuses
        pytest.fail(f"fast path accepted {raw!r}, validator says: {exc}")


def test_it_turns_control_characters_into_spaces() -> None:
    assert text_clean("Eve\r\nBcc: x@y\u2028z\x00") == "Eve Bcc: x@y z"


def test_names_lose_template_braces() -> None:
    from subscribers.services import name_clean

    assert name_clean("Aigerim {{ unsubscribe_url }} {% if %}") == "Aigerim unsubscribe_url % if %"


@pytest.mark.parametrize("raw", ["{{7*7}}@example.org", "{%debug%}@example.org",
                                 "${7*7}@example.org", "*|EMAIL|*@example.org", "a%b@example.org",
                                 "`id`@example.org"])
def test_it_refuses_a_template_like_local_part_with_the_reason(raw: str) -> None:
    with pytest.raises(InvalidAddress, match="template syntax"):
        email_normalise(raw)


@pytest.mark.parametrize("mark", ["\u202e", "\u202d", "\u2066", "\u2067", "\u2068", "\u2069",
                                  "\u200e", "\u200f", "\u061c", "\u202a"])
def test_names_lose_bidi_overrides_and_marks(mark: str) -> None:
    from subscribers.services import name_clean

    assert name_clean(f"Bank{mark}gro.live") == "Bankgro.live"
