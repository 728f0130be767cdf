"""Deterministic demo audience: partner contacts and public subscribers in Central Asia.

All addresses are under example.org / example.net / example.com (RFC 2606), so
nothing here can reach a real person.
"""

from __future__ import annotations

import csv
import io
import random

COUNTRIES = ["KZ", "KG", "TJ", "TM", "UZ"]

PARTNER_ORGS = {
    "KZ": ["Sana Sezim NGO", "Ministry of Labour and Social Protection of Kazakhstan",
           "UNICEF Kazakhstan", "Legal Centre for Women's Initiatives", "UNHCR Almaty"],
    "KG": ["Insan Leilek", "Ministry of Foreign Affairs of Kyrgyzstan", "UNDP Kyrgyzstan",
           "Tais Plus", "Adilet Legal Clinic"],
    "TJ": ["Femida NGO", "Migration Service of Tajikistan", "UN Women Tajikistan",
           "Society and Law", "Bureau on Human Rights"],
    "TM": ["Yenme NGO", "State Migration Service of Turkmenistan", "UNFPA Turkmenistan",
           "Keik Okara", "Red Crescent Society of Turkmenistan"],
    "UZ": ["Istiqbolli Avlod", "Ministry of Employment and Labour Relations of Uzbekistan",
           "ILO Tashkent", "Mehr Nuri", "Youth Union of Uzbekistan"],
}

FEMALE_EN = ["Aigerim", "Dilnoza", "Madina", "Gulnara", "Zarina", "Aizhan", "Nigora", "Saule",
             "Kamila", "Shahlo", "Malika", "Feruza"]
MALE_EN = ["Nurlan", "Timur", "Rustam", "Bakyt", "Farrukh", "Daniyar", "Azamat", "Jamshid",
           "Erlan", "Ruslan", "Askar", "Marat"]
LAST_EN = ["Bekov", "Nurlanov", "Karimov", "Abdullaev", "Ismailov", "Sadykov", "Zhunusov",
           "Rakhimov", "Yusupov", "Omarov", "Kasymov", "Aliev", "Muratov", "Ergashev", "Sultanov"]
FEMALE_RU = ["Айгерим", "Дильноза", "Мадина", "Гульнара", "Зарина", "Айжан", "Нигора", "Сауле"]
MALE_RU = ["Нурлан", "Тимур", "Рустам", "Бакыт", "Фаррух", "Данияр", "Азамат", "Джамшид"]
LAST_RU = ["Беков", "Нурланов", "Каримов", "Исмаилов", "Садыков", "Жунусов", "Рахимов",
           "Юсупов", "Омаров", "Касымов", "Алиев", "Муратов"]
TRANSLIT = dict(zip("абвгдеёжзийклмнопрстуфхцчшщъыьэюя",
                    ["a", "b", "v", "g", "d", "e", "e", "zh", "z", "i", "i", "k", "l", "m", "n",
                     "o", "p", "r", "s", "t", "u", "f", "kh", "ts", "ch", "sh", "sch", "", "y", "",
                     "e", "yu", "ya"], strict=True))
DOMAINS = ["example.org", "example.net", "example.com"]


def _ascii(name: str) -> str:
    return "".join(TRANSLIT.get(ch, ch) for ch in name.lower())


def _slug(text: str) -> str:
    words = [w for w in "".join(c if c.isalnum() else " " for c in _ascii(text)).split()
             if w not in {"of", "and", "the", "for"}]
    return "-".join(words[:3])


def _person(rng: random.Random, russian: bool) -> tuple[str, str]:
    female = rng.random() < 0.5
    if russian:
        first = rng.choice(FEMALE_RU if female else MALE_RU)
        last = rng.choice(LAST_RU) + ("а" if female else "")
    else:
        first = rng.choice(FEMALE_EN if female else MALE_EN)
        last = rng.choice(LAST_EN) + ("a" if female else "")
    return first, last


def partners(rng: random.Random, count: int = 60) -> list[dict[str, str]]:
    rows = []
    for i in range(count):
        country = COUNTRIES[i % len(COUNTRIES)]
        org = rng.choice(PARTNER_ORGS[country])
        russian = rng.random() < 0.45
        first, last = _person(rng, russian)
        local = f"{_ascii(first)[0]}.{_ascii(last)}{i}"
        rows.append({"email": f"{local}@{_slug(org)}.{DOMAINS[i % 3]}", "name": f"{first} {last}",
                     "organisation": org, "country": country, "language": "ru" if russian else "en"})
    return rows


def public(rng: random.Random, count: int = 200) -> list[dict[str, str]]:
    rows = []
    for i in range(count):
        russian = rng.random() < 0.5
        first, last = _person(rng, russian)
        rows.append({"email": f"{_ascii(first)}.{_ascii(last)}.{i}@{rng.choice(DOMAINS)}",
                     "name": f"{first} {last}", "organisation": "",
                     "country": rng.choice(COUNTRIES), "language": "ru" if russian else "en"})
    return rows


def to_csv(rows: list[dict[str, str]]) -> bytes:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=["email", "name", "organisation", "country", "language"])
    writer.writeheader()
    writer.writerows(rows)
    return buf.getvalue().encode("utf-8")


def demo_audience(seed: int = 3, overlap: int = 20) -> tuple[bytes, bytes, int]:
    """CSV bytes for the Partners and Subscribers lists, and the number of distinct people.
    ``overlap`` partner contacts also subscribe to the public list (they must get one copy)."""
    rng = random.Random(seed)
    p = partners(rng)
    s = public(rng) + p[:overlap]
    distinct = len({r["email"].lower() for r in p + s})
    return to_csv(p), to_csv(s), distinct
