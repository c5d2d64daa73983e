"""Build small backdated git repositories for the history tests.

Every git command runs with fixed dates and identities and without the machine's or the
user's git configuration, so a fixture repository has the same shape on every machine (CI has
no git identity).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

GIT_IDENTITY = (
    "-c",
    "user.name=Test Committer",
    "-c",
    "user.email=committer@example.com",
    "-c",
    "commit.gpgsign=false",
    "-c",
    "tag.gpgsign=false",
    "-c",
    "init.defaultBranch=main",
    "-c",
    "core.autocrlf=false",
)


def git_env(home: Path) -> dict[str, str]:
    """The environment every git command of the tests runs in."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env.update(
        {
            "HOME": str(home),
            "XDG_CONFIG_HOME": str(home / ".config"),
            "GIT_CONFIG_NOSYSTEM": "1",
            "GIT_TERMINAL_PROMPT": "0",
            "LC_ALL": "C",
            "TZ": "UTC",
        }
    )
    return env


def when_text(when: str) -> str:
    """`2026-10-05` means noon UTC of that day; a full ISO timestamp is passed through."""
    return f"{when}T12:00:00+00:00" if len(when) == 10 else when


def _email(name: str) -> str:
    return name.lower().replace(" ", ".") + "@example.com"


class GitRepo:
    """A git repository in `root`; every method that commits returns the new commit's sha."""

    def __init__(self, root: Path, home: Path) -> None:
        self.root = root
        self.home = home
        home.mkdir(parents=True, exist_ok=True)
        root.mkdir(parents=True, exist_ok=True)
        self.env = git_env(home)

    @classmethod
    def init(cls, root: Path, home: Path, config: str | None = "timezone: UTC\n") -> GitRepo:
        """A new repository with `mapdown.yaml` (not yet committed) and a `deals/` folder."""
        repo = cls(root, home)
        repo.git("init", "-q")
        if config is not None:
            repo.write("mapdown.yaml", config)
        (root / "deals").mkdir(exist_ok=True)
        return repo

    # ------------------------------------------------------------------ running git

    def git(self, *args: str, env: dict[str, str] | None = None) -> str:
        """Run git in the repository; its stdout (stripped). A failing command fails the test."""
        exe = shutil.which("git")
        assert exe, "git is required by the history tests"
        done = subprocess.run(
            [exe, *GIT_IDENTITY, *args],
            cwd=self.root,
            env={**self.env, **(env or {})},
            capture_output=True,
            text=True,
            check=False,
        )
        assert done.returncode == 0, f"git {' '.join(args)} failed:\n{done.stdout}{done.stderr}"
        return done.stdout.strip()

    def _dated(self, when: str, author: str, committer_when: str | None = None) -> dict[str, str]:
        return {
            "GIT_AUTHOR_DATE": when_text(when),
            "GIT_COMMITTER_DATE": when_text(committer_when or when),
            "GIT_AUTHOR_NAME": author,
            "GIT_AUTHOR_EMAIL": _email(author),
        }

    # ------------------------------------------------------------------ files

    def path(self, rel: str) -> Path:
        return self.root / rel

    def write(self, rel: str, text: str) -> None:
        path = self.root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")

    def read(self, rel: str) -> str:
        return (self.root / rel).read_text(encoding="utf-8")

    def mv(self, src: str, dst: str) -> None:
        self.git("mv", src, dst)

    def rm(self, rel: str) -> None:
        self.git("rm", "-q", rel)

    # ------------------------------------------------------------------ history

    def commit(
        self,
        message: str,
        when: str,
        author: str = "Vic Stone",
        committer_when: str | None = None,
    ) -> str:
        """Stage everything and commit it, authored `when` (committed `committer_when` or
        `when`); the new commit's sha."""
        self.git("add", "-A")
        self.git("commit", "-q", "-m", message, env=self._dated(when, author, committer_when))
        return self.head()

    def head(self) -> str:
        return self.git("rev-parse", "HEAD")

    def branch(self, name: str) -> None:
        """Create branch `name` at HEAD and switch to it."""
        self.git("checkout", "-q", "-b", name)

    def checkout(self, rev: str, *flags: str) -> None:
        self.git("checkout", "-q", *flags, rev)

    def merge(self, branch: str, message: str, when: str, author: str = "Vic Stone") -> str:
        """Merge `branch` into the current branch with a merge commit (--no-ff)."""
        self.git("merge", "-q", "--no-ff", "-m", message, branch, env=self._dated(when, author))
        return self.head()

    def clone(self, dest: Path, *flags: str) -> GitRepo:
        """`git clone [flags] file://<this repository> dest`."""
        other = GitRepo(dest.parent, self.home)
        other.git("clone", "-q", *flags, f"file://{self.root}", str(dest))
        return GitRepo(dest, self.home)
