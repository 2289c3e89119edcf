"""Red-flag rules. Each rule is a function whose docstring is the explanation users read; it
returns the detail of what it saw when it fires, or None. `RULES` is the table of rules; their
weights come from the rule configuration (YAML), not from here.

Shipment rules see one shipment and its evidence; file rules (`SPLIT_SHIPMENTS`,
`NEW_CONSIGNEE`) see every shipment of the file through `FileFacts`.
"""

from __future__ import annotations

import datetime as dt
import inspect
import re
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from precursorwatch.chem.cas import CAS_IN_TEXT
from precursorwatch.controls.model import Threshold, threshold_reached
from precursorwatch.screen.config import RuleConfig
from precursorwatch.screen.model import Flag, PartyHit, Shipment

CONCERN = ("controlled", "designer", "watch")


@dataclass(frozen=True, slots=True)
class ChemicalFinding:
    """A chemical identified in a shipment, with what the rules need from its verdict."""

    mention: str
    found_by: str  # "name" | "cas" (in the description) | "declared_cas" (the CAS column)
    verdict: str
    name: str
    inchikey: str
    substances: tuple[str, ...]  # listed substances or classes that matched
    hs_codes: tuple[tuple[str, str], ...]  # (substance, dedicated HS subheading)
    contract: dict[str, Any]  # the Contract 1 object

    @property
    def label(self) -> str:
        return self.name or self.mention

    @property
    def of_concern(self) -> bool:
        return self.verdict in CONCERN


@dataclass(slots=True)
class Evidence:
    """What was established about a shipment before the rules run."""

    chemicals: tuple[ChemicalFinding, ...]  # named in the description
    declared: ChemicalFinding | None = None  # the declared CAS, resolved
    declared_cas_error: str = ""
    bad_cas_in_text: tuple[str, ...] = ()
    parties: tuple[PartyHit, ...] = ()
    # Chemicals of concern, from the description and the declared CAS (derived).
    concern: tuple[ChemicalFinding, ...] = field(init=False, compare=False)

    def __post_init__(self) -> None:
        found = [c for c in self.chemicals if c.of_concern]
        d = self.declared
        # A declared CAS that names a chemical of the description adds nothing new.
        if d is not None and d.of_concern and not any(_same_chemical(d, c) for c in found):
            found.append(d)
        self.concern = tuple(found)


ShipmentRule = Callable[[Shipment, Evidence, RuleConfig], str | None]


def _names(chems: Sequence[ChemicalFinding]) -> str:
    return ", ".join(dict.fromkeys(c.label for c in chems))


def _listing(c: ChemicalFinding) -> str:
    where = sorted({f"{m.get('jurisdiction')}" for m in c.contract.get("matches", [])})
    return f"{c.label} ({'/'.join(where)})" if where else c.label


@lru_cache(maxsize=200_000)
def _search(pattern: re.Pattern[str], text: str) -> str | None:
    # Party names, addresses and payment texts repeat across a manifest: search each once.
    m = pattern.search(text)
    return m.group(0) if m else None


def _find_words(text: str, cfg: RuleConfig, words: str) -> str | None:
    """The first of the configured words (`words` names the list) found in the text."""
    if not text:
        return None
    return _search(cfg.patterns[words], text)


def _bulk(c: ChemicalFinding, cfg: RuleConfig) -> bool:
    """Controlled only on the lists of bulk reagents and solvents (`bulk_categories`)."""
    categories = [m.get("category", "").lower() for m in c.contract.get("matches", [])
                  if m.get("effect", "control") == "control"]
    return bool(categories) and all(cat in cfg.bulk_categories for cat in categories)


