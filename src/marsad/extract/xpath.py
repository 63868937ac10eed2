"""The kind of an XPath result, for the type checker.

lxml-stubs types every XPath evaluation as the union of all XPath result kinds (boolean, number, string, and a list
of elements, attribute strings or namespace tuples), because the kind depends on the expression text. The callers
here know it from the expression: ``//meta[@content]`` selects elements, ``string()`` yields a string. These
functions state that kind at the call site; they do not convert or check at run time (the value is returned as is).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

if TYPE_CHECKING:
    from lxml import etree


def elements(result: object) -> list[etree._Element]:
    """``result`` of an XPath that selects elements only (``//h1``, ``//a[@href]``): a list of elements."""
    return cast("list[etree._Element]", result)


def string(result: object) -> str:
    """``result`` of an XPath ``string()`` evaluation: a ``str`` (lxml's ``_ElementUnicodeResult``, a subclass)."""
    return cast(str, result)


def strings(result: object) -> list[str]:
    """``result`` of an XPath that selects attribute values or text nodes (``//link/@href``): a list of strings."""
    return cast("list[str]", result)
