"""Text that UTF-8 cannot carry: surrogate code points.

A Python ``str`` can hold them (``json.loads('"\\ud800"')`` makes one, a command-line
argument decoded with ``surrogateescape`` holds several), but no UTF-8 byte string,
JSON document, protobuf string or hash input can. The engine scans such text as it is
(encoded with ``surrogatepass``, so its byte offsets work); wherever the text leaves the
process, every surrogate code point becomes U+REPLACEMENT CHARACTER, as Go's JSON
encoder and a browser's ``TextEncoder`` write an unencodable character. Both forms are
three UTF-8 bytes and one ``str`` character, so byte and character offsets computed on
either agree.
"""

from __future__ import annotations

import json
import re
from typing import Any, Final

__all__ = ["REPLACEMENT", "json_bytes", "utf8", "well_formed"]

REPLACEMENT: Final = "\ufffd"
_SURROGATE: Final = re.compile("[\ud800-\udfff]")


def well_formed(text: str) -> str:
    """``text`` with every surrogate code point replaced by U+FFFD (same length)."""
    return text if text.isascii() else _SURROGATE.sub(REPLACEMENT, text)


def utf8(text: str) -> bytes:
    """UTF-8 of ``text``, surrogates written as U+FFFD; the plain encode when it can."""
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        return well_formed(text).encode("utf-8")


def json_bytes(value: Any, *, separators: tuple[str, str] | None = None) -> bytes:
    """``value`` as UTF-8 JSON with non-ASCII kept, for a body or event written again.

    A string holding a surrogate (what an unpaired ``\\ud800`` escape on the wire parses
    to) has no UTF-8 form; such a document is written with every non-ASCII character
    escaped, which is how its sender wrote it, rather than failing.
    """
    try:
        return json.dumps(value, ensure_ascii=False, separators=separators).encode("utf-8")
    except UnicodeEncodeError:
        return json.dumps(value, separators=separators).encode("ascii")
