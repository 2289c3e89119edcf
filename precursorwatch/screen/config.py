"""Rule-set configuration: weights, level cut-offs and thresholds, from YAML.

The bundled `data/rules.yaml` is the default; a user file overrides any of its keys. The rule
set's name and version travel with every result so a score can be traced to its settings.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib.resources import files
from pathlib import Path
from typing import Any

import yaml


class RulesConfigError(ValueError):
    """A rules file is unreadable or names an unknown rule or threshold; the message says which."""


@dataclass(frozen=True, slots=True)
class HsHeading:
    prefix: str  # digits, e.g. "2309"
    label: str
    source: str


@dataclass(frozen=True, slots=True)
class HsRules:
    version: str
    expected_chapters: tuple[str, ...]
    expected_label: str
    inconsistent: tuple[HsHeading, ...]
    subheadings: tuple[tuple[str, str], ...]  # (substance name, "2933.36")

    def inconsistent_heading(self, hs_digits: str) -> HsHeading | None:
        for h in self.inconsistent:
            if hs_digits.startswith(h.prefix):
                return h
        return None


@dataclass(frozen=True, slots=True)
class RuleConfig:
    name: str
    version: str
    weights: tuple[tuple[str, int], ...]
    levels: tuple[tuple[str, int], ...]  # (level, minimum score), highest first
    party_match: float
    small_consignment_kg: float
    split_min_shipments: int
    split_max_kg_each: float
    low_value_usd_per_kg: float
    price_floors: tuple[tuple[str, float], ...]  # (substance name, USD/kg), lower case
    usd_rates: tuple[tuple[str, float], ...]
    vague_phrases: tuple[str, ...]
    forwarder_words: tuple[str, ...]
    residential_words: tuple[str, ...]
    business_words: tuple[str, ...]
    crypto_words: tuple[str, ...]
    bulk_categories: tuple[str, ...]  # list categories of bulk reagents/solvents, lower case
    hs: HsRules
    # Derived once for speed (millions of rows): weight lookup and compiled word lists.
    weight_map: dict[str, int] = field(init=False, repr=False, compare=False, hash=False)
    patterns: dict[str, re.Pattern[str]] = field(init=False, repr=False, compare=False,
                                                 hash=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "weight_map", dict(self.weights))
        object.__setattr__(self, "patterns", {
            name: _word_pattern(getattr(self, name))
            for name in ("vague_phrases", "forwarder_words", "residential_words",
                         "business_words", "crypto_words")
        })

    def weight(self, code: str) -> int:
        return self.weight_map.get(code, 0)

    def level(self, score: int) -> str:
        for level, minimum in self.levels:
            if score >= minimum:
                return level
        return "none"

    def price_floor(self, label: str, substances: tuple[str, ...] = ()) -> float:
        """The lowest plausible USD/kg for a chemical: its own entry, else the default."""
        floors = dict(self.price_floors)
        for name in (label, *substances):
            if name.lower() in floors:
                return floors[name.lower()]
        return self.low_value_usd_per_kg

    def usd_rate(self, currency: str) -> float | None:
        return dict(self.usd_rates).get(currency.upper())


def _word_pattern(words: tuple[str, ...]) -> re.Pattern[str]:
    """Any of the words or phrases, as whole words, case-insensitive ("c/o", "p.o. box" too)."""
    if not words:
        return re.compile(r"(?!x)x")  # matches nothing
    alts = sorted((re.escape(w) for w in words), key=len, reverse=True)
    return re.compile(r"(?<![a-z0-9])(?:" + "|".join(alts) + r")(?![a-z0-9])", re.IGNORECASE)


_THRESHOLD_KEYS = ("party_match", "small_consignment_kg", "split_min_shipments",
                   "split_max_kg_each", "low_value_usd_per_kg", "price_floors", "usd_rates",
                   "vague_phrases",
                   "forwarder_words", "residential_words", "business_words", "crypto_words",
                   "bulk_categories")


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise RulesConfigError(f"{path}: cannot read rules: {exc}") from exc
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise RulesConfigError(f"{path}: expected a mapping with weights/thresholds/levels")
    return data


def _bundled(name: str) -> dict[str, Any]:
    text = (files("precursorwatch.screen") / "data" / name).read_text(encoding="utf-8")
    data = yaml.safe_load(text)
    assert isinstance(data, dict)
    return data


def load_hs_rules() -> HsRules:
    d = _bundled("hs_rules.yaml")
    return HsRules(
        version=str(d["version"]),
        expected_chapters=tuple(str(c) for c in d["expected_chapters"]),
        expected_label=str(d["expected_label"]),
        inconsistent=tuple(HsHeading(str(h["prefix"]), str(h["label"]), str(h["source"]))
                           for h in d["inconsistent"]),
        subheadings=tuple((str(k), str(v)) for k, v in d["subheadings"].items()),
    )


def load_rule_config(path: str | Path | None = None, known_codes: tuple[str, ...] = ()
                     ) -> RuleConfig:
    """The bundled rule set, with a user YAML file's keys laid over it."""
    base = _bundled("rules.yaml")
    if path is not None:
        p = Path(path)
        user = _read_yaml(p)
        unknown = set(user) - {"name", "version", "weights", "thresholds", "levels"}
        if unknown:
            raise RulesConfigError(f"{p}: unknown key(s) {', '.join(sorted(unknown))}; "
                                   "use name, version, weights, thresholds, levels")
        for section in ("weights", "thresholds", "levels"):
            value = user.get(section, {})
            if not isinstance(value, Mapping):
                raise RulesConfigError(f"{p}: {section} must be a mapping")
            base[section] = {**base[section], **value}
        base["name"] = str(user.get("name", f"{base['name']}+{p.stem}"))
        base["version"] = str(user.get("version", base["version"]))
        where = str(p)
    else:
        where = "bundled rules.yaml"
    weights = base["weights"]
    if known_codes:
        bad = sorted(set(weights) - set(known_codes))
        if bad:
            raise RulesConfigError(f"{where}: unknown rule code(s) {', '.join(bad)}; known: "
                                   + ", ".join(known_codes))
    for code, w in weights.items():
        if not isinstance(w, int) or isinstance(w, bool) or not 0 <= w <= 100:
            raise RulesConfigError(f"{where}: weight of {code} must be a whole number 0-100, "
                                   f"not {w!r}")
    t = base["thresholds"]
    bad_t = sorted(set(t) - set(_THRESHOLD_KEYS))
    if bad_t:
        raise RulesConfigError(f"{where}: unknown threshold(s) {', '.join(bad_t)}; known: "
                               + ", ".join(_THRESHOLD_KEYS))
    levels = base["levels"]
    if set(levels) - {"high", "medium", "low"}:
        raise RulesConfigError(f"{where}: levels are high, medium and low")
    try:
        return RuleConfig(
            name=str(base["name"]), version=str(base["version"]),
            weights=tuple((str(k), int(v)) for k, v in weights.items()),
            levels=tuple(sorted(((str(k), int(v)) for k, v in levels.items()),
                                key=lambda kv: -kv[1])),
            party_match=float(t["party_match"]),
            small_consignment_kg=float(t["small_consignment_kg"]),
            split_min_shipments=int(t["split_min_shipments"]),
            split_max_kg_each=float(t["split_max_kg_each"]),
            low_value_usd_per_kg=float(t["low_value_usd_per_kg"]),
            price_floors=tuple((str(k).lower(), float(v))
                               for k, v in (t.get("price_floors") or {}).items()),
            usd_rates=tuple((str(k).upper(), float(v)) for k, v in t["usd_rates"].items()),
            vague_phrases=tuple(str(x).lower() for x in t["vague_phrases"]),
            forwarder_words=tuple(str(x).lower() for x in t["forwarder_words"]),
            residential_words=tuple(str(x).lower() for x in t["residential_words"]),
            business_words=tuple(str(x).lower() for x in t["business_words"]),
            crypto_words=tuple(str(x).lower() for x in t["crypto_words"]),
            bulk_categories=tuple(str(x).lower() for x in t.get("bulk_categories") or ()),
            hs=load_hs_rules(),
        )
    except (TypeError, ValueError, AttributeError) as exc:
        raise RulesConfigError(f"{where}: a threshold has the wrong type: {exc}") from exc


def with_threshold(cfg: RuleConfig, party_match: float) -> RuleConfig:
    """The same rule set with the run's party-match threshold (`--threshold`)."""
    from dataclasses import replace

    if not 0.0 < party_match <= 1.0:
        raise RulesConfigError(f"--threshold must be between 0 and 1, not {party_match}")
    return replace(cfg, party_match=party_match)