def _below_thresholds(s: Shipment, found: Sequence[ChemicalFinding]) -> str:
    """"; quantity … below the US List I threshold of … (21 CFR 1310.04)" for each listing
    whose quantity threshold the shipment stays under ("" when none): the listing still
    applies, but the transaction may not be a regulated one, which the officer must know."""
    if s.quantity is None:
        return ""
    amount, unit = (s.quantity_kg, "kg") if s.quantity_kg is not None else (s.quantity, s.unit)
    notes: list[str] = []
    for c in found:
        for m in c.contract.get("matches", []):
            t = m.get("threshold")
            if not t or m.get("effect", "control") != "control":
                continue
            limit = Threshold(float(t["quantity"]), str(t["unit"]))
            if threshold_reached(limit, amount, unit) is False:
                # what the threshold applies to (domestic sales, imports…) and where it is set
                about = "; ".join(str(t[k]) for k in ("basis", "reference") if t.get(k))
                notes.append(f"quantity {s.quantity:g} {s.unit} of {c.label} below the "
                             f"{m.get('jurisdiction')} {m.get('category') or m.get('list')} "
                             f"threshold of {limit.quantity:g} {limit.unit}"
                             + (f" ({about})" if about else ""))
    return "".join(f"; {n}" for n in dict.fromkeys(notes))


# -- shipment rules ---------------------------------------------------------------------------
def controlled_chemical(s: Shipment, ev: Evidence, cfg: RuleConfig) -> str | None:
    """The shipment carries a chemical that is on a control list in force (the substance, a salt
    or hydrate of it, or a member of a listed family), so it needs an authorisation and,
    for export, a pre-export notification (where the list sets a quantity threshold, the
    detail says when the shipment is below it)."""
    found = [c for c in ev.concern if c.verdict == "controlled" and not _bulk(c, cfg)]
    return "controlled: " + "; ".join(dict.fromkeys(_listing(c) for c in found)) + \
        _below_thresholds(s, found) if found else None


def controlled_bulk_chemical(s: Shipment, ev: Evidence, cfg: RuleConfig) -> str | None:
    """The shipment carries a reagent or solvent that is controlled only on the lists of bulk
    chemicals (such as the 1988 Convention's Table II: acetone, toluene, sulphuric acid). It is
    traded every day in quantity, so on its own it weighs less; other red flags still raise
    the shipment."""
    found = [c for c in ev.concern if c.verdict == "controlled" and _bulk(c, cfg)]
    return "controlled (bulk reagent or solvent): " + "; ".join(
        dict.fromkeys(_listing(c) for c in found)) + _below_thresholds(s, found) if found \
        else None


def designer_chemical(s: Shipment, ev: Evidence, cfg: RuleConfig) -> str | None:
    """The shipment carries an unlisted chemical that one known synthetic step turns into a
    listed fentanyl precursor or a fentanyl: a designer precursor made to slip past the lists."""
    found = [c for c in ev.concern if c.verdict == "designer"]
    return "designer precursor: " + _names(found) if found else None


def watch_chemical(s: Shipment, ev: Evidence, cfg: RuleConfig) -> str | None:
    """The shipment carries a reagent or pre-precursor kept under watch (for example aniline or
    propionyl chloride), or a chemical close to a listed precursor."""
    found = [c for c in ev.concern if c.verdict == "watch"]
    return "under watch: " + _names(found) if found else None


def watchlist_party(s: Shipment, ev: Evidence, cfg: RuleConfig) -> str | None:
    """A shipper, consignee or notify party matches a sanctions or watchlist entry by name
    (spelling variants and transliterations included); the country, when known, qualifies it."""
    if not ev.parties:
        return None
    return "; ".join(f"{p.role} {p.name!r} ~ {p.list} {p.entry!r} [{', '.join(p.programmes)}]"
                     f" score {p.score:.2f}" for p in ev.parties)


def cas_check_digit(s: Shipment, ev: Evidence, cfg: RuleConfig) -> str | None:
    """A CAS number on the shipment has a wrong check digit: a typo at best, at worst a number
    altered so that list look-ups miss the chemical."""
    bad = [ev.declared_cas_error] if ev.declared_cas_error else []
    bad += [f"CAS {c} in the description has a wrong check digit" for c in ev.bad_cas_in_text]
    return "; ".join(bad) if bad else None


