"""`mapdown init`: turn a folder into a deals repository."""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from mapdown.errors import UsageProblem

DEFAULT_ACTION = "mapdown/mapdown@v1"
EXAMPLE = "harbor-federal.md"


@dataclass(frozen=True)
class Planned:
    path: Path  # relative to the target folder
    text: str


def plan(action: str = DEFAULT_ACTION) -> list[Planned]:
    """The files `init` writes, with the GitHub Action reference filled in."""
    templates = resources.files("mapdown.init_templates")
    example = resources.files("mapdown.demo_deals").joinpath(EXAMPLE).read_text(encoding="utf-8")
    out = [
        Planned(Path("mapdown.yaml"), templates.joinpath("mapdown.yaml").read_text("utf-8")),
        Planned(Path("deals") / EXAMPLE, example),
        Planned(Path(".gitignore"), templates.joinpath("gitignore").read_text("utf-8")),
    ]
    for name in ("pull-request.yml", "publish.yml"):
        text = templates.joinpath("workflows", name).read_text("utf-8")
        out.append(Planned(Path(".github/workflows") / name, text.replace(DEFAULT_ACTION, action)))
    return out


def init_repo(target: Path, action: str = DEFAULT_ACTION) -> list[Path]:
    """Write the files; refuses (and writes nothing) if any of them already exists."""
    if "@" not in action or "/" not in action.split("@")[0]:
        raise UsageProblem(f"--action must look like OWNER/REPO@REF, not {action!r}")
    files = plan(action)
    existing = [f.path for f in files if (target / f.path).exists()]
    if existing:
        shown = ", ".join(str(p) for p in existing)
        raise UsageProblem(f"{target} already has {shown}; mapdown init never overwrites files")
    written = []
    for f in files:
        path = target / f.path
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("x", encoding="utf-8", newline="\n") as handle:  # "x": never overwrite
            handle.write(f.text)
        written.append(f.path)
    return written
