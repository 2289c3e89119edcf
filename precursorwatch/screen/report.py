"""Writing screening results: JSON lines (Contract 2), CSV, and a self-contained HTML report.

The HTML report has no external assets: styles, the sort script and the chart (inline SVG) are
in the file, so it can be mailed or archived as is.
"""

from __future__ import annotations

import csv
import datetime as dt
import html
import json
from collections import Counter, defaultdict
from collections.abc import Iterable
from importlib.resources import files
from json.encoder import encode_basestring as _encode_str
from pathlib import Path
from typing import IO, Any

from precursorwatch.screen.config import RuleConfig
from precursorwatch.screen.engine import ScreenRun, paused_gc
from precursorwatch.screen.model import ShipmentResult
from precursorwatch.screen.rules import CONCERN, explanations

FORMATS = ("jsonl", "csv", "html")
HTML_MAX_ROWS = 5000
CSV_COLUMNS = ("shipment_id", "row", "risk", "level", "flags", "reasons", "chemicals",
               "parties", "rule_set", "rule_set_version")
_LEVEL_COLOURS = (("high", "#d64541"), ("medium", "#f0a430"), ("low", "#5b8def"),
                  ("none", "#8fbf8f"))


def write_jsonl(results: Iterable[ShipmentResult], out: IO[str]) -> None:
    """One Contract 2 object a line, in input order.

    Only the shipment id and row differ between the many lines that share their chemicals,
    flags and party hits (the same objects, from the screening caches): the JSON of the rest
    is made once for them. (A remembered line holds its result, so the objects whose ids make
    its key stay alive while it is remembered: an id in a key is never another object's.)
    """
    encode = json.JSONEncoder(ensure_ascii=False).encode
    tails: dict[tuple[object, ...], str] = {}
    lines: list[str] = []
    kept: list[ShipmentResult] = []
    for r in results:
        key = (id(r.chemicals), id(r.flags), id(r.parties), r.risk, r.level, r.rule_set,
               r.rule_set_version)
        tail = tails.get(key)
        if tail is None:
            d = r.to_dict()
            del d["shipment_id"], d["row"]
            tail = ", " + encode(d)[1:] + "\n"
            if len(tails) >= _JSON_TAILS:
                tails.clear()
                kept.clear()
            tails[key] = tail
            kept.append(r)
        lines.append(f'{{"shipment_id": {_encode_str(r.shipment_id)}, "row": {r.row:d}{tail}')
        if len(lines) >= 10_000:
            out.write("".join(lines))
            lines.clear()
    out.write("".join(lines))


_JSON_TAILS = 100_000


def _chemical_label(c: dict[str, Any]) -> str:
    return f"{c.get('name') or c.get('input')} ({c.get('verdict')})"


def csv_row(r: ShipmentResult) -> list[str]:
    return [
        r.shipment_id, str(r.row), str(r.risk), r.level,
        ";".join(f.code for f in r.flags),
        " | ".join(f"{f.code}: {f.detail}" for f in r.flags),
        "; ".join(_chemical_label(c) for c in r.chemicals),
        "; ".join(f"{p.role}: {p.entry} ({p.list} {', '.join(p.programmes)}, {p.score:.2f})"
                  for p in r.parties),
        r.rule_set, r.rule_set_version,
    ]


def write_csv(results: Iterable[ShipmentResult], out: IO[str]) -> None:
    """One row per shipment: flag codes, every reason, chemicals and party hits as text."""
    w = csv.writer(out)
    w.writerow(CSV_COLUMNS)
    for r in results:
        w.writerow(csv_row(r))


def risk_chart_svg(results: Iterable[ShipmentResult], top: int = 15) -> str:
    """Stacked bars: shipments per consignee country by risk level (inline SVG)."""
    per: dict[str, Counter[str]] = defaultdict(Counter)
    for r in results:
        per[r.consignee_country or "unknown"][r.level] += 1
    countries = sorted(per, key=lambda c: (-(per[c]["high"] * 1000 + per[c]["medium"]),
                                           -sum(per[c].values()), c))[:top]
    if not countries:
        return "<p>No shipments.</p>"
    width, bar_h, gap, left = 720, 22, 8, 90
    height = len(countries) * (bar_h + gap) + 40
    most = max(sum(per[c].values()) for c in countries)
    scale = (width - left - 60) / most
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
             f'role="img" aria-label="Shipments by consignee country and risk level" '
             f'font-family="system-ui,sans-serif" font-size="12">']
    for i, c in enumerate(countries):
        y = 10 + i * (bar_h + gap)
        parts.append(f'<text x="{left - 8}" y="{y + 15}" text-anchor="end">'
                     f'{html.escape(c)}</text>')
        x = float(left)
        for level, colour in _LEVEL_COLOURS:
            n = per[c][level]
            if n:
                w = n * scale
                parts.append(f'<rect x="{x:.1f}" y="{y}" width="{w:.1f}" height="{bar_h}" '
                             f'fill="{colour}"><title>{html.escape(c)}: {n} {level}</title>'
                             f'</rect>')
                x += w
        parts.append(f'<text x="{x + 6:.1f}" y="{y + 15}">{sum(per[c].values())}</text>')
    ly = height - 14
    for j, (level, colour) in enumerate(_LEVEL_COLOURS):
        lx = left + j * 110
        parts.append(f'<rect x="{lx}" y="{ly - 10}" width="12" height="12" fill="{colour}"/>'
                     f'<text x="{lx + 16}" y="{ly}">{level}</text>')
    parts.append("</svg>")
    return "".join(parts)


