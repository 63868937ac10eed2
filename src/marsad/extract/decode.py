"""Decoding raw page bytes to text: HTTP header charset, then ``<meta>``, then detection.

Never the Latin-1 default of HTTP/1.1 for ``text/html`` without a charset: Arabic pages in windows-1256 or
ISO-8859-6 without any declaration are common on older sites (see ``corpus/chardet/``), and detection
(charset_normalizer) gets them right where Latin-1 gives mojibake.
"""

from __future__ import annotations

import codecs
import re

from charset_normalizer import from_bytes

_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_\-:.]+)""", re.IGNORECASE)
_HEADER_CHARSET = re.compile(r"charset\s*=\s*[\"']?([A-Za-z0-9_\-:.]+)", re.IGNORECASE)


def _codec(name: str | None) -> str | None:
    if not name:
        return None
    try:
        return codecs.lookup(name.strip()).name
    except LookupError:
        return None


def decode_html(body: bytes, content_type: str | None = None) -> tuple[str, str]:
    """Return ``(text, encoding_name)`` for an HTML body.

    Order: BOM; charset in ``content_type``; ``<meta charset>`` / ``http-equiv`` in the first 4 KiB; UTF-8 if the
    bytes are valid UTF-8; charset_normalizer's best guess; finally UTF-8 with replacement characters.
    A declared charset that fails to decode strictly falls through to the next step.
    """
    if body.startswith(codecs.BOM_UTF8):
        return body[3:].decode("utf-8", errors="replace"), "utf-8"
    candidates: list[str] = []
    if content_type:
        m = _HEADER_CHARSET.search(content_type)
        if m and (c := _codec(m.group(1))):
            candidates.append(c)
    m = _META_CHARSET.search(body[:4096])
    if m and (c := _codec(m.group(1).decode("ascii", "ignore"))):
        candidates.append(c)
    candidates.append("utf-8")
    for enc in candidates:
        if enc in ("latin-1", "iso8859-1", "cp1252") and enc != candidates[0]:
            continue
        try:
            return body.decode(enc), enc
        except UnicodeDecodeError:
            continue
    best = from_bytes(body).best()
    if best is not None and best.encoding:
        return str(best), best.encoding
    return body.decode("utf-8", errors="replace"), "utf-8-replace"
