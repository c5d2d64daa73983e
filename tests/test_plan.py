"""The backward pass, `mapdown plan` and `mapdown ask`, on hand-made chains.

Every expected number below is computed by hand from issue 6's definitions: latest finish =
the earliest latest start of the steps listing this one in `after` (for a step nothing depends
on: `close` on the paper track when set, else `go_live`); latest start = latest finish −
duration (due − start, 0 without a start); slack = latest finish − due.
"""

from __future__ import annotations

from pathlib import Path

from conftest import invoke

PEOPLE = """people:
  - name: Ana Silva
    side: customer
    role: champion
  - name: Ben Ode
    side: customer
    role: economic buyer
  - name: Vic Stone
    side: vendor
    role: account executive
"""


def deal(go_live: str, close: str | None, steps: str, notes: str = "") -> str:
    head = f"---\ntitle: Chains\ncustomer: Chains Co\ngo_live: {go_live}\n"
    if close:
        head += f"close: {close}\n"
    return head + PEOPLE + "milestones:\n" + steps + "---\n" + notes


def step(
    sid: str,
    track: str,
    due: str,
    start: str | None = None,
    after: str = "",
    owner: str = "Ana Silva",
    extra: str = "",
) -> str:
    text = f"  - id: {sid}\n    step: Step {sid}\n    track: {track}\n    owner: {owner}\n"
    if start:
        text += f"    start: {start}\n"
    text += f"    due: {due}\n    exit: Artifact {sid}\n"
    if after:
        text += f"    after: [{after}]\n"
    return text + extra


def plan(repo: Path, text: str, as_of: str = "2026-11-26") -> dict:
    (repo / "deals" / "chains.md").write_text(text, encoding="utf-8")
    run = invoke(["plan", "chains", "--as-of", as_of, "--format", "json"], repo)
    assert run.exit_code == 0, run.output + run.stderr
    return run.json()


def by_id(record: dict) -> dict[str, dict]:
    return {s["id"]: s for s in record["steps"]}


def test_diamond_with_parallel_branches_and_a_paper_step(repo):
    text = deal(
        "2027-03-01",
        "2027-01-31",
        step("a", "technical", "2027-01-11", "2027-01-01")
        + step("b", "technical", "2027-01-20", after="a")
        + step("c", "business", "2027-01-15", "2027-01-05", after="a")
        + step("d", "technical", "2027-02-20", "2027-02-01", after="b, c")
        + step("p", "paper", "2027-01-25", "2027-01-10"),
    )
    record = plan(repo, text)
    s = by_id(record)
    assert (s["d"]["latest_finish"], s["d"]["latest_start"], s["d"]["slack_days"]) == (
        "2027-03-01",
        "2027-02-10",
        9,
    )
    assert (s["b"]["latest_finish"], s["b"]["latest_start"], s["b"]["slack_days"]) == (
        "2027-02-10",
        "2027-02-10",
        21,
    )  # no start: duration 0
    assert (s["c"]["latest_finish"], s["c"]["latest_start"], s["c"]["slack_days"]) == (
        "2027-02-10",
        "2027-01-31",
        26,
    )
    assert (s["a"]["latest_finish"], s["a"]["slack_days"]) == ("2027-01-31", 20)  # min of b, c
    assert (s["p"]["latest_finish"], s["p"]["slack_days"]) == ("2027-01-31", 6)  # by close
    assert record["holds"] is True and record["breaks"] == []
    assert not any(x["critical"] for x in record["steps"])
    assert record["steps"][0]["id"] == "d"  # walked back from go-live


def test_a_step_due_before_signature_must_be_true_by_close(repo):
    """Before signature every step must be true by close, whatever its track: the text says
    `by <close>` and counts the days to spare to close, as the site's question 3 does; the
    JSON keeps the backward pass's own latest finish and slack beside them."""
    text = deal(
        "2027-03-01",
        "2027-01-31",
        step("pitch", "business", "2027-01-10")
        + step("sign", "paper", "2027-01-31")
        + step("demo", "technical", "2027-01-30")
        + step("go", "technical", "2027-02-20"),
    )
    s = by_id(plan(repo, text))
    assert (s["pitch"]["latest_finish"], s["pitch"]["slack_days"]) == ("2027-03-01", 50)
    assert (s["pitch"]["must_be_true_by"], s["pitch"]["days_to_spare"]) == ("2027-01-31", 21)
    assert (s["demo"]["must_be_true_by"], s["demo"]["days_to_spare"]) == ("2027-01-31", 1)
    assert (s["go"]["must_be_true_by"], s["go"]["days_to_spare"]) == ("2027-03-01", 9)
    out = invoke(["plan", "chains", "--as-of", "2026-11-26"], repo).output
    before = out.split("If signature is on 2027-01-31, what must be true before it:\n")[1]
    rows = before.split("\n\n")[0].splitlines()
    assert [r.split(":")[0].split()[-1] for r in rows] == ["sign", "demo", "pitch"]  # by due
    assert all(" by 2027-01-31 " in r for r in rows), rows
    assert "due 2027-01-10, +21 days slack" in before
    assert "due 2027-01-30, +1 day slack" in before
    assert "by 2027-03-01  go: Step go" in out.split("If signature")[0]


