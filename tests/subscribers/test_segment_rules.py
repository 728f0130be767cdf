"""The segment rule language: what a rule selects, and how a bad rule is refused."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from subscribers.models import MailingList, Subscriber, Suppression
from subscribers.segments import (
    SegmentError,
    segment_filter,
    segment_preview,
)


def matching(rule: str) -> set[str]:
    return {s.name for s in Subscriber.objects.filter(segment_filter(rule))}


def test_it_selects_the_example_rule_from_the_issue(people: dict[str, Subscriber]) -> None:
    rule = 'country in (KZ, KG) and language = ru and tag = ngo and not attributes.role = "intern"'
    assert matching(rule) == {"Aida"}


def test_it_keeps_people_without_the_attribute_under_not(people: dict[str, Subscriber]) -> None:
    assert matching('not attributes.role = "intern"') == {"Aida", "Chris", "Dina"}


def test_it_treats_keywords_and_country_codes_case_insensitively(people: Any) -> None:
    assert matching("COUNTRY = kz AND Language = RU") == {"Aida"}


def test_it_combines_or_and_parentheses(people: Any) -> None:
    assert matching("(country = TJ or country = KG) and tag = ngo") == {"Bek", "Dina"}


def test_it_matches_two_tags_on_the_same_person(people: Any) -> None:
    assert matching("tag = ngo and tag = media") == {"Bek"}


def test_it_excludes_with_not_in(people: Any) -> None:
    assert matching("country not in (KZ, KG)") == {"Dina"}


def test_it_compares_numeric_attributes(people: Any) -> None:
    assert matching("attributes.age >= 30") == {"Aida"}


def test_it_tests_attribute_presence_with_exists(people: Any) -> None:
    assert matching("attributes.role exists") == {"Aida", "Bek", "Dina"}


def test_it_matches_email_domain(people: Any) -> None:
    assert matching("domain = UN.org") == {"Chris"}


def test_it_matches_confirmed_list_members(people: Any, public_list: MailingList,
                                           subscribe: Any) -> None:
    subscribe(people["aida"], public_list)
    subscribe(people["bek"], public_list, "unsubscribed")
    assert matching("list = news") == {"Aida"}


def test_it_applies_through_a_prefix_to_subscriptions(people: Any, public_list: MailingList,
                                                      subscribe: Any) -> None:
    from subscribers.models import Subscription

    subscribe(people["aida"], public_list)
    subscribe(people["chris"], public_list)
    qs = Subscription.objects.filter(segment_filter("language = ru", prefix="subscriber__"))
    assert [s.subscriber.name for s in qs] == ["Aida"]


@pytest.mark.parametrize(("rule", "position"), [
    ("country = ", 10),
    ("country in (KZ, KG", 18),
    ("country == KZ", 9),
    ("(country = KZ", 13),
    ("country = KZ and", 16),
    ("country KZ", 8),
])
def test_it_points_at_the_position_of_a_syntax_error(rule: str, position: int) -> None:
    with pytest.raises(SegmentError) as err:
        segment_filter(rule)
    assert err.value.position == position
    assert f"column {position + 1}" in str(err.value)


def test_it_names_an_unknown_field_and_suggests_a_known_one() -> None:
    with pytest.raises(SegmentError) as err:
        segment_filter("language = ru and contry = KZ")
    assert err.value.position == 18
    assert "unknown field 'contry'" in err.value.message
    assert "country" in err.value.message


def test_it_refuses_an_unknown_country_code() -> None:
    with pytest.raises(SegmentError) as err:
        segment_filter("country = XX")
    assert err.value.position == 10


def test_it_refuses_an_operator_the_field_does_not_support() -> None:
    with pytest.raises(SegmentError, match="does not support"):
        segment_filter("country > KZ")


def test_it_refuses_an_empty_rule() -> None:
    with pytest.raises(SegmentError, match="empty"):
        segment_filter("   ")


@pytest.mark.parametrize("rule", [
    "country = 'KZ'; DROP TABLE subscribers_subscriber; --",
    "country = KZ OR 1=1",
    "email = x' OR '1'='1",
    "country = KZ -- comment",
    "name = a/* */",
    "country = KZ UNION SELECT password FROM auth_user",
    "attributes.role') OR 1=1 -- = x",
    "attributes.contains = x",
])
def test_it_refuses_sql_fragments_and_touches_nothing(people: Any, rule: str) -> None:
    before = Subscriber.objects.count()
    with pytest.raises(SegmentError):
        Subscriber.objects.filter(segment_filter(rule)).count()
    assert Subscriber.objects.count() == before


def test_it_passes_a_quoted_sql_looking_value_as_plain_data(people: Any) -> None:
    assert matching("""name = "x' OR '1'='1" """) == set()
    assert Subscriber.objects.count() == 4


def test_it_refuses_a_rule_nested_too_deep() -> None:
    with pytest.raises(SegmentError, match="nests deeper"):
        segment_filter("not " * 100 + "country = KZ")


def test_it_previews_count_and_sample(people: Any) -> None:
    count, sample = segment_preview("language = ru", sample_size=2)
    assert count == 3
    assert [s.name for s in sample] == ["Aida", "Bek"]


def test_it_draws_the_audience_from_lists_minus_exclusions_within_the_segment(
        people: Any, public_list: MailingList, double_list: MailingList, subscribe: Any,
        audience_of: Any) -> None:
    staff = MailingList.objects.create(slug="staff", name="Staff")
    for p in ("aida", "bek", "chris"):
        subscribe(people[p], public_list)
    subscribe(people["dina"], double_list)
    subscribe(people["bek"], staff)
    assert audience_of([public_list, double_list], (staff,), "language = ru") == {"Aida", "Dina"}


def test_it_leaves_suppressed_addresses_out_of_the_audience(
        people: Any, public_list: MailingList, subscribe: Any, audience_of: Any) -> None:
    subscribe(people["aida"], public_list)
    subscribe(people["chris"], public_list)
    Suppression.objects.create(email="aida@ngo.kz", email_hash=people["aida"].email_hash,
                               reason="unsubscribed")
    assert audience_of([public_list]) == {"Chris"}


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(alphabet=st.sampled_from(list("country language tag attributes.x =!<>()',\";-*/ "
                                             "and or not in KZ ru 1 \\ \n\x00")), max_size=60))
def test_it_answers_any_text_with_a_filter_or_a_segment_error(rule: str) -> None:
    try:
        q = segment_filter(rule)
    except SegmentError as exc:
        assert 0 <= exc.position <= len(rule)
    else:
        assert q is not None


def test_it_matches_tags_in_any_letter_case(people: Any) -> None:
    assert matching("tag = MEDIA") == {"Bek"}
