"""Demo photos are small local files installed under MEDIA_ROOT/newsletter/."""

from __future__ import annotations

import struct

from mailer.issues.demo_media import ICON_DIR, SOURCE_DIR, install_demo_media, png_bytes
from tests.issues.conftest import EXAMPLES


def test_it_installs_every_photo_the_example_uses(tmp_path):
    installed = install_demo_media(tmp_path)
    example = (EXAMPLES / "iom-central-asia-03.md").read_text("utf-8")
    for path in installed:
        assert (tmp_path / path).is_file()
    used = {line.split('src="/media/')[1].split('"')[0] for line in example.splitlines()
            if 'src="/media/' in line}
    assert used <= set(installed)


def test_shipped_images_are_small_valid_pngs():
    for path in [*SOURCE_DIR.glob("*.png"), *ICON_DIR.glob("*.png")]:
        data = path.read_bytes()
        assert len(data) <= 40 * 1024
        assert data.startswith(b"\x89PNG\r\n\x1a\n")


def test_png_writer_records_the_size():
    data = png_bytes(3, 2, lambda x, y: (x * 80, y * 80, 0))
    assert struct.unpack(">II", data[16:24]) == (3, 2)
