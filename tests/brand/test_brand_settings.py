"""Brand settings: what an Admin may save, what is refused and why, and what a change
invalidates (compiled drafts and previews, never a send under way)."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from mailer.brand.colours import contrast, hex_normalise
from mailer.brand.forms import BrandForm
from mailer.brand.logo import image_size
from mailer.brand.models import Brand
from mailer.brand.services import (
    BrandRejected,
    brand_current,
    brand_look,
    brand_save,
    brand_warnings,
    colour_check,
    reply_to_check,
    social_links_parse,
)
from mailer.issues.models import Issue, IssueVariant
from mailer.issues.services import variant_compiled
from mailer.sending.models import Send
from tests.brand.images import gif, jpeg_header, png

pytestmark = [pytest.mark.django_db]


def form_data(**overrides: str) -> dict[str, str]:
    data = {"name_en": "IOM Central Asia", "name_ru": "МОМ в Центральной Азии",
            "primary_colour": "#00594f", "accent_colour": "#c2410c", "postal_address": "",
            "social_links": "", "reply_to": ""}
    data.update(overrides)
    return data


# --- colours ------------------------------------------------------------------------------

def test_it_computes_wcag_contrast_ratios() -> None:
    assert contrast("#000000", "#ffffff") == pytest.approx(21.0)
    assert contrast("#0033a0", "#ffffff") == pytest.approx(10.6, abs=0.05)
    assert contrast("#777777", "#ffffff") == pytest.approx(4.48, abs=0.01)


def test_it_normalises_hex_colours_and_refuses_anything_else() -> None:
    assert hex_normalise("#ABC") == "#aabbcc"
    assert hex_normalise("00594F") == "#00594f"
    for bad in ("blue", "#12345", "#0033a0; background:url(x)", "rgb(0,0,0)"):
        with pytest.raises(BrandRejected, match="not a colour"):
            colour_check(bad, role="primary")


def test_it_refuses_a_primary_colour_too_light_for_white_text() -> None:
    with pytest.raises(BrandRejected, match=r"4\.48:1, below the 4\.5:1"):
        colour_check("#777777", role="primary")
    assert colour_check("#767676", role="primary") == "#767676"


def test_it_refuses_an_accent_below_three_to_one_and_warns_below_four_and_a_half() -> None:
    with pytest.raises(BrandRejected, match=r"below the 3\.0:1"):
        colour_check("#a3a3a3", role="accent")
    assert colour_check("#418fde", role="accent") == "#418fde"
    warnings = brand_warnings(Brand(accent_colour="#418fde"))
    assert len(warnings) == 1 and "3.4:1" in warnings[0]
    assert brand_warnings(Brand(accent_colour="#c2410c")) == []


def test_the_default_colours_are_todays_and_pass_their_checks() -> None:
    brand = brand_current()
    assert (brand.primary_colour, brand.accent_colour) == ("#0033a0", "#418fde")
    assert colour_check(brand.primary_colour, role="primary") == "#0033a0"


# --- social links and reply-to ---------------------------------------------------------

def test_it_reads_social_links_one_a_line() -> None:
    assert social_links_parse("Facebook https://facebook.com/iom\n\n  Our site https://iom.int  \n") == [
        {"label": "Facebook", "url": "https://facebook.com/iom"},
        {"label": "Our site", "url": "https://iom.int"}]


@pytest.mark.parametrize("line", ["Facebook http://facebook.com/iom", "https://iom.int",
                                  "Evil javascript:alert(1)", "Files ftp://iom.int/x",
                                  "Nohost https://"])
def test_it_refuses_a_social_link_that_is_not_a_labelled_https_url(line: str) -> None:
    with pytest.raises(BrandRejected, match="Line 1"):
        social_links_parse(line)


@pytest.mark.parametrize("raw", ["press@iom.int\r\nBcc: everyone@example.org",
                                 "press@iom.int\nBcc: x@example.org", "press@iom.int\r\n"])
def test_it_refuses_a_reply_to_with_a_line_break(raw: str) -> None:
    with pytest.raises(BrandRejected, match="line break"):
        reply_to_check(raw)


def test_it_refuses_a_reply_to_that_is_not_an_address() -> None:
    with pytest.raises(BrandRejected, match="not an email address"):
        reply_to_check("press at iom")
    assert reply_to_check(" Press@IOM.INT ") == "Press@iom.int"


def test_the_message_builder_refuses_a_reply_to_that_would_add_a_header() -> None:
    """Defence in depth: a value stored some other way than the form (shell, dump)."""
    from mailer.sending.mime import reply_to_header

    assert reply_to_header("") == b""
    assert reply_to_header("press@iom.int") == b"Reply-To: press@iom.int\r\n"
    for bad in ("press@iom.int\r\nBcc: x@example.org", "a@b.org, c@d.org", "Press <p@iom.int>"):
        with pytest.raises(ValueError, match="cannot go into a header"):
            reply_to_header(bad)


def test_the_form_refuses_a_header_injection_in_the_reply_to_and_saves_nothing() -> None:
    form = BrandForm(form_data(reply_to="press@iom.int\r\nBcc: all@example.org"),
                     instance=brand_current())
    assert not form.is_valid()
    assert "line break" in str(form.errors["reply_to"])
    assert not Brand.objects.exists()


# --- logo ----------------------------------------------------------------------------------

def test_it_reads_the_pixel_size_of_png_gif_and_jpeg_logos() -> None:
    assert image_size(png(160, 64)) == (160, 64)
    assert image_size(gif(300, 100)) == (300, 100)
    assert image_size(jpeg_header(640, 200)) == (640, 200)
    assert image_size(b"<svg xmlns='http://www.w3.org/2000/svg'/>") is None


def test_it_stores_an_uploaded_logo_with_its_size_under_media() -> None:
    upload = SimpleUploadedFile("logo.png", png(160, 64), content_type="image/png")
    form = BrandForm(form_data(), {"logo": upload}, instance=brand_current())
    assert form.is_valid(), form.errors
    brand_save(form.save(commit=False))
    brand = brand_current()
    assert (brand.logo_width, brand.logo_height) == (160, 64)
    assert brand.logo.url.startswith("/media/brand/")
    look = brand_look(brand, "en")
    assert (look.logo_width, look.logo_height) == (120, 48)  # shown 48 px high


def test_it_refuses_a_logo_that_is_not_an_image() -> None:
    upload = SimpleUploadedFile("logo.png", b"<svg onload=alert(1)>", content_type="image/png")
    form = BrandForm(form_data(), {"logo": upload}, instance=brand_current())
    assert not form.is_valid()
    assert "not a PNG, JPEG, GIF or WebP" in str(form.errors["logo"])


# --- fallbacks --------------------------------------------------------------------------------

def test_the_postal_address_falls_back_to_the_setting_until_set(settings: object) -> None:
    settings.POSTAL_ADDRESS = "1 Setting Street, Astana"  # type: ignore[attr-defined]
    assert brand_look(brand_current(), "en").postal_address == "1 Setting Street, Astana"
    brand_save(Brand(postal_address="2 Brand Avenue, Almaty"))
    assert brand_look(brand_current(), "en").postal_address == "2 Brand Avenue, Almaty"


def test_the_name_follows_the_language_with_the_other_as_fallback() -> None:
    brand_save(Brand(name_en="IOM Central Asia", name_ru="МОМ в Центральной Азии"))
    assert brand_look(brand_current(), "ru").name == "МОМ в Центральной Азии"
    assert brand_look(brand_current(), "kk").name == "IOM Central Asia"
    brand_save(Brand(name_en="", name_ru="МОМ"))
    assert brand_look(brand_current(), "en").name == "МОМ"


# --- what a change invalidates ----------------------------------------------------------------

def test_saving_the_brand_recompiles_drafts_but_not_a_send_under_way(issue: Issue) -> None:
    other = Issue.objects.create(slug="other", title="Other")
    IssueVariant.objects.create(issue=other, language="en", subject="Other",
                                source_markdown=issue.variants.get().source_markdown)
    draft, sending = issue.variants.get(), other.variants.get()
    variant_compiled(draft), variant_compiled(sending)
    Send.objects.create(issue=other, status=Send.Status.SENDING)
    before = IssueVariant.objects.get(pk=sending.pk).compiled_html

    assert brand_save(Brand(name_en="Brand New Org", primary_colour="#00594f",
                            reply_to="press@iom.int")) == 1

    draft.refresh_from_db()
    sending.refresh_from_db()
    assert draft.compiled_revision == 0  # compiled again on next use, with the brand
    assert "#00594f" in variant_compiled(draft).html.source
    assert draft.compiled_reply_to == "press@iom.int"
    assert sending.compiled_revision == sending.revision
    assert variant_compiled(sending).html.source == before
    assert sending.compiled_reply_to == ""  # the send keeps the Reply-To it started with


def test_each_save_is_a_new_revision() -> None:
    brand_save(Brand(name_en="A"))
    brand_save(brand_current())
    assert brand_current().revision == 2
    assert Brand.objects.count() == 1


# --- where Admins edit it -----------------------------------------------------------------------

def test_an_admin_saves_the_brand_in_the_app_and_is_told_what_it_affects(admin_client: Client) -> None:
    page = admin_client.get("/settings/brand/").content.decode()
    assert "Sends already under way keep the look they started with" in page
    response = admin_client.post("/settings/brand/", form_data(
        social_links="Telegram https://t.me/iom", reply_to="press@iom.int"), follow=True)
    assert response.status_code == 200
    brand = brand_current()
    assert brand.name_ru == "МОМ в Центральной Азии" and brand.reply_to == "press@iom.int"
    assert brand.social_links == [{"label": "Telegram", "url": "https://t.me/iom"}]
    assert "The brand was saved" in response.content.decode()


def test_the_app_shows_why_a_colour_was_refused(admin_client: Client) -> None:
    response = admin_client.post("/settings/brand/", form_data(primary_colour="#ffff00"))
    assert response.status_code == 200
    assert "too light" in response.content.decode()
    assert not Brand.objects.exists()


def test_comms_staff_cannot_edit_the_brand(comms_client: Client) -> None:
    assert comms_client.get("/settings/brand/").status_code == 403
    assert comms_client.post("/settings/brand/", form_data()).status_code == 403
    assert not Brand.objects.exists()


def test_an_admin_edits_the_one_brand_row_in_the_django_admin(admin_client: Client) -> None:
    response = admin_client.get("/admin/brand/brand/")
    assert response.status_code == 302 and response["Location"].endswith("/admin/brand/brand/add/")
    response = admin_client.post("/admin/brand/brand/add/", form_data(name_en="Via Admin"))
    assert response.status_code == 302, response.content.decode()[:2000]
    assert brand_current().name_en == "Via Admin" and brand_current().revision == 1
    response = admin_client.get("/admin/brand/brand/")
    assert response["Location"].endswith("/admin/brand/brand/1/change/")
    response = admin_client.post("/admin/brand/brand/1/change/", form_data(name_en="Again"))
    assert response.status_code == 302
    assert (brand_current().name_en, brand_current().revision) == ("Again", 2)
    assert admin_client.get("/admin/brand/brand/add/").status_code == 403
    assert Brand.objects.count() == 1


# --- nothing changes until an Admin edits it ------------------------------------------------

def test_until_a_brand_is_saved_the_email_is_exactly_todays(settings: object) -> None:
    from mailer.issues.services import chrome_context
    from mailer.rendering import ChromeContext, compile_issue, parse_issue
    from tests.issues.conftest import EXAMPLES

    parsed = parse_issue((EXAMPLES / "iom-central-asia-03.md").read_text("utf-8"))
    before_brands = ChromeContext(site_url=settings.SITE_URL,  # type: ignore[attr-defined]
                                  postal_address=settings.POSTAL_ADDRESS)  # type: ignore[attr-defined]
    today = compile_issue(parsed, language="en", context=before_brands)
    now = compile_issue(parsed, language="en", context=chrome_context("en"))
    assert now.html.source == today.html.source
    assert now.text.source == today.text.source
    assert "#cfe0ff" in now.html.source and "#001a52" in now.html.source


# --- the public frame -----------------------------------------------------------------------------

def test_public_pages_have_the_brands_header_and_footer(client: Client, settings: object) -> None:
    from subscribers.models import MailingList

    settings.SITE_URL = "https://news.example.org"  # type: ignore[attr-defined]
    MailingList.objects.create(slug="news", name="News", visibility="public")
    brand = Brand(name_en="IOM Central Asia", name_ru="МОМ в Центральной Азии",
                  primary_colour="#00594f", postal_address="Mangilik El 55/22, Astana",
                  social_links=[{"label": "Telegram", "url": "https://t.me/iom"}],
                  logo_width=160, logo_height=64)
    brand.logo.name = "brand/logo.png"
    brand_save(brand)
    for path, name in (("/subscribe/news/", "IOM Central Asia"),
                       ("/subscribe/news/?lang=ru", "МОМ в Центральной Азии"),
                       ("/archive/", "IOM Central Asia")):
        page = client.get(path).content.decode()
        header = page.split('<header class="brand">', 1)[1].split("</header>", 1)[0]
        assert 'href="/archive/"' in header and name in header
        assert 'src="https://news.example.org/media/brand/logo.png"' in header
        footer = page.split('<footer class="brand">', 1)[1]
        assert "Mangilik El 55/22, Astana" in footer and 'href="https://t.me/iom"' in footer
        assert "--primary: #00594f" in page

