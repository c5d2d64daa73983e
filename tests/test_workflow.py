"""The git workflow files: GitHub Actions, the composite action, pre-commit, `mapdown init`."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from conftest import ROOT, invoke

WORKFLOWS = ROOT / ".github" / "workflows"
TEMPLATES = ROOT / "mapdown" / "init_templates" / "workflows"


def load(path: Path) -> dict:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data["on"] = data.pop(True, data.get("on"))  # YAML 1.1 reads the key `on` as true
    return data


def steps(workflow: dict) -> list[dict]:
    return [s for job in workflow["jobs"].values() for s in job.get("steps", [])]


@pytest.mark.parametrize("folder", [WORKFLOWS, TEMPLATES], ids=["repo", "init"])
def test_workflows_pass_githubs_schema(folder):
    exe = shutil.which("check-jsonschema")
    assert exe, "check-jsonschema comes with the [test] extra"
    files = sorted(str(p) for p in folder.glob("*.yml"))
    done = subprocess.run(
        [exe, "--builtin-schema", "vendor.github-workflows", *files],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_action_passes_githubs_schema():
    exe = shutil.which("check-jsonschema")
    assert exe
    done = subprocess.run(
        [exe, "--builtin-schema", "vendor.github-actions", str(ROOT / "action.yml")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.parametrize("folder", [WORKFLOWS, TEMPLATES], ids=["repo", "init"])
def test_pull_request_workflow(folder):
    wf = load(folder / "pull-request.yml")
    assert "pull_request" in wf["on"] and "pull_request_target" not in wf["on"]
    assert wf["on"]["pull_request"]["paths"][0].startswith("deals/")
    assert wf["permissions"]["pull-requests"] == "write"
    checkout = next(s for s in steps(wf) if s.get("uses", "").startswith("actions/checkout@"))
    assert checkout["with"]["fetch-depth"] == 0
    text = (folder / "pull-request.yml").read_text(encoding="utf-8")
    assert "--format github" in text and "GITHUB_STEP_SUMMARY" in text
    script = next(s for s in steps(wf) if s.get("uses", "").startswith("actions/github-script"))
    # one sticky comment: found by its marker and updated, else created
    assert "<!-- mapdown-diff -->" in script["with"]["script"]
    assert "updateComment" in script["with"]["script"]


@pytest.mark.parametrize("folder", [WORKFLOWS, TEMPLATES], ids=["repo", "init"])
def test_dashboard_workflow_publishes_behind_one_switch(folder):
    wf = load(folder / "publish.yml")
    assert wf["on"]["push"]["branches"] == ["main"]
    crons = [c["cron"] for c in wf["on"]["schedule"]]
    assert any(c.endswith("* * *") for c in crons)  # daily
    assert any(c.endswith("* * 1") for c in crons)  # Mondays
    assert wf["permissions"] == {"contents": "read"}
    build = wf["jobs"]["build"]["steps"]
    uses = [s.get("uses", "") for s in build]
    assert any(u.startswith("actions/cache@") for u in uses)
    assert any(u.startswith("actions/upload-artifact@") for u in uses)
    switch = "vars.MAPDOWN_PUBLISH_PAGES == 'true'"
    pages = [
        s
        for s in build
        if s.get("uses", "").startswith(
            ("actions/configure-pages@", "actions/upload-pages-artifact@")
        )
    ]
    assert len(pages) == 2 and all(s["if"] == switch for s in pages)
    upload = next(s for s in pages if "upload-pages-artifact" in s["uses"])
    assert upload["with"]["path"] == "_site"  # the built folder only
    publish = wf["jobs"]["publish"]
    assert publish["if"] == switch
    assert publish["permissions"] == {"pages": "write", "id-token": "write"}
    assert publish["concurrency"]["group"] == "pages"
    assert publish["steps"][0]["uses"].startswith("actions/deploy-pages@")


def test_pre_commit_hook():
    [hook] = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text(encoding="utf-8"))
    assert hook["id"] == "mapdown-check"
    assert hook["entry"] == "mapdown check"
    assert hook["files"] == r"^deals/.*\.md$"


def test_init_makes_a_deals_repository(tmp_path):
    run = invoke(["init", "team-deals", "--action", "acme/mapdown@v1"], tmp_path)
    assert run.exit_code == 0, run.output + run.stderr
    target = tmp_path / "team-deals"
    for rel in (
        "mapdown.yaml",
        "deals/harbor-federal.md",
        ".gitignore",
        ".github/workflows/pull-request.yml",
        ".github/workflows/publish.yml",
    ):
        assert (target / rel).is_file(), rel
    assert ".mapdown-cache/" in (target / ".gitignore").read_text(encoding="utf-8")
    workflow = (target / ".github/workflows/publish.yml").read_text(encoding="utf-8")
    assert "uses: acme/mapdown@v1" in workflow and "mapdown/mapdown@v1" not in workflow
    check = invoke(["check", "--as-of", "2026-11-26"], target)
    assert check.exit_code == 0, check.output
    assert "Made a deals repository in team-deals. Next:" in run.output


def test_init_here_says_this_folder(tmp_path):
    run = invoke(["init", "."], tmp_path)
    assert run.exit_code == 0, run.output + run.stderr
    assert "Made a deals repository in this folder. Next:" in run.output
    assert (tmp_path / "mapdown.yaml").is_file()


def test_init_refuses_to_overwrite(tmp_path):
    (tmp_path / "mapdown.yaml").write_text("timezone: Europe/Berlin\n", encoding="utf-8")
    run = invoke(["init", "."], tmp_path)
    assert run.exit_code == 2
    assert "never overwrites" in run.output + run.stderr
    assert (tmp_path / "mapdown.yaml").read_text(encoding="utf-8") == "timezone: Europe/Berlin\n"
    assert not (tmp_path / "deals").exists()  # nothing written


def test_init_rejects_a_malformed_action(tmp_path):
    run = invoke(["init", ".", "--action", "not-an-action"], tmp_path)
    assert run.exit_code == 2
