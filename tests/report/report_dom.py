"""A minimal DOM for reading rendered report pages back in tests (stdlib html.parser).

Works on the HTML we write and on what headless Chromium serialises with --dump-dom.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from html.parser import HTMLParser

_VOID = frozenset(
    {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "wbr"}
)


@dataclass
class Node:
    tag: str
    attrs: dict[str, str]
    children: list[Node] = field(default_factory=list)
    parts: list[str | Node] = field(default_factory=list)

    @property
    def text(self) -> str:
        return "".join(p if isinstance(p, str) else p.text for p in self.parts)

    def iter(self) -> Iterator[Node]:
        yield self
        for child in self.children:
            yield from child.iter()

    def find_all(self, predicate: Callable[[Node], bool]) -> list[Node]:
        return [node for node in self.iter() if predicate(node)]

    def by_id(self, element_id: str) -> Node:
        found = self.find_all(lambda node: node.attrs.get("id") == element_id)
        assert len(found) == 1, f"expected one #{element_id}, found {len(found)}"
        return found[0]

    def with_class(self, name: str) -> list[Node]:
        return self.find_all(lambda node: name in node.attrs.get("class", "").split())


class _Builder(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Node("#document", {})
        self._stack = [self.root]

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        node = Node(tag, {name: value or "" for name, value in attrs})
        parent = self._stack[-1]
        parent.children.append(node)
        parent.parts.append(node)
        if tag not in _VOID:
            self._stack.append(node)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        if tag not in _VOID:
            self._stack.pop()

    def handle_endtag(self, tag: str) -> None:
        for index in range(len(self._stack) - 1, 0, -1):
            if self._stack[index].tag == tag:
                del self._stack[index:]
                return

    def handle_data(self, data: str) -> None:
        self._stack[-1].parts.append(data)


def parse(html: str) -> Node:
    builder = _Builder()
    builder.feed(html)
    builder.close()
    return builder.root


def card_value(document: Node, card_id: str) -> int:
    """The number shown on a totals card (its visible text, checked against data-value)."""
    (value,) = document.by_id(card_id).with_class("value")
    assert value.text.strip() == value.attrs["data-value"]
    return int(value.text.strip())


def bar_counts(document: Node, chart_id: str) -> dict[str, int]:
    """label -> count of a bar chart, from the visible count text of each bar."""
    counts = {}
    for bar in document.by_id(chart_id).with_class("bar"):
        (count,) = bar.with_class("count")
        assert count.text == bar.attrs["data-count"]
        counts[bar.attrs["data-label"]] = int(count.text)
    return counts
