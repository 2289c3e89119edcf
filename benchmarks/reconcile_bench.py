"""Reconciliation at scale: 1,000,000 import declarations against 100,000 notifications.

Goal: under 60 s on the 2-core machine, from reading the declarations file to writing the JSON
lines. Generates the declarations (CSV) and the notifications, permits and requirements (typed
values, as a source gives them), then times, each run in a fresh process:
read + validate + resolve, match, settle, write. Prints a line per run and the medians.

    .venv/bin/python benchmarks/reconcile_bench.py [--declarations 1000000]
        [--notifications 100000] [--runs 2] [--engine local|dask]
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import json
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

# Controlled substances as declarations write them (name, abbreviation, CAS, SMILES, salt) and
# as notifications name them; and everyday chemicals nobody notifies.
CONTROLLED: list[tuple[str, list[tuple[str, str]]]] = [
    ("NPP", [("NPP", ""), ("N-phenethyl-4-piperidone 99%", "39742-60-4"),
             ("O=C1CCN(CCc2ccccc2)CC1", "")]),
    ("ANPP", [("ANPP", ""), ("4-anilino-N-phenethylpiperidine", "")]),
    ("4-piperidone hydrochloride monohydrate", [("4-Piperidone HCl H2O", ""),
                                               ("4-piperidone", "")]),
    ("4-AP", [("4-AP", ""), ("4-anilinopiperidine", "")]),
    ("1-boc-4-AP", [("1-boc-4-AP", ""), ("tert-butyl 4-anilinopiperidine-1-carboxylate", "")]),
    ("norfentanyl", [("norfentanyl", ""), ("norfentanyl hydrochloride", "")]),
    ("ephedrine", [("ephedrine", ""), ("ephedrine hydrochloride", "")]),
    ("P-2-P", [("P-2-P", ""), ("phenylacetone", "103-79-7")]),
]
EVERYDAY = [("Citric acid anhydrous", "77-92-9"), ("Paracetamol BP powder", "103-90-2"),
            ("Sodium chloride", ""), ("Ascorbic acid", "50-81-7"), ("Glycerol", "56-81-5"),
            ("LED panel lamps", ""), ("Cotton T-shirts", ""), ("Calcium carbonate", "471-34-1")]
WORDS = ["Quimica", "Farma", "Laboratorios", "Distribuidora", "Industrias", "Grupo", "Comercial"]
NAMES = ["Ejemplo", "Norte", "Pacifico", "Sol", "Azteca", "Jalisco", "Sierra", "Maya", "Rio",
         "Valle", "Luna", "Cobre", "Roble", "Prisma", "Delta", "Orion", "Vega", "Altamira"]
FORMS = [" SA", " S.A. de C.V.", " SA de CV", "", " S. de R.L."]
START = dt.date(2026, 1, 1)
HEADER = ["declaration_id", "arrival_date", "description", "cas", "quantity", "unit", "importer",
          "importer_country", "permit"]


def importers(n: int, rng: random.Random) -> list[str]:
    out: set[str] = set()
    while len(out) < n:
        out.add(f"{rng.choice(WORDS)} {rng.choice(NAMES)} {rng.choice(NAMES)} "
                f"{rng.randrange(1, 400)}")
    return sorted(out)


def generate(folder: Path, n_declarations: int, n_notifications: int, seed: int = 7
             ) -> dict[str, Any]:
    """The declarations CSV and a JSON file of notifications, permits and requirements."""
    rng = random.Random(seed)
    companies = importers(2000, rng)
    notifications: list[dict[str, Any]] = []
    for i in range(n_notifications):
        substance = rng.randrange(len(CONTROLLED))
        notifications.append({
            "id": f"N{i:06d}", "substance": substance, "importer": rng.choice(companies),
            "quantity": rng.choice([5, 10, 25, 50, 100, 200]),
            "shipped": (START + dt.timedelta(days=rng.randrange(330))).isoformat(),
            "status": rng.choices(["no_objection", "sent", "objection"], [90, 7, 3])[0]})
    permits = [{"id": f"P{i:05d}", "number": f"COFEPRIS-2026-{i:05d}",
                "substance": rng.randrange(len(CONTROLLED)), "quantity": 500,
                "until": (START + dt.timedelta(days=rng.randrange(200, 500))).isoformat(),
                "revoked": (START + dt.timedelta(days=rng.randrange(365))).isoformat()
                if rng.random() < 0.05 else None} for i in range(10_000)]
    path = folder / "declarations.csv"
    yearly = [0.0] * len(CONTROLLED)  # kg of each controlled substance in the file
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(HEADER)
        for i in range(n_declarations):
            kind = rng.random()
            permit = f"COFEPRIS-2026-{rng.randrange(10_000):05d}" if rng.random() < 0.1 else ""
            if kind < 0.7:  # against a notification: its substance and importer, written freely
                n = rng.choice(notifications)
                description, cas = rng.choice(CONTROLLED[n["substance"]][1])
                importer = n["importer"] + rng.choice(FORMS)
                arrival = dt.date.fromisoformat(n["shipped"]) + dt.timedelta(
                    days=rng.randrange(100))
                # a notified shipment arrives in about ten parts; now and then one too many
                share = rng.choice([0.05, 0.1, 0.1, 0.15])
                quantity, unit = (n["quantity"] * share, "kg") if rng.random() < 0.8 else \
                    (n["quantity"] * 1000 * share, "g")
            elif kind < 0.9:  # everyday chemicals
                description, cas = rng.choice(EVERYDAY)
                importer = rng.choice(companies)
                arrival = START + dt.timedelta(days=rng.randrange(365))
                quantity, unit = rng.randrange(1, 5000), "kg"
            else:  # controlled, with no notification in sight
                description, cas = rng.choice(rng.choice(CONTROLLED)[1])
                importer = rng.choice(companies) + rng.choice(FORMS)
                arrival = START + dt.timedelta(days=rng.randrange(365))
                quantity, unit = rng.randrange(1, 50), "kg"
            if (kind < 0.7 or kind >= 0.9) and arrival.year == 2026:
                which = next(i for i, (_, forms) in enumerate(CONTROLLED)
                             if (description, cas) in forms)
                yearly[which] += quantity / 1000 if unit == "g" else quantity
            w.writerow([f"IMP-{i:07d}", arrival.isoformat(), description, cas,
                        f"{quantity:g}", unit, importer, "MX", permit])
    records = folder / "records.json"
    records.write_text(json.dumps({
        "notifications": notifications, "permits": permits,
        # the 2026 requirement is 98% of what came in that year: its last imports are over
        "requirements": [{"substance": i, "year": 2026, "quantity": round(0.98 * kg)}
                         for i, kg in enumerate(yearly)]}), encoding="utf-8")
    return {"declarations": str(path), "records": str(records),
            "csv_mib": path.stat().st_size / 2**20}


def run_once(declarations: str, records_path: str, engine: str, out: str) -> dict[str, Any]:
    """One timed reconciliation (called in a fresh process)."""
    from precursorwatch.screen.engine import close_screeners, paused_gc
    from precursorwatch.screen.reconcile import (
        Inputs,
        NotifiedShipment,
        Options,
        PermitView,
        Requirement,
        reconcile,
        reconcile_on_dask,
    )
    from precursorwatch.screen.reconcile_command import write_jsonl
    from precursorwatch.screen.reconcile_sources import (
        SubstanceResolver,
        open_declarations,
        read_declarations,
    )

    data = json.loads(Path(records_path).read_text(encoding="utf-8"))
    resolver = SubstanceResolver()
    subs = resolver.identifiers([name for name, _ in CONTROLLED])
    assert all(subs), "every benchmark substance resolves"
    D = dt.date.fromisoformat
    inputs = Inputs(
        tuple(NotifiedShipment(n["id"], n["status"], "CN", "Exporter Co.", n["importer"],
                               subs[n["substance"]], n["quantity"], "kg", D(n["shipped"]))
              for n in data["notifications"]),
        tuple(PermitView(p["id"], p["number"], "MX", subs[p["substance"]], p["quantity"], "kg",
                         "", START, D(p["until"]), D(p["revoked"]) if p["revoked"] else None)
              for p in data["permits"]),
        tuple(Requirement("MX", subs[r["substance"]], r["year"], r["quantity"], "kg")
              for r in data["requirements"]))
    options = Options(as_of=dt.date(2027, 6, 30))
    times: dict[str, float] = {}
    cpu = time.process_time()
    started = time.perf_counter()
    with paused_gc():
        read = read_declarations(open_declarations(declarations), resolver,
                                 default_country="MX")
        close_screeners()
        times["read, validate, resolve"] = time.perf_counter() - started
        cpu_phases = {"read, validate, resolve": time.process_time() - cpu}
        t, c = time.perf_counter(), time.process_time()
        if engine == "dask":
            declared, never = reconcile_on_dask(read.declarations, inputs, options, workers=2)
        else:
            declared, never = reconcile(read.declarations, inputs, options)
        times["match and settle"] = time.perf_counter() - t
        cpu_phases["match and settle"] = time.process_time() - c
        t, c = time.perf_counter(), time.process_time()
        results = sorted([*declared, *read.bad], key=lambda r: r.row or 0) + never
        with open(out, "w", encoding="utf-8") as fh:
            write_jsonl(results, fh)
        times["write JSONL"] = time.perf_counter() - t
        cpu_phases["write JSONL"] = time.process_time() - c
    times["total"] = time.perf_counter() - started
    times["CPU"] = time.process_time() - cpu
    flags: dict[str, int] = {}
    for r in results:
        for f in r.flags:
            flags[f.code] = flags.get(f.code, 0) + 1
    return {"times": times, "cpu": cpu_phases, "declarations": read.total, "results": len(results),
            "flags": flags, "peak_rss_mib": resource.getrusage(
                resource.RUSAGE_SELF).ru_maxrss / 1024,
            "distinct_goods": len({(d.description) for d in read.declarations})}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--declarations", type=int, default=1_000_000)
    parser.add_argument("--notifications", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--engine", choices=("local", "dask"), default="local")
    parser.add_argument("--once", nargs=3, metavar=("DECLARATIONS", "RECORDS", "OUT"),
                        help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.once:
        declarations, records, out = args.once
        print(json.dumps(run_once(declarations, records, args.engine, out)))
        return
    with tempfile.TemporaryDirectory(prefix="pwatch-reconcile-") as tmp:
        folder = Path(tmp)
        t = time.perf_counter()
        made = generate(folder, args.declarations, args.notifications)
        print(f"generated {args.declarations:,} declarations ({made['csv_mib']:.0f} MiB CSV) "
              f"and {args.notifications:,} notifications in {time.perf_counter() - t:.0f} s; "
              f"load average {os.getloadavg()[0]:.1f}")
        runs = []
        for i in range(args.runs):
            done = subprocess.run(
                [sys.executable, __file__, "--engine", args.engine, "--once",
                 made["declarations"], made["records"], str(folder / "out.jsonl")],
                check=True, capture_output=True, text=True)
            found = json.loads(done.stdout.strip().splitlines()[-1])
            runs.append(found)
            times = ", ".join(f"{k} {v:.1f} s" for k, v in found["times"].items())
            times += " (CPU: " + ", ".join(f"{k} {v:.1f} s" for k, v in found["cpu"].items()) + ")"
            print(f"run {i + 1} ({args.engine}, load {os.getloadavg()[0]:.1f}): {times}; "
                  f"peak {found['peak_rss_mib']:.0f} MiB")
        print(f"{runs[0]['declarations']:,} declarations -> {runs[0]['results']:,} results; "
              f"flags: {runs[0]['flags']}")
        for key in runs[0]["times"]:
            print(f"median {key}: {statistics.median(r['times'][key] for r in runs):.1f} s")
        for key in runs[0]["cpu"]:
            print(f"median CPU of {key}: {statistics.median(r['cpu'][key] for r in runs):.1f} s")
        print(f"median peak memory: {statistics.median(r['peak_rss_mib'] for r in runs):.0f} MiB")


if __name__ == "__main__":
    main()
