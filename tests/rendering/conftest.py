from __future__ import annotations

from collections.abc import Callable
from html.parser import HTMLParser
from pathlib import Path

import pytest

from mailer.rendering import ChromeContext, CompiledEmail, compile_issue, parse_issue

ROOT = Path(__file__).resolve().parents[2]
SEED = ROOT / "tests" / "fixtures" / "iom-central-asia-issue-3.md"
EXAMPLE_EN = ROOT / "examples" / "issues" / "iom-central-asia-03.md"
EXAMPLE_RU = ROOT / "examples" / "issues" / "iom-central-asia-03.ru.md"
CONTEXT = ChromeContext(site_url="http://127.0.0.1:8000",
                        postal_address="IOM Sub-Regional Coordination Office, Astana")
RECIPIENT = {
    "first_name": "Aigerim", "name": "Aigerim Bekova", "email": "aigerim@example.org",
    "organisation": "Partner NGO", "unsubscribe_url": "https://news.example.org/u/tok/",
    "preferences_url": "https://news.example.org/p/tok/",
    "web_url": "http://127.0.0.1:8000/archive/iom-3/en/",
}


def render(source: str, language: str = "en") -> CompiledEmail:
    return compile_issue(parse_issue(source), language=language, context=CONTEXT)


@pytest.fixture
def compile_md() -> Callable[..., CompiledEmail]:
    return render


def issue(body: str, **meta: str) -> str:
    """An issue source with front matter (a valid preheader unless given)."""
    fields = {"title": "Test issue", "preheader": "A preheader long enough for the inbox "
              "preview line to be useful.", **meta}
    head = "\n".join(f"{k}: {v!r}" if k != "number" else f"{k}: {v}" for k, v in fields.items())
    return f"---\n{head}\n---\n\n{body}"


class Elements(HTMLParser):
    """Every start tag with its attributes, and the visible text, of an HTML document."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text_parts: list[str] = []
        self.feed(html)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data: str) -> None:
        self.text_parts.append(data)

    def all(self, tag: str) -> list[dict[str, str | None]]:
        return [a for t, a in self.tags if t == tag]

    @property
    def text(self) -> str:
        return " ".join(" ".join(self.text_parts).split())
