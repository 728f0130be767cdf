"""Brand rules: the current brand, how it is checked, what a change invalidates, and the
values the email chrome and the public pages read from it."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.utils.translation import gettext as _

from mailer.brand.colours import AA_LARGE, AA_TEXT, WHITE, contrast, hex_normalise, mix, tint_readable_on
from mailer.brand.logo import image_size
from mailer.brand.models import BRAND_PK, DEFAULT_PRIMARY, Brand
from mailer.issues.models import IssueVariant
from mailer.rendering.blocks import SOCIAL_NETWORKS
from mailer.rendering.core import BrandChrome
from mailer.sending.models import Send
from mailer.web.media import MAX_IMAGE_BYTES, image_kind

# Sends whose messages are being built: their compiled email must not change under them.
SENDS_UNDER_WAY = (Send.Status.PLANNING, Send.Status.SENDING, Send.Status.PAUSED)
LOGO_HEIGHT = 48  # px the logo is shown at in the email masthead and the site header
LOGO_MAX_WIDTH = 240
SOCIAL_HOSTS = {"facebook.com": "facebook", "instagram.com": "instagram",
                "linkedin.com": "linkedin", "t.me": "telegram", "telegram.me": "telegram",
                "twitter.com": "twitter", "x.com": "x", "youtube.com": "youtube",
                "youtu.be": "youtube"}


class BrandRejected(ValueError):
    """A brand value that cannot be saved; the message says why and what to do."""


def brand_current() -> Brand:
    """The saved brand, or an unsaved one with the defaults (today's look)."""
    return Brand.objects.filter(pk=BRAND_PK).first() or Brand(pk=BRAND_PK)


# --- Checks ---------------------------------------------------------------------------

def colour_check(value: str, *, role: str) -> str:
    """``value`` as ``#rrggbb``. ``role`` "primary" carries white text (the site header,
    the email masthead, buttons) and is refused below AA for normal text (4.5:1);
    "accent" is text and rules on white (sub-headings, quote bars) and is refused below
    3:1 (AA for large text and for graphics, WCAG 2.2 SC 1.4.3 and 1.4.11)."""
    try:
        colour = hex_normalise(value)
    except ValueError:
        raise BrandRejected(_("%(value)s is not a colour; write it as a hex code like "
                              "#0033a0.") % {"value": value}) from None
    ratio = contrast(colour, WHITE)
    needed = AA_TEXT if role == "primary" else AA_LARGE
    if ratio < needed:
        raise BrandRejected(_(
            "%(colour)s is too light: white text on it (or it on white) has a contrast of "
            "%(ratio).2f:1, below the %(needed).1f:1 that WCAG AA asks for. Choose a darker "
            "shade; nothing was saved.") % {"colour": colour, "ratio": ratio, "needed": needed})
    return colour


def brand_warnings(brand: Brand) -> list[str]:
    """Problems worth knowing that do not stop a save."""
    ratio = contrast(brand.accent_colour, WHITE)
    if ratio < AA_TEXT:
        return [_("The accent colour %(colour)s has a contrast of %(ratio).1f:1 on white: "
                  "enough for headings and rules, not for small text (4.5:1). Sub-headings "
                  "use it; a darker shade reads better.") % {"colour": brand.accent_colour,
                                                             "ratio": ratio}]
    return []


def social_links_parse(text: str) -> list[dict[str, str]]:
    """One link a line, ``Label https://…``. Only https URLs with a host are accepted."""
    links = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        label, _sep, url = line.strip().rpartition(" ")
        parts = urlsplit(url)
        if not label.strip() or parts.scheme != "https" or not parts.hostname:
            raise BrandRejected(_("Line %(n)d (%(line)s): write a label, a space and an "
                                  "https:// address, e.g. \"Facebook https://facebook.com/"
                                  "example\".") % {"n": number, "line": line.strip()[:80]})
        links.append({"label": " ".join(label.split())[:60], "url": url})
    return links


def social_links_text(links: list[dict[str, str]]) -> str:
    return "\n".join(f"{link['label']} {link['url']}" for link in links)


def reply_to_check(raw: str) -> str:
    """The address, or BrandRejected. Line breaks are refused outright (they would start a
    new header: RFC 5322 §2.2 header injection), before any trimming could hide them."""
    if "\r" in raw or "\n" in raw:
        raise BrandRejected(_("The reply-to address contains a line break; type one address "
                              "on one line."))
    from subscribers.services import InvalidAddress, email_normalise

    if not raw.strip():
        return ""
    try:
        return email_normalise(raw)
    except InvalidAddress:
        raise BrandRejected(_("The reply-to address is not an email address; check it.")) from None


def logo_check(upload: UploadedFile) -> tuple[int, int]:
    """(width, height) of an acceptable logo, or BrandRejected."""
    if (upload.size or 0) > MAX_IMAGE_BYTES:
        raise BrandRejected(_("The logo is larger than 5 MB; a few hundred pixels wide is "
                              "enough. Nothing was saved."))
    head = upload.read(64 * 1024)
    upload.seek(0)
    size = image_size(head) if image_kind(head) else None
    if size is None or min(size) == 0:
        raise BrandRejected(_("The logo is not a PNG, JPEG, GIF or WebP image (SVG is not "
                              "shown by most email clients). Nothing was saved."))
    return size


# --- Saving -----------------------------------------------------------------------------

def brand_save(brand: Brand, *, user: object | None = None) -> int:
    """Save ``brand`` as the next revision and mark stale the compiled email of every
    variant not being sent right now, so previews, test sends and new sends use the new
    brand. A send already under way keeps the email it started with (its workers keep
    reading the cached compilation). Returns how many variants will be compiled again."""
    with transaction.atomic():
        current = Brand.objects.select_for_update().filter(pk=BRAND_PK).first()
        brand.pk = BRAND_PK
        brand.revision = (current.revision if current else 0) + 1
        if user is not None and getattr(user, "pk", None):
            brand.updated_by_id = user.pk  # type: ignore[attr-defined]
        brand.save()
        return (IssueVariant.objects.exclude(issue__sends__status__in=SENDS_UNDER_WAY)
                .exclude(compiled_revision=0).update(compiled_revision=0))


# --- What pages and emails read -------------------------------------------------------------

@dataclass(frozen=True)
class SocialLink:
    label: str
    url: str
    network: str  # the icon's name under static/issues/social/


@dataclass(frozen=True)
class BrandLook:
    """The brand as pages and emails use it, with every fallback resolved."""

    name: str
    logo_url: str  # absolute, "" without a logo
    logo_width: int  # display size in px
    logo_height: int
    primary: str
    accent: str
    on_primary_muted: str  # secondary text on the primary colour, AA-readable
    primary_dark: str  # the masthead in dark mode
    postal_address: str
    social: tuple[SocialLink, ...]
    reply_to: str
    explicit_name: bool  # an Admin set a name (the email shows it only then)


def _network(link: dict[str, str]) -> str:
    label = link["label"].lower()
    if label in SOCIAL_NETWORKS:
        return label
    host = (urlsplit(link["url"]).hostname or "").removeprefix("www.")
    return SOCIAL_HOSTS.get(host, "web")


def brand_name(brand: Brand, language: str) -> str:
    first, second = ((brand.name_ru, brand.name_en) if language.startswith("ru")
                     else (brand.name_en, brand.name_ru))
    return first or second


def default_name() -> str:
    from email.utils import parseaddr

    return parseaddr(settings.DEFAULT_FROM_EMAIL)[0] or _("Newsletter")


def _shades(primary: str) -> dict[str, str]:
    """The muted text and dark-mode shades of ``primary``: today's hand-picked ones for
    the default colour (so nothing changes until an Admin picks another), else computed."""
    if primary == DEFAULT_PRIMARY:
        default = BrandChrome()
        return {"on_primary_muted": default.on_primary_muted, "primary_dark": default.primary_dark}
    return {"on_primary_muted": tint_readable_on(primary),
            "primary_dark": mix(primary, "#000000", 0.5)}


def brand_look(brand: Brand, language: str) -> BrandLook:
    width = height = 0
    logo_url = ""
    if brand.logo and brand.logo_width and brand.logo_height:
        logo_url = settings.SITE_URL.rstrip("/") + brand.logo.url
        height = min(LOGO_HEIGHT, brand.logo_height)
        width = round(brand.logo_width * height / brand.logo_height)
        if width > LOGO_MAX_WIDTH:
            width = LOGO_MAX_WIDTH
            height = round(brand.logo_height * width / brand.logo_width)
    name = brand_name(brand, language)
    return BrandLook(
        name=name or default_name(), logo_url=logo_url, logo_width=width, logo_height=height,
        primary=brand.primary_colour, accent=brand.accent_colour,
        **_shades(brand.primary_colour),
        postal_address=brand.postal_address.strip() or settings.POSTAL_ADDRESS,
        social=tuple(SocialLink(link["label"], link["url"], _network(link))
                     for link in brand.social_links),
        reply_to=brand.reply_to, explicit_name=bool(name))


def brand_chrome(language: str, brand: Brand | None = None) -> BrandChrome:
    """The brand for ``compile_issue``'s chrome in ``language``."""
    look = brand_look(brand or brand_current(), language)
    return BrandChrome(
        name=look.name if look.explicit_name else "", logo_url=look.logo_url,
        logo_width=look.logo_width, logo_height=look.logo_height, primary=look.primary,
        accent=look.accent, on_primary_muted=look.on_primary_muted,
        primary_dark=look.primary_dark,
        social=tuple((s.label, s.url, s.network) for s in look.social))
