"""Reading a subscriber CSV: encoding, delimiter, header mapping, and one row to clean values.

Pure functions with no database access, so the admin preview and the importer read a file
the same way. The database side is in ``subscribers.importer``.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import gettext
import io
import ipaddress
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import cache
from typing import IO, Any

import pycountry
from django.utils import timezone

from mailer.core.textguard import control_character_find, control_character_message
from subscribers.services import InvalidAddress, email_normalise, name_clean, text_clean

DELIMITERS = (",", ";", "\t")
MAX_NAME = 200
MAX_TAG = 64
MAX_ATTRIBUTES_JSON = 10_000
MAX_FIELD = 100_000  # csv module's per-field limit; longer is a broken file, not a name


class Unreadable(Exception):
    """Nothing could be read from the file (missing, empty, no email column)."""


def _key(header: str) -> str:
    """Header matching key: lower-case letters and digits only ("E-mail Address" -> emailaddress)."""
    return re.sub(r"[\W_]+", "", header.lower())


# Target -> accepted header keys (after _key). Mailchimp: "Email Address", "First Name",
# "Last Name", CC, TAGS, OPTIN_/CONFIRM_ TIME and IP; listmonk: email, name, attributes.
ALIASES: dict[str, set[str]] = {
    "email": {"email", "emailaddress", "mail", "emailadress", "eaddress", "emails",
              "электроннаяпочта", "элпочта", "почта", "емейл", "имейл", "емэйл", "адрес",
              "адресэлектроннойпочты", "электронныйадрес", "emailадрес", "адресemail",
              "еmail", "еmailaddress"},  # with a Cyrillic "е", as typed on a Russian layout
    "name": {"name", "fullname", "displayname", "contactname", "фио", "имяифамилия",
             "полноеимя", "фамилияимя", "фамилияимяотчество"},
    "first_name": {"firstname", "givenname", "fname", "forename", "имя"},
    "last_name": {"lastname", "surname", "familyname", "lname", "фамилия"},
    "organisation": {"organisation", "organization", "org", "company", "companyname",
                     "employer", "agency", "организация", "компания", "учреждение",
                     "местоработы"},
    "country": {"country", "countrycode", "cc", "страна", "кодстраны"},
    "language": {"language", "lang", "preferredlanguage", "locale", "язык"},
    "tags": {"tags", "tag", "теги", "тэги", "метки"},
    "attributes": {"attributes", "attribs", "attrs"},
    "consent_at": {"consentat", "confirmtime", "optintime", "consenttime"},
    "consent_ip": {"consentip", "confirmip", "optinip"},
    "consent_text": {"consenttext"},
    "status": {"status", "subscriptionstatus"},
    "unsub_time": {"unsubtime", "cleantime"},  # Mailchimp's unsubscribed / cleaned exports
}
# Bookkeeping columns of Mailchimp, listmonk and our own export: read by nobody, kept nowhere.
IGNORED = {"memberrating", "latitude", "longitude", "gmtoff", "dstoff", "timezone", "region",
           "lastchanged", "leid", "euid", "notes", "unsubcampaigntitle", "unsubcampaignid",
           "unsubreason", "unsubreasonother", "cleancampaigntitle",
           "cleancampaignid", "uuid", "createdat", "updatedat", "id", "consentmethod",
           "consentsource", "list", "subscriberstatus", ""}
# Statuses in a source file that mean "do not subscribe this person".
OPTED_OUT = {"unsubscribed", "blocklisted", "blacklisted", "cleaned", "отписан"}


# --- Encoding and delimiter -----------------------------------------------------------

def encoding_detect(stream: IO[bytes]) -> str:
    """UTF-16 or UTF-8 by BOM; UTF-8 if the whole file decodes as UTF-8; else Windows-1251
    (what Excel saves as "CSV" on a Russian Windows) if the text reads as Russian. Anything
    else (Latin-1, Shift-JIS, ...) raises Unreadable asking for the encoding: read as
    cp1251 it imported as mojibake without a word (issue 10). The stream is rewound."""
    start = stream.read(4)
    stream.seek(0)
    if start.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    decoder = codecs.getincrementaldecoder("utf-8")()
    try:
        while chunk := stream.read(1 << 20):
            decoder.decode(chunk)
        decoder.decode(b"", final=True)
        return "utf-8-sig"
    except UnicodeDecodeError:
        pass
    finally:
        stream.seek(0)
    sample = stream.read(ENCODING_SAMPLE_BYTES)
    stream.seek(0)
    if reads_as_russian(sample):
        return "cp1251"
    raise Unreadable(_not_cp1251_message(sample))


ENCODING_SAMPLE_BYTES = 1 << 20
_LETTERS = re.compile(r"[^\W\d_]+")
_CYRILLIC = re.compile(r"[\u0400-\u04ff]")
_LATIN = re.compile(r"[A-Za-z]")


def reads_as_russian(sample: bytes) -> bool:
    """True if ``sample`` decoded as Windows-1251 looks like text in a Cyrillic script:
    nearly every non-ASCII character is a Cyrillic letter, and few words mix Cyrillic and
    Latin letters. Latin-1 "Müller" reads as "Mьller" (a mixed word); Shift-JIS reads as
    punctuation, or hits the one byte cp1251 leaves undefined (0x98)."""
    try:
        text = sample.decode("cp1251")
    except UnicodeDecodeError:
        return False
    high = [c for c in text if ord(c) > 127]
    if not high:
        return True
    cyrillic = sum(1 for c in high if _CYRILLIC.match(c))
    words = [w for w in _LETTERS.findall(text) if _CYRILLIC.search(w)]
    mixed = sum(1 for w in words if _LATIN.search(w))
    return cyrillic >= 0.8 * len(high) and mixed <= 0.2 * max(len(words), 1)


def _not_cp1251_message(sample: bytes) -> str:
    from charset_normalizer import from_bytes  # only on this rare path

    best = from_bytes(sample).best()
    guess = f"; it may be {best.encoding}" if best is not None else ""
    return (f"the file is neither UTF-8 nor Windows-1251 (Russian Excel){guess}, so its "
            "letters would be garbled. Save it as \"CSV UTF-8\" (Excel: Save As, CSV UTF-8) "
            "and upload it again, or import it with newsletter import_subscribers --encoding "
            "NAME (e.g. latin-1 or shift_jis)")


def encoding_check(name: str) -> str:
    try:
        codec = codecs.lookup(name).name
    except LookupError:
        raise Unreadable(f"unknown encoding {name!r}; use utf-8 or windows-1251") from None
    return "utf-8-sig" if codec == "utf-8" else codec


def delimiter_detect(first_line: str) -> str:
    """The candidate that splits the header into the most columns (ties: comma)."""
    counts = {d: len(next(csv.reader([first_line], delimiter=d), [])) for d in DELIMITERS}
    best = max(DELIMITERS, key=lambda d: counts[d])
    return best if counts[best] > 1 else ","


# --- Header mapping ------------------------------------------------------------------------

@dataclass
class ColumnMap:
    columns: dict[str, int]
    extras: dict[int, str]  # column index -> attribute key
    header: list[str]
    headerless: bool = False
    alternates: dict[str, list[int]] = field(default_factory=dict)  # later columns, same target

    def describe(self) -> list[tuple[str, str]]:
        """(column as written, what it fills) for every column, for the preview."""
        used = {i: target for target, i in self.columns.items()}
        used.update({i: t for t, idx in self.alternates.items() for i in idx})
        out = []
        for i, title in enumerate(self.header):
            if i in used:
                out.append((title, used[i]))
            elif i in self.extras:
                out.append((title, f"attributes.{self.extras[i]}"))
            else:
                out.append((title, "(ignored)"))
        return out


def columns_map(header: list[str]) -> ColumnMap:
    columns: dict[str, int] = {}
    extras: dict[int, str] = {}
    alternates: dict[str, list[int]] = {}
    for i, title in enumerate(header):
        key = _key(title)
        target = next((t for t, keys in ALIASES.items() if key in keys), None)
        if target is not None and target not in columns:
            columns[target] = i
        elif target is not None:
            alternates.setdefault(target, []).append(i)
        elif target is None and key not in IGNORED:
            extras[i] = re.sub(r"\W+", "_", title.strip().lower()).strip("_")[:64]
    if "email" not in columns:
        # A headerless list of addresses: the first row is data.
        at = [i for i, cell in enumerate(header) if "@" in cell]
        if len(at) == 1:
            return ColumnMap({"email": at[0]}, {}, [f"column {i + 1}" for i in
                                                   range(len(header))], headerless=True)
        raise Unreadable(
            f"no email column in the header {header!r}; name one column Email, E-mail or "
            "Email Address")
    return ColumnMap(columns, extras, header, alternates=alternates)


# --- One row -------------------------------------------------------------------------------

@dataclass
class Row:
    """One valid line, cleaned. Empty strings mean "not given": they never overwrite."""

    line: int
    email: str
    name: str = ""
    organisation: str = ""
    country: str = ""
    language: str = ""
    tags: set[str] = field(default_factory=set)
    attributes: dict[str, Any] = field(default_factory=dict)
    consent_at: dt.datetime | None = None
    consent_ip: str | None = None
    consent_text: str = ""
    opted_out: bool = False

    @property
    def key(self) -> str:
        return self.email.lower()

    def merge(self, later: Row) -> None:
        """A later line for the same address: it fills what is still blank, adds tags and
        attribute keys, and never overwrites. "First value wins" keeps a re-import of the
        same file a no-op even when the two lines fall into different chunks."""
        for name in ("name", "organisation", "country", "language", "consent_text"):
            if not getattr(self, name):
                setattr(self, name, getattr(later, name))
        self.tags |= later.tags
        self.attributes = {**later.attributes, **self.attributes}
        self.consent_at = self.consent_at or later.consent_at
        self.consent_ip = self.consent_ip or later.consent_ip
        self.opted_out = self.opted_out or later.opted_out


class RowError(ValueError):
    """Why a line was skipped; the message is shown to the person importing."""


@cache
def _country_names() -> dict[str, str]:
    names: dict[str, str] = {}
    ru = gettext.translation("iso3166-1", pycountry.LOCALES_DIR, languages=["ru"], fallback=True)
    for c in pycountry.countries:
        for n in {c.name, getattr(c, "official_name", c.name),
                  getattr(c, "common_name", c.name)}:
            names[n.lower()] = c.alpha_2
            names[ru.gettext(n).lower()] = c.alpha_2
        names[c.alpha_3.lower()] = c.alpha_2
    names.update({"kyrgyzstan": "KG", "кыргызстан": "KG", "russia": "RU", "россия": "RU"})
    return names


def country_code(raw: str) -> str:
    """ISO 3166-1 alpha-2 from a code (KZ, KAZ) or a name in English or Russian."""
    value = raw.strip()
    if not value:
        return ""
    if len(value) == 2 and pycountry.countries.get(alpha_2=value.upper()) is not None:
        return value.upper()
    code = _country_names().get(value.lower())
    if code is None:
        raise RowError(f"bad country code {value[:40]!r} (use ISO 3166 codes such as KZ, KG)")
    return code


@cache
def _language_names() -> dict[str, str]:
    names = {}
    for lang in pycountry.languages:
        if hasattr(lang, "alpha_2"):
            names[lang.alpha_2] = lang.alpha_2
            names[lang.name.lower()] = lang.alpha_2
            names[lang.alpha_3] = lang.alpha_2
    names.update({"русский": "ru", "английский": "en", "казахский": "kk", "кыргызский": "ky",
                  "киргизский": "ky", "таджикский": "tg", "узбекский": "uz",
                  "туркменский": "tk", "қазақша": "kk", "кыргызча": "ky"})
    return names


def language_code(raw: str) -> str:
    """ISO 639-1 from a code (ru, ru-RU, ru_RU, rus) or a language name."""
    value = raw.strip().lower()
    if not value:
        return ""
    code = _language_names().get(re.split(r"[-_]", value)[0]) or _language_names().get(value)
    if code is None:
        raise RowError(f"bad language code {raw.strip()[:40]!r} (use ISO 639-1 codes such as "
                       "en, ru, kk)")
    return code


def _limited(value: str, what: str, limit: int, *, clean: Callable[[str], str] = text_clean) -> str:
    value = clean(value)
    if len(value) > limit:
        raise RowError(f"{what} is longer than {limit} characters ({len(value)})")
    return value


def _tags(raw: str) -> set[str]:
    parts = re.findall(r'"([^"]*)"', raw) if '"' in raw else re.split(r"[,;|]", raw)
    tags = {text_clean(p).lower() for p in parts if text_clean(p)}
    for tag in tags:
        if len(tag) > MAX_TAG:
            raise RowError(f"tag {tag[:20]!r}... is longer than {MAX_TAG} characters")
    return tags


def _attributes(raw: str) -> dict[str, Any]:
    if not raw.strip():
        return {}
    if len(raw) > MAX_ATTRIBUTES_JSON:
        raise RowError(f"attributes is longer than {MAX_ATTRIBUTES_JSON} characters")
    try:
        value = json.loads(raw)
    except ValueError:
        raise RowError("attributes is not valid JSON") from None
    if not isinstance(value, dict):
        raise RowError("attributes is not a JSON object")
    hit = control_character_find(value, "attributes")
    if hit:  # a JSON escape such as \u0000 decodes to one; PostgreSQL cannot store NUL
        raise RowError(control_character_message(*hit))
    return value


def _when(raw: str) -> dt.datetime | None:
    try:
        value = dt.datetime.fromisoformat(raw.strip())
    except ValueError:
        return None
    return value if timezone.is_aware(value) else value.replace(tzinfo=dt.UTC)


def _ip(raw: str) -> str | None:
    try:
        return str(ipaddress.ip_address(raw.strip()))
    except ValueError:
        return None


def row_parse(cells: list[str], cols: ColumnMap, line: int) -> Row:
    """Clean one line into a Row, or raise RowError saying why it is skipped."""
    # Undo our own export's formula guard ('=..., '+...) so an export re-imports unchanged.
    cells = [c[1:] if c[:1] == "'" and c[1:2] in ("=", "+", "-", "@") else c for c in cells]
    def cell(target: str) -> str:
        """The first non-blank of the columns mapped to target (OPTIN_IP, then CONFIRM_IP)."""
        first = cols.columns.get(target)
        for i in ([] if first is None else [first, *cols.alternates.get(target, [])]):
            if i < len(cells) and cells[i].strip():
                return cells[i]
        return ""

    raw_email = text_clean(cell("email"))
    if not raw_email:
        raise RowError("missing email")
    if len(raw_email) > 254:
        raise RowError("email is longer than 254 characters")
    try:
        email = email_normalise(raw_email)
    except InvalidAddress as exc:
        raise RowError(f"invalid address {raw_email[:60]!r}: {exc}") from None
    name = cell("name") or " ".join(p for p in (cell("first_name"), cell("last_name")) if p)
    attributes = _attributes(cell("attributes"))
    for i, key in cols.extras.items():
        if i < len(cells) and cells[i].strip() and key:
            attributes[key] = _limited(cells[i], key, MAX_NAME)
    status = cell("status").strip().lower()
    return Row(
        line=line, email=email,
        name=_limited(name, "name", MAX_NAME, clean=name_clean),
        organisation=_limited(cell("organisation"), "organisation", MAX_NAME, clean=name_clean),
        country=country_code(cell("country")),
        language=language_code(cell("language")),
        tags=_tags(cell("tags")),
        attributes=attributes,
        consent_at=_when(cell("consent_at")),
        consent_ip=_ip(cell("consent_ip")),
        consent_text=text_clean(cell("consent_text"))[:2000],
        opted_out=status in OPTED_OUT or bool(cell("unsub_time").strip()),
    )


# --- The file ------------------------------------------------------------------------------

@dataclass
class CsvSource:
    """An opened CSV: its encoding, delimiter, column map, and an iterator of (line, cells)."""

    encoding: str
    delimiter: str
    columns: ColumnMap
    rows: Iterator[tuple[int, list[str] | RowError]]


def _without_nul(lines: IO[str]) -> Iterator[str]:
    for line in lines:
        yield line.replace("\x00", "")


def csv_open(stream: IO[bytes], *, encoding: str | None = None) -> CsvSource:
    """Open a binary, seekable stream as CSV. Raises Unreadable when there is nothing to read."""
    csv.field_size_limit(MAX_FIELD)
    enc = encoding_check(encoding) if encoding else encoding_detect(stream)
    text = io.TextIOWrapper(stream, encoding=enc, errors="replace", newline="")
    first, offset = text.readline(), 1
    while first and not first.strip(" \t\r\n\ufeff,;") and offset < 100:  # leading blanks
        first, offset = text.readline(), offset + 1
    if first.lower().startswith("sep=") and len(first.strip()) == 5:  # Excel's hint line
        delimiter, first, offset = first.strip()[4], text.readline(), offset + 1
    else:
        delimiter = delimiter_detect(first)
    if not first.strip():
        raise Unreadable("the file is empty or its first line is blank; nothing to import")
    header = next(csv.reader([first.lstrip("\ufeff")], delimiter=delimiter), [])
    cols = columns_map(header)
    reader = csv.reader(_without_nul(text), delimiter=delimiter)

    def rows() -> Iterator[tuple[int, list[str] | RowError]]:
        if cols.headerless:
            yield offset, header
        line = offset + 1
        while True:
            try:
                cells = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                yield line, RowError(f"unreadable line: {exc}")
                line = offset + reader.line_num + 1
                continue
            if any(c.strip() for c in cells):
                yield line, cells
            line = offset + reader.line_num + 1

    return CsvSource(enc, delimiter, cols, rows())
