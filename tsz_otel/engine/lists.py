"""Allowlist and blocklist: trusted values never reported, forbidden values always blocked.

Both lists are thread-safe: writers take a lock and swap in a new immutable
state; ``detect`` reads the current state once, so a scan never sees a list
half-updated.

Allowlist (``AllowlistItem.match``):

* ``exact`` (TSZ's behaviour) - the matched value equals ``value``, case-sensitive.
* ``domain`` - the matched value is an e-mail address or URL whose host is
  ``value`` or a subdomain of it (``company.com`` allows ``a@company.com`` and
  ``https://u:p@git.company.com/x``), case-insensitive.
* ``regex`` - the matched value fully matches ``value`` (RE2 syntax).

Blocklist (``BlacklistItem``): every occurrence of ``value`` in the text is a
``BLOCKLIST`` hit with confidence 1.00 that blocks. By default a case-sensitive
substring, like TSZ; ``word_boundary`` requires non-word characters (or the
text's ends) around it and ``case_insensitive`` ignores case.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from ..errors import ConfigurationError
from ..models import AllowlistItem, BlacklistItem
from .regex import UserRegex, compile_user_regex

__all__ = ["Allowlist", "Blocklist"]


def _host_of(value: str) -> str | None:
    """The host of an e-mail address or URL, lower-cased; ``None`` for anything else."""
    if "://" in value:
        try:
            host = urlsplit(value).hostname
        except ValueError:
            return None
        return host.lower() if host else None
    if "@" in value:
        return value.rpartition("@")[2].lower() or None
    return None


@dataclass(frozen=True, slots=True)
class _AllowState:
    items: tuple[AllowlistItem, ...] = ()
    exact: frozenset[str] = frozenset()
    domains: tuple[str, ...] = ()
    regexes: tuple[UserRegex, ...] = ()

    def allows(self, value: str) -> bool:
        if value in self.exact:
            return True
        if self.domains:
            host = _host_of(value)
            if host is not None:
                for domain in self.domains:
                    if host == domain or host.endswith("." + domain):
                        return True
        return any(rx.fullmatch(value) for rx in self.regexes)


def _allow_item(item: str | AllowlistItem) -> AllowlistItem:
    if isinstance(item, AllowlistItem):
        return item
    if isinstance(item, str):
        return AllowlistItem(value=item)
    raise TypeError("an allowlist item is a string or an AllowlistItem")


def _allow_state(items: Iterable[AllowlistItem]) -> _AllowState:
    kept = tuple(items)
    exact = frozenset(i.value for i in kept if i.match == "exact")
    domains = tuple(i.value.strip().lstrip(".").lower() for i in kept if i.match == "domain")
    regexes = tuple(
        compile_user_regex(f"allowlist item {index}", i.value)
        for index, i in enumerate(kept)
        if i.match == "regex"
    )
    return _AllowState(kept, exact, domains, regexes)


class Allowlist:
    """Values (or domains, or regexes) that are never reported."""

    def __init__(self, items: Iterable[str | AllowlistItem] = ()) -> None:
        self._lock = threading.Lock()
        self._state = _allow_state(_allow_item(i) for i in items)

    def add(self, item: str | AllowlistItem) -> AllowlistItem:
        """Add (or replace, by value and match kind) one item; returns it."""
        return self.extend([item])[0]

    def extend(self, items: Iterable[str | AllowlistItem]) -> list[AllowlistItem]:
        """Add several items at once: all are validated before any is applied."""
        new = [_allow_item(i) for i in items]
        with self._lock:
            keys = {(i.value, i.match) for i in new}
            kept = [i for i in self._state.items if (i.value, i.match) not in keys]
            self._state = _allow_state([*kept, *new])
        return new

    def remove(self, value: str) -> bool:
        """Remove every item with this ``value``; ``True`` if one was removed."""
        with self._lock:
            kept = [i for i in self._state.items if i.value != value]
            removed = len(kept) != len(self._state.items)
            self._state = _allow_state(kept)
        return removed

    def clear(self) -> None:
        with self._lock:
            self._state = _AllowState()

    @property
    def items(self) -> tuple[AllowlistItem, ...]:
        return self._state.items

    def allows(self, value: str) -> bool:
        """Whether a matched ``value`` is trusted (not reported)."""
        return self._state.allows(value)

    def snapshot(self) -> _AllowState:
        return self._state

    def __len__(self) -> int:
        return len(self._state.items)

    def __iter__(self) -> Iterator[AllowlistItem]:
        return iter(self._state.items)

    def __contains__(self, value: object) -> bool:
        return any(i.value == value for i in self._state.items)


_WORD_EDGE_BEFORE = r"(?<![\w])"
_WORD_EDGE_AFTER = r"(?![\w])"


@dataclass(frozen=True, slots=True)
class _Matcher:
    """Finds one blocklist item: ``str.find`` for plain items, a regex otherwise."""

    literal: str
    regex: re.Pattern[str] | None

    def spans(self, text: str) -> Iterator[tuple[int, int]]:
        if self.regex is not None:
            for m in self.regex.finditer(text):
                if m.end() > m.start():
                    yield m.span()
            return
        size = len(self.literal)
        position = text.find(self.literal)
        while position >= 0:
            yield position, position + size
            position = text.find(self.literal, position + size)


def _matcher(item: BlacklistItem) -> _Matcher:
    if not item.word_boundary and not item.case_insensitive:
        return _Matcher(item.value, None)
    pattern = re.escape(item.value)
    if item.word_boundary:
        pattern = _WORD_EDGE_BEFORE + pattern + _WORD_EDGE_AFTER
    flags = re.IGNORECASE if item.case_insensitive else 0
    return _Matcher(item.value, re.compile(pattern, flags))


@dataclass(frozen=True, slots=True)
class _BlockState:
    items: tuple[BlacklistItem, ...] = ()
    matchers: tuple[_Matcher, ...] = field(default_factory=tuple)

    def spans(self, text: str) -> Iterator[tuple[int, int]]:
        for matcher in self.matchers:
            yield from matcher.spans(text)


def _block_item(item: str | BlacklistItem) -> BlacklistItem:
    if isinstance(item, BlacklistItem):
        result = item
    elif isinstance(item, str):
        result = BlacklistItem(value=item)
    else:
        raise TypeError("a blocklist item is a string or a BlacklistItem")
    if not result.value:
        raise ConfigurationError("a blocklist item needs a non-empty value")
    return result


def _block_state(items: Iterable[BlacklistItem]) -> _BlockState:
    kept = tuple(items)
    return _BlockState(kept, tuple(_matcher(i) for i in kept))


class Blocklist:
    """Forbidden values: each occurrence is a ``BLOCKLIST`` detection that blocks."""

    def __init__(self, items: Iterable[str | BlacklistItem] = ()) -> None:
        self._lock = threading.Lock()
        self._state = _block_state(_block_item(i) for i in items)

    def add(self, item: str | BlacklistItem) -> BlacklistItem:
        """Add (or replace, by value) one item; returns it."""
        return self.extend([item])[0]

    def extend(self, items: Iterable[str | BlacklistItem]) -> list[BlacklistItem]:
        """Add several items at once: all are validated before any is applied."""
        new = [_block_item(i) for i in items]
        with self._lock:
            values = {i.value for i in new}
            kept = [i for i in self._state.items if i.value not in values]
            self._state = _block_state([*kept, *new])
        return new

    def remove(self, value: str) -> bool:
        """Remove the item with this ``value``; ``True`` if it was there."""
        with self._lock:
            kept = [i for i in self._state.items if i.value != value]
            removed = len(kept) != len(self._state.items)
            self._state = _block_state(kept)
        return removed

    def clear(self) -> None:
        with self._lock:
            self._state = _BlockState()

    @property
    def items(self) -> tuple[BlacklistItem, ...]:
        return self._state.items

    def spans(self, text: str) -> Iterator[tuple[int, int]]:
        """``(start, end)`` of every occurrence of every item (may overlap)."""
        return self._state.spans(text)

    def __len__(self) -> int:
        return len(self._state.items)

    def __iter__(self) -> Iterator[BlacklistItem]:
        return iter(self._state.items)

    def __contains__(self, value: object) -> bool:
        return any(i.value == value for i in self._state.items)
