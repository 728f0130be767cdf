"""STANDARDS row 13: Cyrillic display names as RFC 2047 encoded words that keep words whole."""

from __future__ import annotations

import base64
import email
import re
from email.policy import default

from mailer.sending.mime import address_encode

NAME = "Абдыкадырова-Жээнбекова Гульнара Кубанычбековна"


def words(value: str) -> list[str]:
    return re.findall(r"=\?utf-8\?b\?([^?]*)\?=", value)


def test_every_encoded_word_fits_rfc_2047s_75_characters() -> None:
    assert all(len(w) + len("=?utf-8?b??=") <= 75 for w in words(address_encode(NAME, "g@example.org")))


def test_decoding_by_the_rfc_restores_the_name_exactly() -> None:
    decoded = "".join(base64.b64decode(w).decode() for w in words(address_encode(NAME, "g@example.org")))
    assert decoded == NAME


def test_no_word_of_the_name_is_cut_in_two() -> None:
    pieces = [base64.b64decode(w).decode().strip() for w in words(address_encode(NAME, "g@example.org"))]
    assert all(set(p.split(" ")) <= set(NAME.split(" ")) for p in pieces)


def test_pythons_default_policy_reads_whole_words() -> None:
    message = email.message_from_bytes(
        f"To: {address_encode(NAME, 'g@example.org')}\r\n\r\n".encode(), policy=default)
    assert " ".join(message["To"].addresses[0].display_name.split()) == NAME
