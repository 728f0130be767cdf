"""An issue the renderer has never seen, written in the documented format, renders cleanly."""

from __future__ import annotations

from tests.rendering.conftest import RECIPIENT, Elements, render

UNSEEN = """---
title: Border Bulletin
number: 12
date: 2021-03-01
lang: en
subject: "Border Bulletin 12: spring at the crossings"
preheader: "Spring figures from five crossings, a new hotline for Tajikistan and how to reach us."
from_name: Regional Office
---

Dear {{ first_name|default("reader") }},

## SPRING AT THE CROSSINGS

::: stats title="Crossings this quarter"
- 12,400 | Travellers counselled
- 815 | Referrals
:::

::: callout
A new hotline, **+992 44 600 0000**, answers in Tajik and Russian.
:::

1. First item
2. Second item with [a link](https://example.org/report)

> Quoted words — «по-русски» too.

::: photo src="/media/newsletter/safe-migration.png" alt="A crossing in spring"
Spring at the crossing.
:::

::: contacts
- DUSHANBE | [dushanbe@iom.int](mailto:dushanbe@iom.int)
:::

::: social
- YouTube | https://www.youtube.com/@example
:::
"""


def test_an_unseen_issue_renders_without_findings_and_keeps_its_content():
    compiled = render(UNSEEN)
    assert compiled.findings == []
    html_text = Elements(compiled.html.render(RECIPIENT, escape_html=True)).text
    text = compiled.text.render(RECIPIENT, escape_html=False)
    for needle in ["SPRING AT THE CROSSINGS", "12,400", "815", "+992 44 600 0000",
                   "«по-русски»", "dushanbe@iom.int", "Dear Aigerim"]:
        assert needle in html_text and needle in " ".join(text.split())
