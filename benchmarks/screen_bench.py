"""Screening throughput: a generated manifest of 1,000,000 lines, local engine and Dask.

    .venv/bin/python benchmarks/screen_bench.py [--lines N] [--engines local,dask] [--workers 2]
        [--one-process] [--keep-output DIR]
    .venv/bin/python benchmarks/screen_bench.py --fixed-cost [--watchlist PATH ...]

The manifest repeats descriptions and parties as real trade does (a few thousand distinct
goods texts and companies), with a few hundred planted suspicious shipments (listed
precursors in free text, by courier or post, paid in crypto, to residential consignees or
listed parties). Each engine runs in its own process; peak memory is the highest resident set
of that process and all its children (Dask workers, the local engine's second process),
sampled every 0.1 s. Prints lines per
second, peak memory and whether every planted shipment was ranked `high`.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

COLUMNS = ["shipment_id", "date", "description", "hs_code", "cas", "quantity", "unit",
           "shipper_name", "shipper_address", "shipper_country", "consignee_name",
           "consignee_address", "consignee_country", "notify_party", "mode", "origin_port",
           "destination_port", "transit_countries", "declared_value", "currency",
           "payment_method"]

GOODS = [  # (description stem, HS, USD per unit, unit)
    ("Citric acid anhydrous BP", "2918.14", 1.2, "kg"), ("Paracetamol BP powder", "2924.29",
    4.5, "kg"), ("Ethyl acetate 99.5% min", "2915.31", 1.1, "kg"), ("Titanium dioxide rutile",
    "3206.11", 2.6, "kg"), ("Glycerol 99.7% USP", "2905.45", 0.9, "kg"), ("Caffeine anhydrous "
    "USP", "2939.30", 17.0, "kg"), ("Vanillin food grade", "2912.41", 14.0, "kg"), ("Urea "
    "technical grade", "3102.10", 0.45, "kg"), ("Sodium hydroxide flakes 99%", "2815.11", 0.45,
    "kg"), ("Ascorbic acid food grade", "2936.27", 4.8, "kg"), ("Metformin hydrochloride BP",
    "2925.29", 9.0, "kg"), ("Benzoic acid technical", "2916.31", 1.2, "kg"), ("Menthol "
    "crystals", "2906.11", 19.0, "kg"), ("Glycine food grade", "2922.49", 2.2, "kg"),
    ("LED panel lamps 40W", "9405.11", 15.0, "pcs"), ("Cotton T-shirts assorted sizes",
    "6109.10", 2.0, "pcs"), ("Frozen shrimp peeled and deveined", "0306.17", 9.0, "kg"),
    ("Smartphone protective cases TPU", "3926.90", 1.2, "pcs"), ("USB-C charging cables 1m",
    "8544.42", 0.55, "pcs"), ("Denim trousers men's", "6203.42", 7.0, "pcs"), ("Polyester "
    "knitted fabric dyed", "6006.32", 3.2, "kg"), ("Ceramic floor tiles 60x60", "6907.21", 6.0,
    "pcs"), ("Solar LED street lights 60W", "9405.42", 90.0, "pcs"), ("Brake pads for "
    "passenger cars", "8708.30", 4.0, "pcs"), ("Stainless steel kitchen sinks", "7324.10", 35.0,
    "pcs"), ("Frozen tilapia fillets", "0304.61", 3.1, "kg"),
]
PACKING = ["25kg bags", "25kg drums", "200kg drums", "1000kg IBC", "cartons", "pallets", "",
           "20kg cartons", "50kg bags", "bulk"]
PLANTED = [  # (description, HS, declared HS is a disguise?)
    ("4-Piperidone HCl H2O 99% white powder 1kg", "2933.39"),
    ("N-(1-Phenethyl-4-piperidyl)propionanilide", "2933.33"),
    ("BOC-4-AP 25KG/DRUM", "2933.39"), ("1-boc-4-piperidone 98% 5kg", "2309.10"),
    ("NPP (N-phenethyl-4-piperidone) 99%", "3304.99"), ("ANPP 99% pharma intermediate",
    "2933.39"), ("norfentanyl 1kg", "2933.39"), ("tert-butyl 4-(phenylamino)piperidine-1-"
    "carboxylate", "2933.39"),
]
CN_CITIES = ["Wuhan", "Shanghai", "Hangzhou", "Nanjing", "Suzhou", "Jinan", "Shijiazhuang",
             "Zhengzhou", "Changsha", "Hefei", "Tianjin", "Xiamen", "Ningbo", "Qingdao"]
WORDS = ["Xinhong", "Huayang", "Tianli", "Kaida", "Jinhe", "Hengtai", "Yuanli", "Zhongxin",
         "Brightway", "Sunrise", "Golden", "Ocean", "Ruida", "Haoyue", "Lianfeng", "Boda",
         "Mingde", "Huaxin", "Shengda", "Longwei", "Fuyuan", "Jiahe", "Anke", "Dongsheng"]
KINDS = ["Chemical", "Pharmaceutical", "Biotech", "New Material", "Electronics", "Textiles",
         "Trading", "Industrial", "Import & Export", "Technology"]
MX_WORDS = ["Pacífico", "Norte", "Jalisco", "Bajío", "Golfo", "Sierra", "Centro", "Sonora",
            "Occidente", "Aztlán", "Laguna", "Maya"]
MX_KINDS = ["Distribuidora", "Importadora", "Comercializadora", "Laboratorios", "Farmacéutica",
            "Industrias", "Grupo"]
US_KINDS = ["Supply LLC", "Imports Inc.", "Distributors LLC", "Trading Corp.", "Lab Supply Inc."]
US_WORDS = ["Midwest", "Pacific Coast", "Gulf", "Lone Star", "Great Lakes", "Sunbelt",
            "Atlantic", "Rocky Mountain", "Bay Area", "Heartland"]
LISTED = ["Boyle Chemicals (Shanghai) Co Ltd", "Quinsheng Pharmaceutical Tech Co., Ltd.",
          "Kai Kai Technology Co Ltd"]


def generate(path: Path, lines: int, planted: int, seed: int = 7) -> set[str]:
    """Write the manifest; return the ids of planted suspicious shipments."""
    rnd = random.Random(seed)
    shippers = [(f"{rnd.choice(CN_CITIES)} {a} {k} Co., Ltd.", f"No. {rnd.randint(1, 999)} "
                 f"Industrial Road, {rnd.choice(CN_CITIES)}", "CN")
                for a in WORDS for k in KINDS]
    shippers += [(f"{a} Organics Pvt. Ltd.", "MIDC Taloja, Navi Mumbai", "IN") for a in WORDS]
    consignees = [(f"{k} {w} {a} S.A. de C.V.", f"Av. Industria {rnd.randint(1, 3000)}, "
                   f"{rnd.choice(['Guadalajara', 'Monterrey', 'Culiacán', 'Puebla'])}", "MX")
                  for k in MX_KINDS for w in MX_WORDS for a in ("", "Química ")]
    consignees += [(f"{w} {k}", f"{rnd.randint(100, 9999)} Commerce St, Houston, TX", "US")
                   for w in US_WORDS for k in US_KINDS]
    goods = [(f"{stem}, {pack}".rstrip(", "), hs, price, unit)
             for stem, hs, price, unit in GOODS for pack in PACKING]
    planted_at = set(rnd.sample(range(lines), planted))
    ids: set[str] = set()
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(COLUMNS)
        for i in range(lines):
            sid = f"BM{i:07d}"
            date = f"2026-{rnd.randint(1, 11):02d}-{rnd.randint(1, 28):02d}"
            if i in planted_at:
                ids.add(sid)
                desc, hs = rnd.choice(PLANTED)
                consignee = rnd.choice([
                    ("Juan Pérez López", "Calle Robles 45 Int. 3, Culiacán, Sinaloa", "MX"),
                    ("Logística Express Manzanillo S.A. de C.V.", "Bodega 7, Manzanillo",
                     "MX")])
                shipper = (rnd.choice(LISTED), "Shanghai", "CN") if rnd.random() < 0.3 \
                    else rnd.choice(shippers)
                w.writerow([sid, date, desc, hs, "", rnd.choice(["1", "2", "5"]), "kg",
                            shipper[0], shipper[1], shipper[2], consignee[0], consignee[1],
                            consignee[2], "", rnd.choice(["courier", "post"]), "Wuhan",
                            "Culiacán", rnd.choice(["", "GT", "KR;GT"]), "40", "USD",
                            rnd.choice(["Bitcoin", "USDT TRC20", "T/T"])])
                continue
            desc, hs, price, unit = rnd.choice(goods)
            shipper = rnd.choice(shippers)
            consignee = rnd.choice(consignees)
            qty = rnd.choice([500, 1000, 5000, 10000, 20000])
            w.writerow([sid, date, desc, hs, "", qty, unit, shipper[0], shipper[1], shipper[2],
                        consignee[0], consignee[1], consignee[2], "", rnd.choice(
                            ["sea", "sea", "sea", "air", "rail"]), "Shanghai", "Manzanillo",
                        "", round(qty * price * rnd.uniform(0.9, 1.2)), "USD", "T/T"])
    return ids


def _tree_sample(pid: int, cpu: dict[int, float], forks: set[int] | None = None) -> int:
    """Resident memory of the process and its children now; records each one's CPU seconds,
    and in `forks` the children that are copies of the process (the local engine's second
    process, Dask workers; not OPSIN's JVM)."""
    import psutil

    try:
        proc = psutil.Process(pid)
        procs = [proc, *proc.children(recursive=True)]
    except psutil.Error:
        return 0
    total = 0
    for p in procs:
        with contextlib.suppress(psutil.Error):
            total += p.memory_info().rss
            t = p.cpu_times()
            cpu[p.pid] = max(cpu.get(p.pid, 0.0), t.user + t.system)
            if forks is not None and p.pid != pid and p.name() == proc.name():
                forks.add(p.pid)
    return total


def run_engine(manifest: Path, engine: str, workers: int, out: Path, chunk: int,
               split: bool = True) -> dict[str, object]:
    """In this (fresh) process: screen, write JSONL, report figures as a dict."""
    from precursorwatch.screen.engine import ScreenOptions, screen_file
    from precursorwatch.screen.report import write_results

    peak = 0
    cpu: dict[int, float] = {}
    forks: set[int] = set()
    stop = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not stop.is_set():
            peak = max(peak, _tree_sample(os.getpid(), cpu, forks))
            time.sleep(0.1)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    _tree_sample(os.getpid(), cpu)
    cpu0 = sum(cpu.values())
    t0 = time.perf_counter()
    run = screen_file(manifest, options=ScreenOptions(engine=engine, workers=workers,
                                                      chunk_size=chunk, split=split))
    t1 = time.perf_counter()
    write_results(run, "jsonl", out)
    t2 = time.perf_counter()
    stop.set()
    sampler.join()
    _tree_sample(os.getpid(), cpu)
    levels: dict[str, str] = {r.shipment_id: r.level for r in run.results}
    return {"engine": engine, "lines": len(run.results), "screen_s": round(t1 - t0, 2),
            "write_s": round(t2 - t1, 2), "peak_mb": round(peak / 2**20),
            "cpu_s": round(sum(cpu.values()) - cpu0, 1), "load": os.getloadavg()[0],
            "processes": 1 + len(forks), "others": len(cpu) - 1 - len(forks),
            "high": [sid for sid, lvl in levels.items() if lvl == "high"]}


_FIXED_CHILD = """
import sys, time
from precursorwatch.screen.engine import ScreenOptions, close_screeners, screen_file
run = screen_file(sys.argv[1], options=ScreenOptions(watchlists=tuple(sys.argv[2:])))
close_screeners()
print(len(run.results))
"""


def _new_texts(sample: Path, out: Path, run: int) -> None:
    """The sample manifest with every goods text changed (a weight no run wrote before)."""
    with sample.open(newline="", encoding="utf-8") as src, out.open(
            "w", newline="", encoding="utf-8") as dst:
        rows = csv.reader(src)
        w = csv.writer(dst)
        header = next(rows)
        w.writerow(header)
        at = header.index("description")
        for row in rows:
            row[at] = f"{row[at]} {time.time_ns() % 10**9 + run} kg"
            w.writerow(row)


def fixed_cost(watchlists: list[str], runs: int = 3) -> None:
    """Seconds for a fresh process to screen the 50-line sample manifest (imports, rules,
    lists, Checker, OPSIN start): first with an empty cache folder, then warm. Measured for
    `screen_file` alone, for the `pwatch screen` command (JSON lines to /dev/null), and for
    `pwatch screen` on goods texts no run has seen (warm caches, but the Checker is built)."""
    sample = Path(__file__).resolve().parents[1] / "precursorwatch" / "samples" / "manifest.csv"
    lists = [a for w in watchlists for a in ("--watchlist", w)]
    with tempfile.TemporaryDirectory(prefix="screen-bench-cache-") as cache:
        # Compiled bytecode is kept (in the cache folder, not beside the sources) as an
        # installed package keeps it, even where PYTHONDONTWRITEBYTECODE is set.
        env = {**{k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"},
               "PRECURSORWATCH_CACHE": cache,
               "PYTHONPYCACHEPREFIX": str(Path(cache) / "bytecode")}
        fresh = Path(cache) / "new-texts.csv"
        cases = [("screen_file", lambda i: [sys.executable, "-c", _FIXED_CHILD, str(sample),
                                            *watchlists]),
                 ("pwatch screen", lambda i: [sys.executable, "-m", "precursorwatch.cli",
                                              "screen", str(sample), "-o", os.devnull, "-q",
                                              *lists]),
                 ("pwatch screen, new goods texts", lambda i: [
                     sys.executable, "-m", "precursorwatch.cli", "screen", str(fresh), "-o",
                     os.devnull, "-q", *lists])]
        for label, command in cases:
            for i in range(runs):
                _new_texts(sample, fresh, i)
                load = os.getloadavg()[0]
                before = os.times()
                t0 = time.perf_counter()
                subprocess.run(command(i), env=env, check=True, capture_output=True)
                wall = time.perf_counter() - t0
                after = os.times()
                cpu = (after.children_user - before.children_user
                       + after.children_system - before.children_system)
                cold = label == "screen_file" and i == 0
                print(f"{label} ({'cold' if cold else 'warm'} cache, watchlists: "
                      f"{', '.join(watchlists) or 'bundled'}): {wall:.2f} s wall, {cpu:.2f} s "
                      f"CPU (load average {load:.1f})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--planted", type=int, default=300)
    parser.add_argument("--engines", default="local,dask")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--chunk", type=int, default=20_000, help="lines per chunk")
    parser.add_argument("--one-process", action="store_true",
                        help="local engine: no second process for the second half")
    parser.add_argument("--fixed-cost", action="store_true",
                        help="measure only the fixed cost of a run, cold and warm cache")
    parser.add_argument("--watchlist", action="append", default=[],
                        help="with --fixed-cost: a watchlist to load (repeatable)")
    parser.add_argument("--keep-output", metavar="DIR", type=Path,
                        help="keep each engine's JSON lines in DIR (results-ENGINE.jsonl), to "
                        "compare runs byte for byte")
    parser.add_argument("--child", nargs=3, metavar=("MANIFEST", "ENGINE", "OUT"),
                        help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        manifest, engine, out = args.child
        figures = run_engine(Path(manifest), engine, args.workers, Path(out), args.chunk,
                             split=not args.one_process)
        print("RESULT " + json.dumps(figures))
        return
    if args.fixed_cost:
        fixed_cost(args.watchlist)
        return
    with tempfile.TemporaryDirectory(prefix="screen-bench-") as tmp:
        manifest = Path(tmp) / "manifest.csv"
        t0 = time.perf_counter()
        planted = generate(manifest, args.lines, args.planted)
        print(f"generated {args.lines:,} lines ({manifest.stat().st_size / 2**20:.0f} MiB, "
              f"{len(planted)} planted) in {time.perf_counter() - t0:.1f} s")
        for engine in args.engines.split(","):
            out = Path(tmp) / f"results-{engine}.jsonl"
            proc = subprocess.run(
                [sys.executable, __file__, "--workers", str(args.workers), "--chunk",
                 str(args.chunk), *(["--one-process"] if args.one_process else []), "--child",
                 str(manifest), engine, str(out)], capture_output=True, text=True, check=False)
            line = next((ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")), "")
            if not line:
                print(f"{engine}: failed\n{proc.stderr[-3000:]}")
                continue
            f = json.loads(line[len("RESULT "):])
            high = set(f["high"])
            total = f["screen_s"] + f["write_s"]
            label = ("local, one process" if args.one_process else "local") \
                if engine == "local" else f"dask ({args.workers} workers)"
            print(f"{label:18s} {f['lines']:,} lines: screen {f['screen_s']:.1f} s "
                  f"({f['lines'] / f['screen_s']:,.0f} lines/s), write JSONL {f['write_s']:.1f}"
                  f" s, total {total:.1f} s; CPU {f['cpu_s']:.1f} s in {f['processes']} "
                  f"process(es){' and OPSIN' if f['others'] else ''} (load average "
                  f"{f['load']:.1f}); peak memory "
                  f"{f['peak_mb']:,} MiB; planted ranked high: {len(planted & high)}/"
                  f"{len(planted)}; other lines high: {len(high - planted)}")
            if args.keep_output:
                args.keep_output.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(out, args.keep_output / out.name)


if __name__ == "__main__":
    main()
