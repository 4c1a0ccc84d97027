"""QR codes rendered on the server as SVG data URIs (no script, CSP-safe: img-src data:)."""

from __future__ import annotations

from base64 import b64encode

import qrcode
from qrcode.image.svg import SvgPathFillImage


def qr_data_uri(text: str) -> str:
    """An ``<img src>`` value showing ``text`` as a QR code (white background, 4-module margin)."""
    image = qrcode.make(text, image_factory=SvgPathFillImage, box_size=10, border=4)
    svg = image.to_string(encoding="UTF-8")
    return "data:image/svg+xml;base64," + b64encode(svg).decode("ascii")