def _same_chemical(a: ChemicalFinding, b: ChemicalFinding) -> bool:
    if a.inchikey and b.inchikey:
        return a.inchikey[:14] == b.inchikey[:14]
    return bool(set(a.substances) & set(b.substances)) or a.label.lower() == b.label.lower()


def cas_contradicts_description(s: Shipment, ev: Evidence, cfg: RuleConfig) -> str | None:
    """The declared CAS number is a different chemical from the one the goods description
    names, or it is a chemical of concern while the description names none (for example a
    listed precursor's CAS on goods described as cosmetics)."""
    d = ev.declared
    if d is None or d.verdict == "unresolved":
        return None
    named = [c for c in ev.chemicals if c.verdict != "unresolved"]
    if named:
        if any(_same_chemical(d, c) for c in named):
            return None
        return f"declared CAS {s.cas} is {d.label}; the description names {_names(named)}"
    if d.of_concern:
        return (f"declared CAS {s.cas} is {d.label} ({d.verdict}); the description "
                f"{s.description[:60]!r} names no chemical")
    return None


def _hs_display(digits: str) -> str:
    return f"{digits[:4]}.{digits[4:]}" if len(digits) > 4 else digits


def hs_mismatch(s: Shipment, ev: Evidence, cfg: RuleConfig) -> str | None:
    """The declared HS code does not fit the chemical found: listed precursors are organic
    chemicals of HS chapter 29, and declaring one as animal feed, cosmetics, oils, nuts or a
    mixed chemical product is a known disguise; a precursor with its own HS subheading declared
    under another one is also flagged."""
    if not s.hs_code or not ev.concern:
        return None
    hs = cfg.hs
    label = _names(ev.concern)
    heading = hs.inconsistent_heading(s.hs_code)
    if heading is not None:
        return (f"declared HS {_hs_display(s.hs_code)} ({heading.label}) for {label}; expected "
                f"{hs.expected_label}")
    if s.hs_code[:2] not in hs.expected_chapters:
        return (f"declared HS {_hs_display(s.hs_code)} (chapter {s.hs_code[:2]}) for {label}; "
                f"expected {hs.expected_label}")
    if len(s.hs_code) >= 6:
        for c in ev.concern:
            if c.verdict != "controlled":
                continue
            for substance, code in c.hs_codes:
                own = code.replace(".", "")
                if own and s.hs_code[:6] != own[:6]:
                    return (f"declared HS {_hs_display(s.hs_code[:6])} for {substance}, whose "
                            f"own subheading is {code} (HS 2022)")
    return None


def vague_description(s: Shipment, ev: Evidence, cfg: RuleConfig) -> str | None:
    """The goods are described only vaguely ("chemical intermediate", "pharma raw material",
    "sample") on a small express or postal consignment, where precursors are known to travel
    under generic names."""
    if any(c.verdict != "unresolved" for c in ev.chemicals):
        return None
    small = s.quantity_kg is not None and s.quantity_kg <= cfg.small_consignment_kg
    if s.mode not in ("courier", "post") and not small:
        return None
    text = CAS_IN_TEXT.sub(" ", s.description.lower())
    text = re.sub(r"[\d%.,/]+\s*(?:kgs?|g|mg|ml|l)?\b", " ", text)
    text = " ".join(w for w in re.split(r"[^a-z-]+", text)
                    if any(ch.isalpha() for ch in w) and w not in ("cas", "no"))
    if text in cfg.vague_phrases or (
        (hit := _find_words(text, cfg, "vague_phrases")) is not None
        and len(text.split()) <= len(hit.split()) + 2
    ):
        how = s.mode or f"{s.quantity_kg:g} kg"
        return f"description {s.description[:60]!r} on a small {how} consignment"
    return None


