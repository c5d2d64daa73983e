"""How much faster `fastyaml.load_block_subset` reads a front matter than the libyaml path.

    python benchmarks/bench_fastyaml.py [--number 2000] [--repeat 5] [--versions 2000]

For deals/harbor-federal.md and the example of the format document (docs/format.md, and the
design copy of FORMAT.md when it is beside the repository): microseconds per call of
`_plain(load_yaml_node(front), [10**9])` (what `quick_data` does) and of `load_block_subset`,
alone and with a warm line cache: the best of `--repeat` timeit runs of `--number` calls each,
taken in turns (the best run is the one least disturbed by other work on the machine). Then a
history-like run: that many versions of the flagship, each with one date moved, read once each.
"""

from __future__ import annotations

import argparse
import random
import re
import sys
import time
import timeit
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from mapdown.fastyaml import load_block_subset  # noqa: E402
from mapdown.parse import _plain, load_yaml_node, split_front_matter  # noqa: E402


def front_matter(markdown: str) -> str:
    source = split_front_matter(markdown, "deal.md", [])
    assert source is not None
    return source.front


def libyaml(text: str) -> Any:
    return _plain(load_yaml_node(text), [10**9])


def per_call(fns: list[Any], number: int, repeat: int) -> list[float]:
    """Microseconds per call of each function: the best of `repeat` runs, taken in turns."""
    best = [float("inf")] * len(fns)
    for _ in range(repeat):
        for i, fn in enumerate(fns):
            best[i] = min(best[i], timeit.timeit(fn, number=number) / number * 1e6)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--number", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--versions", type=int, default=2000)
    args = parser.parse_args()
    flagship_path = ROOT / "deals" / "harbor-federal.md"
    texts = {"deals/harbor-federal.md": front_matter(flagship_path.read_text(encoding="utf-8"))}
    for name, path in (
        ("docs/format.md example", ROOT / "docs" / "format.md"),
        ("design FORMAT.md example", ROOT.parent / "shared" / "design" / "FORMAT.md"),
    ):
        if path.exists():
            doc = path.read_text(encoding="utf-8")
            start = doc.index("```markdown\n") + len("```markdown\n")
            texts[name] = front_matter(doc[start : doc.index("\n```", start)])
    print(f"{'front matter':24} {'lines':>5} {'libyaml':>9} {'fast':>9}       {'cached':>9}")
    for name, text in texts.items():
        assert load_block_subset(text) == libyaml(text)
        cache: dict[str, Any] = {}
        load_block_subset(text, cache=cache)
        slow, fast, warm = per_call(
            [
                lambda text=text: libyaml(text),
                lambda text=text: load_block_subset(text),
                lambda text=text, cache=cache: load_block_subset(text, cache=cache),
            ],
            args.number,
            args.repeat,
        )
        print(
            f"{name:24} {text.count(chr(10)):5} {slow:7.0f}us {fast:7.0f}us {slow / fast:4.1f}x"
            f" {warm:7.0f}us {slow / warm:4.1f}x"
        )

    flagship = texts["deals/harbor-federal.md"]
    dates = [m.start() for m in re.finditer(r"\d{4}-\d\d-\d\d", flagship)]
    rng = random.Random(7)
    versions = []
    for _ in range(args.versions):
        at = rng.choice(dates)
        day = f"2027-0{rng.randint(1, 9)}-1{rng.randint(0, 9)}"
        versions.append(flagship[:at] + day + flagship[at + 10 :])
    shared: dict[str, Any] = {}  # new for this run: the first version fills it
    timings = {}
    for name, read in (
        ("libyaml", libyaml),
        ("fast", load_block_subset),
        ("fast, one cache", lambda text: load_block_subset(text, cache=shared)),
    ):
        began = time.perf_counter()
        for text in versions:
            read(text)
        timings[name] = (time.perf_counter() - began) / len(versions) * 1e6
    print(f"\n{args.versions} versions of the flagship, one date moved in each:")
    for name, micros in timings.items():
        print(f"  {name:16} {micros:7.0f}us per version {timings['libyaml'] / micros:5.1f}x")


if __name__ == "__main__":
    main()
