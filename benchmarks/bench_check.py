"""How long `mapdown check` takes over many flagship-sized deals (issue target: 1,000 in < 5 s).

    python benchmarks/bench_check.py [--deals 1000] [--repeat 3]

Copies deals/harbor-federal.md under N names into a temporary repository and times the real
`mapdown check` command end to end (a fresh process each run, as a user or CI runs it).
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--deals", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    flagship = (ROOT / "deals" / "harbor-federal.md").read_text(encoding="utf-8")
    with tempfile.TemporaryDirectory() as tmp:
        repo = Path(tmp)
        (repo / "mapdown.yaml").write_text("timezone: UTC\n", encoding="utf-8")
        deals = repo / "deals"
        deals.mkdir()
        for i in range(args.deals):
            (deals / f"deal-{i:05d}.md").write_text(flagship, encoding="utf-8")
        command = [
            sys.executable,
            "-m",
            "mapdown",
            "check",
            "--as-of",
            "2026-11-26",
            "--format",
            "json",
        ]
        times = []
        for _ in range(args.repeat):
            start = time.perf_counter()
            done = subprocess.run(command, cwd=repo, capture_output=True, check=False)
            times.append(time.perf_counter() - start)
            if done.returncode not in (0, 1):
                sys.exit(done.stderr.decode())
        lines = len(flagship.splitlines())
        print(f"mapdown check: {args.deals} deals of {lines} lines each")
        print(
            f"  median {statistics.median(times):.2f} s, min {min(times):.2f} s, "
            f"max {max(times):.2f} s over {args.repeat} runs"
        )
        print(f"  {statistics.median(times) / args.deals * 1000:.2f} ms per deal")


if __name__ == "__main__":
    main()