def express_or_post(s: Shipment, ev: Evidence, cfg: RuleConfig) -> str | None:
    """A chemical of concern travels by express courier or post, the channels used for
    precursors in low-weight parcels with little advance data."""
    if s.mode in ("courier", "post") and ev.concern:
        return f"{_names(ev.concern)} sent by {s.mode}"
    return None


def forwarder_consignee(s: Shipment, ev: Evidence, cfg: RuleConfig) -> str | None:
    """The consignee is a freight forwarder, courier depot or mailbox rather than the end user,
    which hides who receives the goods."""
    for text in (s.consignee_name, s.consignee_address):
        if word := _find_words(text, cfg, "forwarder_words"):
            return f"consignee {s.consignee_name!r}: {word!r}"
    return None


def residential_consignee(s: Shipment, ev: Evidence, cfg: RuleConfig) -> str | None:
    """The consignee is a private person or a residential address (no business name, or an
    apartment, house or interior number), an unlikely user of industrial chemicals."""
    if not s.consignee_name and not s.consignee_address:
        return None
    word = _find_words(s.consignee_address, cfg, "residential_words")
    business = _find_words(s.consignee_name, cfg, "business_words")
    if word and not business:
        return f"consignee {s.consignee_name!r} at a residential address ({word!r})"
    if word and ev.concern:
        return f"chemical delivered to a residential address ({word!r}): {s.consignee_address!r}"
    return None


def transit_third_country(s: Shipment, ev: Evidence, cfg: RuleConfig) -> str | None:
    """The goods transit through a third country, neither the shipper's nor the consignee's:
    transshipment is used to break the trail between supplier and buyer."""
    third = [c for c in s.transit_countries
             if c and c not in (s.shipper_country, s.consignee_country)]
    if third:
        return (f"transit via {', '.join(dict.fromkeys(third))} "
                f"({s.shipper_country or '?'} -> {s.consignee_country or '?'})")
    return None


def crypto_payment(s: Shipment, ev: Evidence, cfg: RuleConfig) -> str | None:
    """Payment in cryptocurrency (bitcoin, USDT, ...), a FinCEN red flag for precursor
    purchases from PRC-based suppliers."""
    if word := _find_words(s.payment_method, cfg, "crypto_words"):
        return f"payment method {s.payment_method!r} ({word})"
    return None


def low_declared_value(s: Shipment, ev: Evidence, cfg: RuleConfig) -> str | None:
    """The declared value is far below a normal price for a chemical of concern, which points
    to under-declaration or a false description."""
    if not ev.concern or s.declared_value is None or not s.quantity_kg:
        return None
    rate = cfg.usd_rate(s.currency or "USD")
    if rate is None:
        return None
    per_kg = s.declared_value * rate / s.quantity_kg
    # The dearest chemical of concern sets the floor: cheap reagents have their own prices.
    floor, label = max((cfg.price_floor(c.label, c.substances), c.label) for c in ev.concern)
    if per_kg < floor:
        return (f"declared {s.declared_value:g} {s.currency or 'USD'} for {s.quantity_kg:g} kg "
                f"= {per_kg:.2f} USD/kg, below {floor:g} USD/kg expected for {label}")
    return None


@dataclass(frozen=True, slots=True)
class RuleSpec:
    code: str
    func: Callable[..., str | None]
    scope: str = "shipment"  # "shipment" | "file"
    # For a shipment with no chemical of concern and no party hit (nearly every line of a
    # manifest): the Shipment fields the rule's answer then depends on, besides the evidence
    # that follows from the description and the declared CAS; `quantity_kg` only as far as
    # whether it is at most `small_consignment_kg`, and its value when it is. None: the rule
    # never fires on such a shipment. Screening caches each answer under these fields.
    ordinary_reads: tuple[str, ...] | None = None

    @property
    def explanation(self) -> str:
        return " ".join((inspect.getdoc(self.func) or "").split())


