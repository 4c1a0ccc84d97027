"""HTML from mail: sanitised for display (nh3) and turned into readable plain text.

Remote images are dropped (they are tracking pixels as often as not); ``cid:`` images stay so
display can point them at the message's inline attachments.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

import nh3

URL_SCHEMES = {"http", "https", "mailto", "cid"}
_SKIP = {"script", "style", "head", "title", "template", "noscript"}
_BLOCK = {
    "p", "div", "br", "tr", "li", "ul", "ol", "table", "blockquote", "pre", "hr",
    "h1", "h2", "h3", "h4", "h5", "h6", "section", "article", "header", "footer",
}  # fmt: skip


def _keep_attribute(tag: str, attribute: str, value: str) -> str | None:
    if tag == "img" and attribute == "src" and not value.strip().lower().startswith("cid:"):
        return None
    return value


_CLEANER = nh3.Cleaner(
    url_schemes=URL_SCHEMES,
    clean_content_tags={"script", "style"},
    attribute_filter=_keep_attribute,
)


def sanitise_html(html: str) -> str:
    """HTML safe to show inside our page: no script, style, event handlers or remote images."""
    return _CLEANER.clean(html)


class _TextExtractor(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skip_depth = 0
        self.href: str | None = None
        self.link_text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIP:
            self.skip_depth += 1
        elif tag in _BLOCK:
            self.parts.append("\n")
            if tag == "li":
                self.parts.append("- ")
        elif tag == "a":
            self.href = dict(attrs).get("href") or None
            self.link_text = []

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP:
            self.skip_depth = max(0, self.skip_depth - 1)
        elif tag in _BLOCK:
            self.parts.append("\n")
        elif tag == "a" and self.href:
            shown = "".join(self.link_text).strip()
            if self.href.startswith(("http://", "https://")) and self.href != shown:
                self.parts.append(f" <{self.href}>")
            self.href = None

    def handle_data(self, data: str) -> None:
        if self.skip_depth:
            return
        text = re.sub(r"[ \t\r\n\f\v]+", " ", data)
        self.parts.append(text)
        if self.href is not None:
            self.link_text.append(text)


def html_to_text(html: str) -> str:
    """Readable text from HTML: blocks on their own lines, links with their address."""
    extractor = _TextExtractor()
    try:
        extractor.feed(html)
        extractor.close()
    except (AssertionError, ValueError):  # HTMLParser on hopeless markup; keep what it got
        pass
    text = "".join(extractor.parts).replace("\xa0", " ")
    lines = [line.strip() for line in text.split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()