_LEVEL_RANK = {"high": 3, "medium": 2, "low": 1, "none": 0}


def structure_svg(smiles: str, width: int = 220, height: int = 160) -> str:
    """An RDKit drawing of a structure as inline SVG; empty when it cannot be drawn."""
    from rdkit import Chem
    from rdkit.Chem.Draw import rdMolDraw2D

    mol = Chem.MolFromSmiles(smiles) if smiles else None
    if mol is None:
        return ""
    try:
        drawer = rdMolDraw2D.MolDraw2DSVG(width, height)
        options = drawer.drawOptions()
        options.clearBackground = False  # type: ignore[assignment]
        rdMolDraw2D.PrepareAndDrawMolecule(drawer, mol)
        drawer.FinishDrawing()
    except (RuntimeError, ValueError):  # an odd structure is shown without a drawing
        return ""
    svg: str = drawer.GetDrawingText()
    # Drop the XML prolog: the SVG is inlined in HTML.
    return svg[svg.find("<svg"):]


def _chemical_cards(results: Iterable[ShipmentResult]) -> tuple[list[dict[str, Any]],
                                                                 dict[str, int]]:
    """Each distinct chemical found, worst verdict first, with its drawing and lists."""
    order = {"controlled": 0, "designer": 1, "watch": 2, "clear": 3, "unresolved": 4}
    seen: dict[str, dict[str, Any]] = {}
    shipments: Counter[str] = Counter()
    for r in results:
        for c in r.chemicals:
            key = c.get("inchikey") or c.get("name") or c.get("input") or ""
            shipments[key] += 1
            seen.setdefault(key, c)
    cards: list[dict[str, Any]] = []
    for key, c in sorted(seen.items(), key=lambda kv: (order.get(kv[1].get("verdict", ""), 9),
                                                        -shipments[kv[0]], kv[0])):
        lists = sorted({f"{m.get('jurisdiction')} {m.get('list')}"
                        for m in c.get("matches") or []})
        cards.append({"key": key, "label": c.get("name") or c.get("input") or "",
                      "verdict": c.get("verdict"),
                      "smiles": c.get("smiles") or "", "cas": c.get("cas") or "",
                      "svg": structure_svg(c.get("smiles") or ""), "lists": lists,
                      "shipments": shipments[key]})
    anchors = {str(card["key"]): i for i, card in enumerate(cards, start=1)}
    return cards, anchors


def render_html(run: ScreenRun, cfg: RuleConfig | None = None) -> str:
    """The self-contained HTML report of a run."""
    results = run.results
    cfg = cfg or run.config
    counts = Counter(r.level for r in results)
    flag_counts = Counter(f.code for r in results for f in r.flags)
    weights = dict(cfg.weights) if cfg else {}
    texts = explanations()
    flag_rows = [(code, n, weights.get(code, next(f.weight for r in results for f in r.flags
                                                    if f.code == code)), texts.get(code, ""))
                 for code, n in flag_counts.most_common()]
    ranked = sorted(results, key=lambda r: (-r.risk, r.row))
    shown = ranked[:HTML_MAX_ROWS]
    cards, anchors = _chemical_cards(shown)
    rows = [{
        "risk": r.risk, "raw": sum(f.weight for f in r.flags), "level": r.level,
        "level_rank": _LEVEL_RANK.get(r.level, 0), "shipment_id": r.shipment_id, "row": r.row,
        "description": r.description, "country": r.consignee_country,
        "shipper": r.shipper_name, "consignee": r.consignee_name,
        "chemicals": [(_chemical_label(c),
                       anchors.get(c.get("inchikey") or c.get("name") or c.get("input") or ""))
                      for c in r.chemicals],
        "flags": r.flags, "parties": r.parties,
        "codes": ", ".join(f.code for f in r.flags),
    } for r in shown]
    import jinja2  # only the HTML report needs it

    env = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined)
    template = env.from_string((files("precursorwatch.screen") / "data" / "report.html")
                               .read_text(encoding="utf-8"))
    return template.render(
        source=str(run.path), total=len(results), rule_set=run.rule_set,
        rule_set_version=run.rule_set_version, engine=run.engine,
        generated=dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        seconds=f"{run.seconds:.1f}", watchlists=run.watchlists,
        counts={k: counts.get(k, 0) for k in ("high", "medium", "low", "none")},
        bad_rows=flag_counts.get("BAD_ROW", 0),
        with_chemicals=sum(1 for r in results
                           if any(c.get("verdict") in CONCERN for c in r.chemicals)),
        with_parties=sum(1 for r in results if r.parties),
        chart=risk_chart_svg(results), flag_rows=flag_rows, rows=rows, cards=cards,
        truncated=len(results) > len(shown), shown=len(shown),
    )


def write_results(run: ScreenRun, fmt: str, out: str | Path | IO[str],
                  cfg: RuleConfig | None = None) -> None:
    """Write a run as jsonl, csv or html to a path or an open text stream."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}; use jsonl, csv or html")
    if isinstance(out, str | Path):
        with Path(out).open("w", encoding="utf-8", newline="") as fh:
            write_results(run, fmt, fh, cfg)
        return
    with paused_gc():
        if fmt == "jsonl":
            write_jsonl(run.results, out)
        elif fmt == "csv":
            write_csv(run.results, out)
        else:
            out.write(render_html(run, cfg))