# -- file rules -------------------------------------------------------------------------------
@dataclass(slots=True)
class FileKey:
    """What the file rules need from one screened shipment (small: kept for every row)."""

    index: int
    shipper: str  # folded name
    consignee: str
    chemicals: tuple[tuple[str, str], ...]  # (key, label) of chemicals of concern
    date: dt.date | None
    quantity_kg: float | None


@dataclass(slots=True)
class FileFacts:
    """Facts across the whole file, computed once from every shipment's FileKey."""

    split_groups: dict[int, str]  # shipment index -> detail
    new_consignee: dict[int, str]

    @classmethod
    def build(cls, keys: Sequence[FileKey], cfg: RuleConfig) -> FileFacts:
        groups: dict[tuple[str, str, str, int, int], list[FileKey]] = defaultdict(list)
        labels: dict[str, str] = {}
        # First shipment of each shipper-consignee pair, and each shipper's first date.
        first: dict[tuple[str, str], FileKey] = {}
        shipper_first: dict[str, dt.date] = {}
        for k in keys:  # one pass: a million keys
            date = k.date
            if not date or not k.shipper or not k.consignee:
                continue
            if k.chemicals:
                year, week, _ = date.isocalendar()
                for chem, label in k.chemicals:
                    labels[chem] = label
                    groups[(k.shipper, k.consignee, chem, year, week)].append(k)
            pair = (k.shipper, k.consignee)
            f = first.get(pair)
            if f is None or date < (f.date or date) or (date == (f.date or date)
                                                          and k.index < f.index):
                first[pair] = k
            since = shipper_first.get(k.shipper)
            if since is None or date < since:
                shipper_first[k.shipper] = date
        split: dict[int, str] = {}
        for (_, _, chem, year, week), members in groups.items():
            small = [m for m in members
                     if m.quantity_kg is not None and m.quantity_kg <= cfg.split_max_kg_each]
            if len(small) >= cfg.split_min_shipments:
                total = sum(m.quantity_kg or 0.0 for m in small)
                detail = (f"{len(small)} shipments of {labels[chem]} between the same parties in "
                          f"week {year}-W{week:02d}, each <= {cfg.split_max_kg_each:g} kg, "
                          f"{total:g} kg together")
                for m in small:
                    split.setdefault(m.index, detail)
        # First shipment from an established shipper to a consignee it never served before.
        new: dict[int, str] = {}
        for (shipper, _), k in first.items():
            if k.chemicals and k.date and k.date > shipper_first[shipper]:
                new[k.index] = (f"first shipment to this consignee; the shipper has shipped "
                                f"since {shipper_first[shipper].isoformat()}")
        return cls(split, new)


def split_shipments(key: FileKey, facts: FileFacts, cfg: RuleConfig) -> str | None:
    """The quantity is split across several small shipments between the same parties, of the
    same chemical in the same week, a pattern used to stay under reporting thresholds."""
    return facts.split_groups.get(key.index)


def new_consignee(key: FileKey, facts: FileFacts, cfg: RuleConfig) -> str | None:
    """First shipment of a chemical of concern from an established shipper to a consignee it
    has not served before in this file: new trading relationships deserve a check of the
    buyer."""
    return facts.new_consignee.get(key.index)


def bad_row(*_: object) -> str | None:
    """The manifest line could not be read or validated, so it was not screened; the detail
    names every problem (row and column)."""
    return None


