"""One small exception tree: every error the project raises on purpose is a MailerError,
and configuration errors are also Django's ImproperlyConfigured."""

from __future__ import annotations

import pytest
from django.core.exceptions import ImproperlyConfigured

from mailer.env import ConfigError
from mailer.errors import MailerError, SendFault
from mailer.rendering import RenderError
from mailer.sending.planning import PlanError
from mailer.sending.preflight import PreflightRefused
from mailer.sending.smtp import ConnectError, DeliveryError
from mailer.sending.state import TransitionRefused
from subscribers.segments import SegmentError


def test_a_configuration_error_is_improperly_configured_and_ours() -> None:
    assert issubclass(ConfigError, ImproperlyConfigured)
    assert issubclass(ConfigError, MailerError)


@pytest.mark.parametrize("error", [PlanError, PreflightRefused, DeliveryError, ConnectError,
                                   TransitionRefused, RenderError, SegmentError, SendFault])
def test_every_domain_error_is_a_mailer_error(error: type[Exception]) -> None:
    assert issubclass(error, MailerError)


def test_a_segment_error_is_still_a_value_error_for_form_validation() -> None:
    assert issubclass(SegmentError, ValueError)