def test_negative_slack_names_the_chain_that_breaks_go_live(repo):
    text = deal(
        "2027-02-01",
        None,
        step("x", "technical", "2027-01-25", "2027-01-10")
        + step("y", "technical", "2027-01-30", "2027-01-20", after="x")
        + step("z", "business", "2027-01-05"),
    )
    record = plan(repo, text)
    s = by_id(record)
    assert (s["y"]["latest_finish"], s["y"]["latest_start"], s["y"]["slack_days"]) == (
        "2027-02-01",
        "2027-01-22",
        2,
    )
    assert (s["x"]["latest_finish"], s["x"]["slack_days"], s["x"]["critical"]) == (
        "2027-01-22",
        -3,
        True,
    )
    assert record["holds"] is False
    assert record["breaks"] == [{"step": "x", "slack_days": -3, "chain": ["x", "y"]}]
    assert "x" in record["critical_chain"] and "z" not in record["critical_chain"]
    text_out = invoke(["plan", "chains", "--as-of", "2026-11-26"], repo).output
    assert "cannot hold go-live" in text_out and "x → y" in text_out


def test_a_step_due_after_go_live_has_negative_slack(repo):
    text = deal("2027-03-01", None, step("late", "technical", "2027-03-05", "2027-03-02"))
    s = by_id(plan(repo, text))
    assert (s["late"]["latest_finish"], s["late"]["slack_days"]) == ("2027-03-01", -4)


def test_state_of_each_step_as_of_the_day(repo):
    confirmed = '    confirmed_by: Ana Silva\n    confirmation: "Email 2026-11-20, Re: dates"\n'
    done = "    status: done\n    evidence: https://files.example/e.pdf\n"
    text = deal(
        "2027-03-01",
        None,
        step("ok", "technical", "2026-12-10", extra=confirmed)
        + step("open", "business", "2026-12-12")
        + step("past", "paper", "2026-11-20")
        + step("fin", "technical", "2026-11-10", extra=done),
    )
    s = by_id(plan(repo, text))
    assert (s["ok"]["state"], s["open"]["state"], s["past"]["state"], s["fin"]["state"]) == (
        "confirmed",
        "unconfirmed",
        "late",
        "done",
    )


def test_ask_lists_exactly_the_unconfirmed_dates_and_missing_steps(repo):
    confirmed = '    confirmed_by: Ana Silva\n    confirmation: "Email 2026-11-20, Re: dates"\n'
    text = deal(
        "2027-03-01",
        None,
        step("sec", "technical", "2026-12-10", "2026-12-01", owner="Ana Silva")
        + step("ok", "business", "2026-12-05", extra=confirmed)
        + step("far", "paper", "2027-02-10")
        + step("past", "paper", "2026-11-20"),
        notes="## Notes\n\nZEBRA-INTERNAL-7: the champion is wobbling.\n",
    )
    (repo / "deals" / "chains.md").write_text(text, encoding="utf-8")
    out = invoke(["ask", "chains", "--as-of", "2026-11-26"], repo).output
    soon = out.split("Dates in the next 30 days to confirm:")[1].split("\n\n")[0]
    assert [line.split(" — ")[0][2:] for line in soon.strip().splitlines()] == [
        "Tue 1 Dec 2026",
        "Thu 10 Dec 2026",
    ]  # sec's start and due; `ok` is confirmed
    later = out.split("Later dates to confirm:")[1].split("\n\n")[0]
    assert "Step far" in later and "Wed 10 Feb 2027" in later
    # a past date needs a new date, not a confirmation: asked for apart
    past = out.split("Steps due by today and not done: when can they happen now?")[1]
    assert "Step past" in past.split("\n\n")[0] and "Fri 20 Nov 2026" in past
    assert "Step past" not in soon and "Step past" not in later
    missing = out.split("Internal steps on your side I don't see yet:")[1]
    for name in ("security review", "legal review", "approval committee"):
        assert f"your {name}" in missing
    assert "Can you confirm these dates work on your side" in out
    for internal in ("ZEBRA-INTERNAL-7", "MAP2", "score", "finding", "warning"):
        assert internal not in out
    md = invoke(["ask", "chains", "--as-of", "2026-11-26", "--format", "markdown"], repo).output
    assert "**Can you confirm these dates work on your side" in md


def test_the_backward_pass_leaves_nothing_for_the_garbage_collector() -> None:
    """Every week of every deal runs the backward pass: what it makes must be freed as soon
    as it is dropped, not kept in a reference cycle until the collector's next pass."""
    import datetime as dt
    import gc

    from mapdown.plan import PlanStep, latest_finish

    steps = [
        PlanStep("a", "technical", 10),
        PlanStep("b", "business", 5, ("a",)),
        PlanStep("c", "technical", 3, ("a", "b")),
        PlanStep("d", "technical", 0, ("c",)),
        PlanStep("p", "paper", 2, ("a",)),
        PlanStep("loop", "technical", 1, ("loop",)),  # a cycle in the plan itself (MAP108)
    ]
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        gc.collect()
        finish = latest_finish(steps, dt.date(2027, 3, 1), dt.date(2027, 1, 31))
        assert finish["d"] == finish["c"] == dt.date(2027, 3, 1)  # go-live
        assert finish["b"] == dt.date(2027, 2, 26)  # before c's 3 days
        assert finish["p"] == dt.date(2027, 1, 31)  # paper, which nothing waits for: close
        assert finish["a"] == dt.date(2027, 1, 29)  # before p's 2 days, the earliest
        del finish
        assert gc.collect() == 0
    finally:
        if was_enabled:
            gc.enable()