RULES: tuple[RuleSpec, ...] = (
    RuleSpec("CONTROLLED_CHEMICAL", controlled_chemical),
    RuleSpec("CONTROLLED_BULK_CHEMICAL", controlled_bulk_chemical),
    RuleSpec("DESIGNER_CHEMICAL", designer_chemical),
    RuleSpec("WATCH_CHEMICAL", watch_chemical),
    RuleSpec("WATCHLIST_PARTY", watchlist_party),
    RuleSpec("CAS_CHECK_DIGIT", cas_check_digit, ordinary_reads=("description", "cas")),
    RuleSpec("CAS_CONTRADICTS_DESCRIPTION", cas_contradicts_description,
             ordinary_reads=("description", "cas")),
    RuleSpec("HS_MISMATCH", hs_mismatch),
    RuleSpec("VAGUE_DESCRIPTION", vague_description,
             ordinary_reads=("description", "mode", "quantity_kg")),
    RuleSpec("EXPRESS_OR_POST", express_or_post),
    RuleSpec("FORWARDER_CONSIGNEE", forwarder_consignee,
             ordinary_reads=("consignee_name", "consignee_address")),
    RuleSpec("RESIDENTIAL_CONSIGNEE", residential_consignee,
             ordinary_reads=("consignee_name", "consignee_address")),
    RuleSpec("TRANSIT_THIRD_COUNTRY", transit_third_country,
             ordinary_reads=("transit_countries", "shipper_country", "consignee_country")),
    RuleSpec("CRYPTO_PAYMENT", crypto_payment, ordinary_reads=("payment_method",)),
    RuleSpec("LOW_DECLARED_VALUE", low_declared_value),
    RuleSpec("SPLIT_SHIPMENTS", split_shipments, scope="file"),
    RuleSpec("NEW_CONSIGNEE", new_consignee, scope="file"),
    RuleSpec("BAD_ROW", bad_row, scope="row"),
)
RULE_CODES: tuple[str, ...] = tuple(r.code for r in RULES)
SHIPMENT_RULES = tuple(r for r in RULES if r.scope == "shipment")
FILE_RULES = tuple(r for r in RULES if r.scope == "file")


def explanations() -> dict[str, str]:
    """Rule code -> the explanation users read (the rule's docstring)."""
    return {r.code: r.explanation for r in RULES}


_ActiveRules = list[tuple[str, int, Callable[..., str | None]]]
_ACTIVE: dict[tuple[int, int], tuple[RuleConfig, _ActiveRules]] = {}


def _active(rules: tuple[RuleSpec, ...], cfg: RuleConfig) -> _ActiveRules:
    """The rules with a weight above 0, with their weights; worked out once per rule set."""
    key = (id(rules), id(cfg))
    found = _ACTIVE.get(key)
    if found is None or found[0] is not cfg:
        found = (cfg, [(r.code, w, r.func) for r in rules if (w := cfg.weight(r.code)) > 0])
        _ACTIVE[key] = found
    return found[1]


def ordinary_rule_groups(cfg: RuleConfig) -> list[tuple[tuple[str, ...], _ActiveRules]]:
    """The active shipment rules that can fire on a shipment with no chemical of concern and
    no party hit, in table order, neighbours that read the same fields grouped together:
    (fields read, rules). Their flags, in this order, are `shipment_flags` of such a
    shipment."""
    groups: list[tuple[tuple[str, ...], _ActiveRules]] = []
    reads = {r.code: r.ordinary_reads for r in SHIPMENT_RULES}
    for code, w, func in _active(SHIPMENT_RULES, cfg):
        fields = reads[code]
        if fields is None:
            continue
        if groups and groups[-1][0] == fields:
            groups[-1][1].append((code, w, func))
        else:
            groups.append((fields, [(code, w, func)]))
    return groups


def shipment_flags(s: Shipment, ev: Evidence, cfg: RuleConfig) -> list[Flag]:
    """The shipment rules that fire, with their weights (a weight of 0 switches a rule off)."""
    flags = []
    for code, w, func in _active(SHIPMENT_RULES, cfg):
        detail = func(s, ev, cfg)
        if detail is not None:
            flags.append(Flag(code, w, detail))
    return flags


def file_flags(key: FileKey, facts: FileFacts, cfg: RuleConfig) -> list[Flag]:
    flags = []
    for code, w, func in _active(FILE_RULES, cfg):
        detail = func(key, facts, cfg)
        if detail is not None:
            flags.append(Flag(code, w, detail))
    return flags


def risk_score(flags: Sequence[Flag]) -> int:
    """The weighted flags summed and capped at 100."""
    return min(100, sum(f.weight for f in flags))
