"""Colour arithmetic for the brand: hex parsing and WCAG 2.2 contrast ratios.

Relative luminance and contrast ratio follow WCAG 2.2, "relative luminance" and
SC 1.4.3 (AA: 4.5:1 for normal text, 3:1 for large text) and SC 1.4.11 (3:1 for
non-text user-interface parts and graphics).
"""

from __future__ import annotations

import re

HEX = re.compile(r"^#?([0-9a-fA-F]{3}|[0-9a-fA-F]{6})$")
WHITE = "#ffffff"
AA_TEXT = 4.5
AA_LARGE = 3.0


def hex_normalise(value: str) -> str:
    """``#rrggbb`` in lower case from ``#rgb``/``#rrggbb`` (with or without ``#``);
    ValueError for anything else."""
    m = HEX.match(value.strip())
    if m is None:
        raise ValueError(value)
    digits = m.group(1).lower()
    if len(digits) == 3:
        digits = "".join(c * 2 for c in digits)
    return f"#{digits}"


def _channels(colour: str) -> tuple[int, int, int]:
    h = hex_normalise(colour)[1:]
    return int(h[0:2], 16), int(h[2:4], 16), int(h[4:6], 16)


def luminance(colour: str) -> float:
    def linear(c: int) -> float:
        s = c / 255
        return s / 12.92 if s <= 0.04045 else ((s + 0.055) / 1.055) ** 2.4

    r, g, b = (linear(c) for c in _channels(colour))
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a: str, b: str) -> float:
    """WCAG contrast ratio, 1.0 (none) to 21.0 (black on white)."""
    light, dark = sorted((luminance(a), luminance(b)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def mix(colour: str, other: str, share: float) -> str:
    """``colour`` moved ``share`` (0..1) of the way towards ``other``."""
    out = [round(a + (b - a) * share) for a, b in zip(_channels(colour), _channels(other),
                                                        strict=True)]
    return "#" + "".join(f"{c:02x}" for c in out)


def tint_readable_on(background: str, *, start: float = 0.8) -> str:
    """The palest tint of ``background`` (towards white, from ``start``) that still
    reaches AA contrast as text on it; white if none does."""
    share = start
    while share < 1.0:
        tint = mix(background, WHITE, share)
        if contrast(tint, background) >= AA_TEXT:
            return tint
        share += 0.05
    return WHITE
