"""Rewrite the README's Performance table from the rows the benches saved (``make bench`` runs it last).

    python bench/perf_table.py [--check]

The table sits between ``<!-- perf-table -->`` and ``<!-- /perf-table -->``; everything else in the
README is left as it is. Exits 1 when a row's target is not met (after writing the table), so
``make bench`` says so; ``--check`` only reports whether the README is current.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from results import ROOT, load_all  # noqa: E402

START, END = "<!-- perf-table -->", "<!-- /perf-table -->"


def table() -> str:
    lines = ["| what | figure | floor | ratio | target | met |", "|---|---|---|---|---|---|"]
    for r in load_all():
        met = "–" if r.met is None else ("yes" if r.met else "**no**")
        lines.append(f"| {r.what} | {r.figure} | {r.floor} | {r.ratio} | {r.target} | {met} |")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true")
    args = parser.parse_args()
    readme = ROOT / "README.md"
    text = readme.read_text()
    head, rest = text.split(START, 1)
    _, tail = rest.split(END, 1)
    new = f"{head}{START}\n{table()}\n{END}{tail}"
    if args.check:
        return 0 if new == text else 1
    readme.write_text(new)
    rows = load_all()
    missed = [r.what for r in rows if r.met is False]
    print(f"README Performance table: {len(rows)} rows written" + (f"; targets NOT met: {missed}" if missed else
                                                                     "; every target met"))
    return 1 if missed else 0


if __name__ == "__main__":
    raise SystemExit(main())
