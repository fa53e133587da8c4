"""Reading HTML the way a browser's parser does, for tests of the HTML we write."""

from __future__ import annotations

from html.parser import HTMLParser


class Page(HTMLParser):
    """The start tags and the text (entities decoded) of an HTML document or fragment."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.text: list[str] = []
        self.feed(html)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)

    def handle_data(self, data: str) -> None:
        self.text.append(data)
