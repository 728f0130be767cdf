"""Hostile sources end in a render or a clear refusal, fast; native code runs in a helper
process whose crash cannot take the caller down (issue 10, item 1)."""

from __future__ import annotations

import signal
import subprocess
import sys
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mailer.rendering import CompiledEmail, RenderError
from mailer.rendering.limits import MAX_DEPTH, MAX_SOURCE_BYTES, nesting_depth
from mailer.rendering.mjml_build import mjml_to_html
from mailer.rendering.native import NativeCompiler, NativeCompilerCrashed
from tests.rendering.conftest import issue, render

# The finding: ~9,200 nested inline tags in a 28 KB issue.
HOSTILE_28KB = issue("<b>" * 9200 + "x")

CRASHING_MJML = ("<mjml><mj-body><mj-section><mj-column><mj-text>" + "<b>" * 9200 + "x"
                 + "</b>" * 9200 + "</mj-text></mj-column></mj-section></mj-body></mjml>")


def test_the_native_compiler_itself_dies_on_deep_nesting_in_a_plain_process():
    """Reproduces the finding outside our code, so the limits below keep their reason."""
    done = subprocess.run([sys.executable, "-c", "import sys; from mjml import mjml2html; "
                           "mjml2html(sys.stdin.read())"],
                          input=CRASHING_MJML, text=True, capture_output=True, timeout=60)
    assert done.returncode == -signal.SIGSEGV


def test_it_refuses_the_28kb_hostile_issue_fast_naming_the_limit():
    assert 27_000 < len(HOSTILE_28KB.encode()) < 29_000
    started = time.monotonic()
    with pytest.raises(RenderError) as caught:
        render(HOSTILE_28KB)
    elapsed = time.monotonic() - started
    assert elapsed < 5
    assert [f.code for f in caught.value.findings] == ["nesting-too-deep"]
    message = str(caught.value)
    assert f"the limit is {MAX_DEPTH}" in message and "<b><b><b>" in message
    assert "Nothing was rendered" in message


def test_it_refuses_a_source_over_the_size_limit_before_parsing():
    source = issue("[" * (MAX_SOURCE_BYTES + 1))
    started = time.monotonic()
    with pytest.raises(RenderError) as caught:
        render(source)
    assert time.monotonic() - started < 1
    assert caught.value.findings[0].code == "source-too-large"
    assert "limit is 100 KB" in str(caught.value) and "split it" in str(caught.value)


def test_a_pathological_source_just_under_the_size_limit_ends_within_seconds():
    started = time.monotonic()
    with pytest.raises(RenderError):
        render(issue("[" * (MAX_SOURCE_BYTES - 200)))
    assert time.monotonic() - started < 30


def test_ordinary_nesting_is_far_below_the_limit(compile_md):
    from tests.rendering.conftest import SEED

    compiled = compile_md(SEED.read_text("utf-8"))
    assert nesting_depth(compiled.mjml) < MAX_DEPTH // 3


@pytest.mark.parametrize(("markup", "depth"), [
    ("<a><b></b><c/><br><img src=x></a>", 2),
    ("<b><b><b>", 3),                      # never closed: the native parser recurses anyway
    ("<!-- <b><b> -->", 2),                # counted inside comments too (conservative)
    ("<a></x></a><a>", 1),                 # a stray end tag closes nothing
])
def test_nesting_depth_counts_conservatively(markup, depth):
    assert nesting_depth(markup) == depth


def test_the_limits_are_checked_before_the_native_compiler_runs():
    with pytest.raises(RenderError) as caught:
        mjml_to_html(CRASHING_MJML, template_name="test")
    assert caught.value.findings[0].code == "nesting-too-deep"


def test_a_crash_of_the_native_helper_is_a_refusal_and_the_next_compile_works():
    crashing = NativeCompiler(command=(sys.executable, "-c", "import os, signal, sys; "
                                       "sys.stdin.buffer.read(8); os.kill(os.getpid(), signal.SIGSEGV)"))
    with pytest.raises(NativeCompilerCrashed, match="killed by SIGSEGV"):
        crashing.compile("<mjml></mjml>")
    real = NativeCompiler()
    try:
        ok, html = real.compile("<mjml><mj-body></mj-body></mjml>")
        assert ok and "<html" in html
        helper = real._helper()
        helper.send_signal(signal.SIGSEGV)  # the helper dies between compiles
        helper.wait()
        ok, html = real.compile("<mjml><mj-body></mj-body></mjml>")
        assert ok and "<html" in html
    finally:
        real.close()


def test_a_hung_native_helper_is_killed_after_the_timeout():
    hung = NativeCompiler(timeout=0.5, command=(sys.executable, "-c", "import time; time.sleep(60)"))
    started = time.monotonic()
    with pytest.raises(NativeCompilerCrashed, match=r"longer than 0\.5 seconds"):
        hung.compile("<mjml></mjml>")
    assert time.monotonic() - started < 5


def test_a_native_crash_reaches_the_author_as_a_render_error(monkeypatch):
    from mailer.rendering import mjml_build

    crashing = NativeCompiler(command=(sys.executable, "-c", "import os, signal, sys; "
                                       "sys.stdin.buffer.read(8); os.kill(os.getpid(), signal.SIGSEGV)"))
    monkeypatch.setattr(mjml_build, "NATIVE", crashing)
    with pytest.raises(RenderError) as caught:
        render(issue("Hello"))
    assert caught.value.findings[0].code == "mjml-crashed"
    assert "killed by SIGSEGV" in str(caught.value) and "kept running" in str(caught.value)


# Pieces of deep and odd markup: inline and block HTML, Markdown nesting, comments that
# parsers disagree about, entities, MJML tags where content belongs, container fences.
PIECES = ["<b>", "</b>", "<i>", "<em>", "<strong>", "<a href=\"https://e.org\">", "</a>",
          "<span>", "<div>", "</div>", "<p>", "<table><tr><td>", "</td></tr></table>",
          "<blockquote>", "<ul><li>", "<sup>", "<br>", "<b/>", "<!--", "-->", "<!-->",
          "<![CDATA[", "]]>", "<mj-text>", "</mj-text>", "<mj-section>", "<mj-raw>",
          "&#x09;", "&lt;", "&#0;", "> ", "* ", "- ", "1. ", "**", "_", "[", "](", ")",
          "![", "`", "```", "\n", "\n\n", "::: callout\n", ":::\n", "| a |", "\u202e",
          "{{ first_name }}", "<script>", "javascript:", "<img src=x onerror=y>"]


@st.composite
def hostile_bodies(draw: st.DrawFn) -> str:
    runs = draw(st.lists(st.tuples(st.sampled_from(PIECES), st.integers(1, 3000)),
                         min_size=1, max_size=6))
    return "".join(piece * count for piece, count in runs)[:MAX_SOURCE_BYTES + 1000]


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(hostile_bodies())
def test_deep_and_odd_markup_renders_or_is_refused_never_crashes(body):
    started = time.monotonic()
    try:
        result: CompiledEmail | RenderError = render(issue(body))
    except RenderError as exc:
        result = exc
    assert time.monotonic() - started < 30
    if isinstance(result, RenderError):
        assert result.findings and all(f.message for f in result.findings)
        # A crash would mean a missing limit: the helper kept us alive, but no input
        # should get that far.
        assert "mjml-crashed" not in {f.code for f in result.findings}
