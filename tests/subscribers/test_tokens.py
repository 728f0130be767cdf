"""Signed tokens: made with a signer kept per salt and key, read by ``django.core.signing``."""

from __future__ import annotations

import pytest
from django.core import signing
from django.test import override_settings

from subscribers.tokens import (
    PREFERENCES_SALT,
    UNSUBSCRIBE_SALT,
    BadToken,
    preferences_token,
    preferences_token_read,
    unsubscribe_token,
    unsubscribe_token_scope,
)


def test_a_token_is_what_signing_dumps_makes():
    made = unsubscribe_token(12, 3, 45)
    assert signing.loads(made, salt=UNSUBSCRIBE_SALT) == [12, 3, 45]
    assert made.split(":")[0] == signing.dumps([12, 3, 45], salt=UNSUBSCRIBE_SALT,
                                               compress=False).split(":")[0]
    assert signing.loads(preferences_token(12), salt=PREFERENCES_SALT) == 12


def test_a_token_made_after_the_key_changes_is_signed_with_the_new_key():
    unsubscribe_token(12, 3)  # a signer for the old key is kept
    with override_settings(SECRET_KEY="another-key-" + "y" * 40):
        made = unsubscribe_token(12, 3)
        assert unsubscribe_token_scope(made) == (12, 3, None)
    with pytest.raises(BadToken):
        unsubscribe_token_scope(made)


def test_a_preferences_token_does_not_open_an_unsubscribe_link():
    with pytest.raises(BadToken):
        unsubscribe_token_scope(preferences_token(12))
    assert preferences_token_read(preferences_token(12)) == 12
