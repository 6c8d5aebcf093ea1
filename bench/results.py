"""Bench results as rows of the README's Performance table.

Each bench script records its rows with :func:`save` (one JSON file per script under
``var/bench/``, replaced by the script's next run); ``bench/perf_table.py`` (run by ``make bench``
after the scripts) rewrites the table between the README's markers from every script's rows.
A row is one target: what was measured, the figure, its floor (the same ConnectWise requests
replayed alone, or the bare host), the ratio, the target and whether it is met.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "var" / "bench"


@dataclass
class Row:
    what: str
    figure: str
    floor: str = "–"
    ratio: str = "–"
    target: str = ""
    met: bool | None = None  # None: a figure with no target
    order: float = 0  # where the row goes in the table


def ratio_row(what: str, seconds: float, floor: float, target: float, *, order: int, unit: str = "s",
              scale: float = 1.0, digits: int = 2) -> Row:
    """A wall-time row: figure and floor in ``unit`` (``scale`` from seconds), ratio against ``target``x."""
    ratio = seconds / floor if floor else float("inf")
    return Row(what, f"{seconds * scale:.{digits}f} {unit}", f"{floor * scale:.{digits}f} {unit}", f"{ratio:.2f}x",
               f"≤ {target:g}x", ratio <= target, order)


def count_row(what: str, figure: int | float, bound: int | float, *, order: int, floor: str = "–",
              unit: str = "", ratio: str = "–") -> Row:
    """A count with an upper bound (statements, requests)."""
    return Row(what, f"{figure:g}{unit}", floor, ratio, f"≤ {bound:g}{unit}", figure <= bound, order)


def save(script: str, rows: list[Row]) -> Path:
    """Replace ``script``'s rows (and print them, so the run shows figure, floor and ratio side by side)."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{script}.json"
    path.write_text(json.dumps([asdict(r) for r in rows], indent=1))
    print(f"\n{script}: {len(rows)} row(s) for the README's Performance table ({path.relative_to(ROOT)})")
    for r in rows:
        verdict = "" if r.met is None else ("  met" if r.met else "  NOT MET")
        print(f"  {r.what}: {r.figure} | floor {r.floor} | {r.ratio} | target {r.target}{verdict}")
    return path


def load_all() -> list[Row]:
    rows = []
    for path in sorted(RESULTS.glob("*.json")):
        rows += [Row(**r) for r in json.loads(path.read_text())]
    return sorted(rows, key=lambda r: r.order)
