"""``python -m bench``: run the benchmark, write ``bench/results/<date>.json``, print the table.

``--quick`` runs a small estate to check the harness (results go to stdout only
unless ``--out`` is given).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from dataclasses import replace
from pathlib import Path

from bench.report import environment, evaluate, markdown
from bench.run import BenchConfig, run

RESULTS = Path(__file__).parent / "results"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small estate, harness check")
    parser.add_argument("--out", type=Path, default=None, help="results file to write")
    parser.add_argument(
        "--state-dir", default=None, help="folder for the state databases (default /dev/shm)"
    )
    args = parser.parse_args(argv)
    config = BenchConfig.quick() if args.quick else BenchConfig()
    config = replace(config, state_dir=args.state_dir)
    raw = run(config)
    raw["environment"] = environment()
    raw["targets"] = evaluate(raw)
    out = args.out
    if out is None and not args.quick:
        out = RESULTS / f"{dt.date.today().isoformat()}.json"
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(raw, indent=2) + "\n", encoding="utf-8")
        print(f"results written to {out}", file=sys.stderr)
    print(markdown(raw))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
