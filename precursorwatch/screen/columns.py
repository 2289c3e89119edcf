"""Matching manifest headers to Contract 2's canonical columns.

Headers are compared after folding case, spaces and punctuation, so "Goods Description",
"goods_description" and "GOODS-DESCRIPTION" are the same. `--map canonical=Header` wins over
the recognised variants.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from precursorwatch.screen.model import CANONICAL_COLUMNS, REQUIRED_COLUMNS, Problem

# Variants seen on bills of lading, air waybills, customs declarations and order exports.
HEADER_VARIANTS: dict[str, tuple[str, ...]] = {
    "shipment_id": ("shipment id", "shipment", "shipment no", "shipment number", "id", "ref",
                    "reference", "booking no", "booking number", "bill of lading", "bl no",
                    "bl number", "b/l no", "awb", "awb no", "air waybill", "hawb", "order no",
                    "order number", "declaration no", "entry no"),
    "date": ("date", "shipment date", "ship date", "shipping date", "departure date",
             "date of shipment", "etd", "arrival date", "eta", "bl date", "invoice date"),
    "description": ("description", "goods description", "description of goods", "goods",
                    "commodity", "commodity description", "product", "product description",
                    "product name", "cargo description", "item description", "item",
                    "merchandise"),
    "hs_code": ("hs code", "hs", "hts", "hts code", "hs tariff", "tariff code",
                "commodity code", "harmonized code", "harmonised code", "hs number"),
    "cas": ("cas", "cas no", "cas number", "cas rn", "cas registry number", "cas #"),
    "quantity": ("quantity", "qty", "net weight", "weight", "gross weight", "amount"),
    "unit": ("unit", "units", "uom", "unit of measure", "weight unit", "qty unit"),
    "shipper_name": ("shipper", "shipper name", "exporter", "exporter name", "consignor",
                     "consignor name", "seller", "supplier", "sender"),
    "shipper_address": ("shipper address", "exporter address", "consignor address",
                        "sender address", "supplier address"),
    "shipper_country": ("shipper country", "exporter country", "consignor country",
                        "country of origin", "origin country", "country of export",
                        "sender country"),
    "consignee_name": ("consignee", "consignee name", "importer", "importer name", "buyer",
                       "receiver", "recipient"),
    "consignee_address": ("consignee address", "importer address", "receiver address",
                          "recipient address", "delivery address"),
    "consignee_country": ("consignee country", "importer country", "destination country",
                          "country of destination", "receiver country", "recipient country"),
    "notify_party": ("notify party", "notify", "notify party name"),
    "mode": ("mode", "transport mode", "mode of transport", "shipment mode", "shipping mode",
             "service", "transport"),
    "origin_port": ("origin port", "port of loading", "pol", "loading port", "port of departure",
                    "departure port"),
    "destination_port": ("destination port", "port of discharge", "pod", "discharge port",
                         "port of entry", "arrival port"),
    "transit_countries": ("transit countries", "transit", "transit country", "via",
                          "transshipment", "transhipment", "routing"),
    "declared_value": ("declared value", "value", "customs value", "invoice value",
                       "fob value", "cif value", "total value", "amount usd"),
    "currency": ("currency", "cur", "ccy", "value currency"),
    "payment_method": ("payment method", "payment", "payment terms", "method of payment",
                       "paid by"),
}

_FOLD = re.compile(r"[^0-9a-z#]+")


def fold_header(header: str) -> str:
    """Case, spacing and punctuation removed: the key headers are compared on."""
    return _FOLD.sub("", header.strip().lstrip("\ufeff").lower())


_VARIANT_INDEX: dict[str, str] = {}
for _canonical, _variants in HEADER_VARIANTS.items():
    for _v in (_canonical, *_variants):
        _VARIANT_INDEX.setdefault(fold_header(_v), _canonical)


def parse_map_options(items: Sequence[str]) -> tuple[dict[str, str], list[Problem]]:
    """`canonical=Header` strings from `--map` into a dict; malformed items become problems."""
    mapping: dict[str, str] = {}
    problems: list[Problem] = []
    for item in items:
        canonical, sep, header = item.partition("=")
        canonical = canonical.strip()
        if not sep or not header.strip():
            problems.append(Problem(0, "--map", item, "expected canonical=Header"))
        elif canonical not in CANONICAL_COLUMNS:
            problems.append(Problem(0, "--map", item, f"unknown column {canonical!r}; known: "
                                    + ", ".join(CANONICAL_COLUMNS)))
        else:
            mapping[canonical] = header.strip()
    return mapping, problems


def match_headers(
    headers: Sequence[str], overrides: Mapping[str, str] | None = None
) -> tuple[dict[str, str], list[Problem]]:
    """Canonical column -> the file's header for it, and the problems with the header row.

    Overrides are checked against the file's headers (exact first, then folded). Unknown
    headers are ignored; a missing required column is a problem.
    """
    overrides = dict(overrides or {})
    problems: list[Problem] = []
    by_fold = {fold_header(h): h for h in headers}
    mapping: dict[str, str] = {}
    for canonical, header in overrides.items():
        if header in headers:
            mapping[canonical] = header
        elif fold_header(header) in by_fold:
            mapping[canonical] = by_fold[fold_header(header)]
        else:
            problems.append(Problem(0, canonical, header,
                                    "--map names a header that is not in the file; headers: "
                                    + ", ".join(h for h in headers if h)))
    taken = set(mapping.values())
    for header in headers:
        known = _VARIANT_INDEX.get(fold_header(header))
        if known and known not in mapping and header not in taken:
            mapping[known] = header
            taken.add(header)
    for canonical in REQUIRED_COLUMNS:
        if canonical not in mapping and not any(p.column == canonical for p in problems):
            problems.append(Problem(0, canonical, "",
                                    "required column missing (use --map "
                                    f"{canonical}=YourHeader); headers: "
                                    + ", ".join(h for h in headers if h)))
    return mapping, problems
