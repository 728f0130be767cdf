"""Each block extension becomes the MJML and text a newsletter needs."""

from __future__ import annotations

import pytest

from mailer.rendering import RenderError
from mailer.rendering.blocks import BlockBuilder, Callout, Contacts, Photo, Prose, Social, Stats
from tests.rendering.conftest import Elements, issue, render

SITE = "http://127.0.0.1:8000"


def _blocks(body: str):
    builder = BlockBuilder(SITE)
    return builder.build(body), builder.findings


def test_plain_markdown_becomes_one_prose_block():
    blocks, findings = _blocks("## Title\n\nText\n\n- a\n- b")
    assert [b.kind for b in blocks] == ["prose"] and not findings
    assert isinstance(blocks[0], Prose) and len(blocks[0].blocks) == 3


def test_a_photo_has_alt_caption_credit_and_an_absolute_source():
    blocks, _ = _blocks('::: photo src="/media/newsletter/a.png" alt="Migrants" credit="IOM"\n'
                        "At the border, June 2020.\n:::")
    photo = blocks[0]
    assert isinstance(photo, Photo)
    assert photo.src == f"{SITE}/media/newsletter/a.png"
    assert (photo.alt, photo.credit, photo.caption[0].text) == ("Migrants", "IOM",
                                                               "At the border, June 2020.")


def test_an_image_alone_in_a_paragraph_is_a_photo():
    blocks, _ = _blocks('![Border](/media/newsletter/a.png "Caption here")')
    assert isinstance(blocks[0], Photo) and blocks[0].caption[0].text == "Caption here"


def test_stats_have_a_title_intro_items_and_notes():
    blocks, _ = _blocks('::: stats title="COVID-19"\n(four countries)\n\n'
                        "- 76,698 | Registered\n- 470 | Deaths\n\nSource: x\n:::")
    stats = blocks[0]
    assert isinstance(stats, Stats)
    assert stats.title == "COVID-19"
    assert [(s.value, s.label.text) for s in stats.items] == [("76,698", "Registered"),
                                                             ("470", "Deaths")]
    assert len(stats.intro) == 1 and len(stats.notes) == 1


def test_stats_become_side_by_side_columns():
    compiled = render(issue("::: stats\n- 1 | One\n- 2 | Two\n- 3 | Three\n:::"))
    classes = [d.get("class") or "" for d in Elements(compiled.html.source).all("div")]
    assert sum("stat-column" in c for c in classes) == 3
    assert "mj-column-per-33" in " ".join(classes)


def test_a_stats_item_without_a_separator_is_an_error():
    with pytest.raises(RenderError, match="needs the form"):
        render(issue("::: stats\n- just text\n:::"))


def test_callout_keeps_its_formatting():
    blocks, _ = _blocks("::: callout\n**3186 migrants** assisted\n:::")
    assert isinstance(blocks[0], Callout)
    assert "<strong>3186 migrants</strong>" in blocks[0].body[0].content.html


def test_contacts_are_a_grid_two_to_a_row():
    blocks, _ = _blocks("::: contacts title=\"Contacts\"\n- KAZAKHSTAN | [a@iom.int](mailto:a@iom.int)\n"
                        "- KYRGYZSTAN | b@iom.int\n- TAJIKISTAN | c@iom.int\n\nHotline 1899\n:::")
    contacts = blocks[0]
    assert isinstance(contacts, Contacts)
    assert [[c.label for c in row] for row in contacts.rows] == [["KAZAKHSTAN", "KYRGYZSTAN"],
                                                                  ["TAJIKISTAN"]]
    assert contacts.notes


def test_social_icons_have_alt_text_and_local_sources():
    compiled = render(issue("::: social title=\"Follow us\"\n- Facebook | https://facebook.com/x\n:::"))
    imgs = Elements(compiled.html.source).all("img")
    icon = next(i for i in imgs if "social" in (i.get("src") or ""))
    assert icon["alt"] == "Facebook"
    assert icon["src"] == f"{SITE}/static/issues/social/facebook.png"


def test_social_links_with_unknown_networks_use_the_web_icon():
    blocks, _ = _blocks("::: social\n- Our site | https://example.org\n:::")
    assert isinstance(blocks[0], Social) and blocks[0].links[0].network == "web"


def test_button_links_to_its_target():
    compiled = render(issue('::: button href="https://example.org/more"\nRead more\n:::'))
    links = {a.get("href"): a for a in Elements(compiled.html.source).all("a")}
    assert "https://example.org/more" in links
    assert "Read more: https://example.org/more" in compiled.text.source


def test_a_fragment_only_link_is_kept_as_text_with_a_warning():
    compiled = render(issue("Video is available [here](#)"))
    assert "here" in compiled.text.source
    assert not [a for a in Elements(compiled.html.source).all("a") if a.get("href") == "#"]
    assert "link-empty" in {f.code for f in compiled.findings}


def test_errors_name_the_source_line():
    with pytest.raises(RenderError, match="line 8"):
        render(issue("Intro\n\n[bad](javascript:x)"))


def test_a_photo_without_an_image_is_an_error():
    with pytest.raises(RenderError, match="a photo needs its image"):
        render(issue('::: photo alt="x"\nCaption\n:::'))


def test_a_button_without_a_target_is_an_error():
    with pytest.raises(RenderError, match="a button needs a target"):
        render(issue("::: button\nRead more\n:::"))
