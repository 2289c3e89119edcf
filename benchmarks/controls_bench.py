"""Load and query the bundled control lists: prints timings.

    .venv/bin/python benchmarks/controls_bench.py
"""

from __future__ import annotations

import datetime as dt
import statistics
import time

from precursorwatch.controls.load import DATA_DIR, load_controls
from precursorwatch.controls.summary import summarise_lists


def main() -> None:
    loads = []
    for _ in range(5):
        start = time.perf_counter()
        # an explicit folder bypasses the cache: full parse and validation each time
        controls = load_controls(DATA_DIR)
        loads.append(time.perf_counter() - start)
    print(f"records: {len(controls.substances)} substances, {len(controls.listings)} listings, "
          f"{len(controls.rules)} structure rules")
    print(f"load + validate (uncached): median {statistics.median(loads) * 1000:.1f} ms "
          f"over {len(loads)} runs")

    days = [dt.date(1990, 1, 1) + dt.timedelta(days=i) for i in range(0, 36 * 365, 7)]
    start = time.perf_counter()
    rows = sum(len(summarise_lists(controls, d)) for d in days)
    spent = time.perf_counter() - start
    print(f"summarise_lists: {len(days)} dates, {rows} rows, "
          f"{spent / len(days) * 1e6:.0f} us per date")


if __name__ == "__main__":
    main()
