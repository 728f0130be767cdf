"""Layout templates cannot make a render run or grow without bound (issue 10, low finding):
loops share one iteration budget and a deadline; operators, ~ and filters refuse values
larger than any email. Each refusal is quick and names the limit."""

from __future__ import annotations

import time

import pytest

from mailer.rendering.layouts import layout_validate
from mailer.rendering.sandbox import MAX_LOOP_ITERATIONS
from tests.rendering.conftest import ROOT

PLAIN = (ROOT / "examples" / "layouts" / "plain.mjml.j2").read_text(encoding="utf-8")
FOOTER = "{{ postal_address }}"

HOSTILE = {
    "nested-ranges": "{% for a in range(99999) %}{% for b in range(99999) %}.{% endfor %}{% endfor %}",
    "nested-string-loops": '{% for a in "x" * 50000 %}{% for b in "y" * 50000 %}{% endfor %}{% endfor %}',
    "repeat-bomb": '{{ "x" * 10**10 }}',
    "power-tower": "{{ ((99**64)**64)**64 }}",
    "doubling-concat": "{% set a = 'xxxxxxxxxx' %}" + "{% set a = a ~ a %}" * 40 + "{{ a|length }}",
    "huge-filter-width": '{{ "x"|center(1000000000) }}',
    "huge-format-width": '{{ "%0999999999d" % 1 }}',
    "recursive-macro": "{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}",
    "recursive-loop": "{% for x in [[1]] recursive %}{{ loop([x]) }}{% endfor %}",
}


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_a_runaway_layout_is_refused_quickly_naming_the_limit(name):
    started = time.monotonic()
    problems = layout_validate(PLAIN.replace(FOOTER, FOOTER + HOSTILE[name], 1), name=name)
    assert time.monotonic() - started < 10
    assert [f.code for f in problems] == ["template-unsafe"]
    assert problems[0].message.startswith(f"{name}: ") and "Nothing was rendered" in problems[0].message


def test_the_loop_budget_names_its_number():
    problems = layout_validate(PLAIN.replace(FOOTER, FOOTER + HOSTILE["nested-ranges"], 1),
                               name="loops")
    assert f"{MAX_LOOP_ITERATIONS:,} times" in problems[0].message


def test_short_loops_and_ordinary_arithmetic_still_work():
    snippet = "{% for i in range(3) %}{{ i * 2 }}{% endfor %} {{ '%05d' % 7 }} {{ 'ab' * 3 }}"
    assert layout_validate(PLAIN.replace(FOOTER, FOOTER + snippet, 1), name="ok") == []
