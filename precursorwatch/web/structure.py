"""A substance's structure as inline SVG, drawn by RDKit and sanitised before it is inlined.

The drawing comes from a SMILES the checker resolved from what a person typed, so the SVG is
rebuilt from an allow-list of elements and attributes: no script, no event handler, no link,
nothing that loads from elsewhere.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from functools import lru_cache
from html import escape

SVG_NS = "http://www.w3.org/2000/svg"
_ELEMENTS = frozenset({"svg", "g", "path", "rect", "circle", "ellipse", "line", "polyline",
                       "polygon", "text", "tspan", "title", "desc"})
_ATTRIBUTES = frozenset({
    "viewBox", "width", "height", "x", "y", "x1", "y1", "x2", "y2", "cx", "cy", "r", "rx", "ry",
    "d", "points", "fill", "stroke", "stroke-width", "stroke-linecap", "stroke-linejoin",
    "stroke-opacity", "fill-opacity", "opacity", "transform", "font-size", "font-family",
    "font-weight", "text-anchor", "dominant-baseline", "class", "style", "version",
    "preserveAspectRatio", "fill-rule"})


def _clean_style(value: str) -> str:
    # Styles carry colours and widths only; anything that could fetch (url(), @import) goes.
    lowered = value.lower()
    if "url(" in lowered or "@" in lowered or "expression" in lowered or "\\" in value:
        return ""
    return value


def _write(element: ET.Element, out: list[str]) -> None:
    tag = element.tag.rsplit("}", 1)[-1]
    if tag not in _ELEMENTS:
        return
    attrs = []
    for name, value in element.attrib.items():
        local = name.rsplit("}", 1)[-1]
        if local not in _ATTRIBUTES:
            continue
        if local == "style":
            value = _clean_style(value)
        attrs.append(f' {local}="{escape(value, quote=True)}"')
    if tag == "svg":
        attrs.insert(0, f' xmlns="{SVG_NS}"')
    out.append(f"<{tag}{''.join(attrs)}>")
    if element.text:
        out.append(escape(element.text, quote=False))
    for child in element:
        _write(child, out)
        if child.tail:
            out.append(escape(child.tail, quote=False))
    out.append(f"</{tag}>")


def sanitise_svg(svg: str) -> str:
    """`svg` rebuilt from allowed elements and attributes only; empty if it does not parse."""
    try:
        root = ET.fromstring(svg)
    except ET.ParseError:
        return ""
    out: list[str] = []
    _write(root, out)
    return "".join(out)


@lru_cache(maxsize=512)
def drawing(smiles: str | None, label: str = "", width: int = 300, height: int = 220) -> str:
    """The structure of `smiles` as sanitised inline SVG with an accessible name; empty when
    there is no structure or RDKit cannot draw it."""
    if not smiles:
        return ""
    from precursorwatch.screen.report import structure_svg  # RDKit's drawing, loaded on use

    svg = sanitise_svg(structure_svg(smiles, width, height))
    if not svg:
        return ""
    name = escape(label or smiles, quote=True)
    return svg.replace("<svg ", f'<svg role="img" aria-label="{name}" ', 1)
