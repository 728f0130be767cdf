"""A page's forms read the way a browser submits them, for tests that post real pages."""

from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser


@dataclass
class Form:
    fields: dict[str, str] = field(default_factory=dict)  # what a browser would submit
    names: set[str] = field(default_factory=set)  # every named control, submitted or not


class Forms(HTMLParser):
    """A page's forms as a browser submits them when no button is named: text, hidden and
    password inputs, checked boxes, textareas (without the newline after the start tag,
    which HTML drops) and each select's selected option, else its first."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.forms: list[Form] = []
        self._form: Form | None = None
        self._textarea = ""
        self._select = ""
        self.feed(html)
        self.close()

    def having(self, name: str) -> dict[str, str]:
        """The fields of the first form with a control called ``name``."""
        found = next((form for form in self.forms if name in form.names), None)
        assert found is not None, f"no form on the page has a {name!r} control"
        return dict(found.fields)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {key: value or "" for key, value in attrs}
        if tag == "form":
            self._form = Form()
            self.forms.append(self._form)
        form, name = self._form, a.get("name", "")
        if form is None:
            return
        if tag == "option" and self._select:
            if "selected" in a or self._select not in form.fields:
                form.fields[self._select] = a.get("value", "")
        if not name:
            return
        form.names.add(name)
        kind = a.get("type", "text").lower()
        if tag == "input" and kind in {"checkbox", "radio"}:
            if "checked" in a:
                form.fields[name] = a.get("value") or "on"
        elif tag == "input" and kind not in {"submit", "button", "reset", "image", "file"}:
            form.fields[name] = a.get("value", "")
        elif tag == "textarea":
            self._textarea = name
            form.fields[name] = ""
        elif tag == "select":
            self._select = name

    def handle_data(self, data: str) -> None:
        if self._form is not None and self._textarea:
            self._form.fields[self._textarea] += data

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._form = None
        elif tag == "textarea" and self._form is not None and self._textarea:
            text = self._form.fields[self._textarea]
            self._form.fields[self._textarea] = text[1:] if text.startswith("\n") else text
            self._textarea = ""
        elif tag == "select":
            self._select = ""
