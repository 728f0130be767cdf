"""Placeholder photos for the demo, served from MEDIA_ROOT/newsletter/.

The PNGs under ``demo_media/`` are committed; ``python -m mailer.issues.demo_media``
regenerates them (and the social icons) with the small stdlib PNG writer below, so
no image is ever fetched from the internet.
"""

from __future__ import annotations

import math
import shutil
import struct
import zlib
from collections.abc import Callable
from pathlib import Path

SOURCE_DIR = Path(__file__).resolve().parent / "demo_media"
ICON_DIR = Path(__file__).resolve().parent / "static" / "issues" / "social"
Pixel = tuple[int, int, int]


def install_demo_media(media_root: Path) -> list[str]:
    """Copy the placeholder photos into ``media_root/newsletter/``; returns the
    site-relative paths (``newsletter/<name>``) that were installed."""
    target = media_root / "newsletter"
    target.mkdir(parents=True, exist_ok=True)
    installed = []
    for source in sorted(SOURCE_DIR.glob("*.png")):
        shutil.copyfile(source, target / source.name)
        installed.append(f"newsletter/{source.name}")
    return installed


def png_bytes(width: int, height: int, pixel: Callable[[int, int], Pixel]) -> bytes:
    """A truecolour PNG (RFC 2083) with the "Sub" filter, which keeps flat art small."""
    rows = bytearray()
    for y in range(height):
        rows.append(1)  # filter type Sub
        previous = (0, 0, 0)
        for x in range(width):
            r, g, b = pixel(x, y)
            rows += bytes(((r - previous[0]) & 255, (g - previous[1]) & 255,
                           (b - previous[2]) & 255))
            previous = (r, g, b)

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
            + chunk(b"IDAT", zlib.compress(bytes(rows), 9)) + chunk(b"IEND", b""))


def _scene(sky: Pixel, ground: Pixel, figure: Pixel, seed: int) -> Callable[[int, int], Pixel]:
    """A flat landscape with a sun and a few standing figures: obviously a placeholder."""
    figures = [(90 + seed * 37 % 60 + i * 95, 200 + (i * seed) % 25) for i in range(5)]

    def pixel(x: int, y: int) -> Pixel:
        for fx, fy in figures:
            if (x - fx) ** 2 + (y - fy) ** 2 < 14 ** 2 or (abs(x - fx) < 16 and fy + 12 < y < fy + 90):
                return figure
        if (x - 500) ** 2 + (y - 70) ** 2 < 30 ** 2:
            return (250, 214, 120)
        horizon = 230 + int(12 * math.sin(x / 60 + seed))
        if y < horizon:
            t = y / horizon
            return tuple(int(c * (0.75 + 0.25 * t)) for c in sky)  # type: ignore[return-value]
        return ground

    return pixel


def _icon(colour: Pixel) -> Callable[[int, int], Pixel]:
    def pixel(x: int, y: int) -> Pixel:
        inside = (x - 23.5) ** 2 + (y - 23.5) ** 2 < 22 ** 2
        ring = (x - 23.5) ** 2 + (y - 23.5) ** 2 < 9 ** 2
        return (255, 255, 255) if ring or not inside else colour

    return pixel


PHOTOS = {
    "returning-home.png": ((120, 170, 220), (196, 170, 120), (40, 50, 80), 1),
    "bilateral-meeting.png": ((200, 210, 225), (110, 120, 140), (30, 40, 90), 2),
    "almaty-process.png": ((0, 90, 170), (0, 51, 160), (255, 255, 255), 3),
    "safe-migration.png": ((150, 200, 230), (120, 160, 90), (60, 40, 40), 4),
}
ICONS = {
    "facebook": (24, 119, 242), "instagram": (193, 53, 132), "linkedin": (10, 102, 194),
    "telegram": (34, 158, 217), "twitter": (29, 155, 240), "x": (20, 20, 20),
    "youtube": (255, 0, 0), "web": (0, 51, 160),
}


def regenerate() -> None:
    SOURCE_DIR.mkdir(exist_ok=True)
    ICON_DIR.mkdir(parents=True, exist_ok=True)
    for name, (sky, ground, figure, seed) in PHOTOS.items():
        (SOURCE_DIR / name).write_bytes(png_bytes(600, 340, _scene(sky, ground, figure, seed)))
    for network, colour in ICONS.items():
        (ICON_DIR / f"{network}.png").write_bytes(png_bytes(48, 48, _icon(colour)))


if __name__ == "__main__":
    regenerate()
