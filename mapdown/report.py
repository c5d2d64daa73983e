"""Deal scores and histories as records (for JSON) and as text tables."""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mapdown import __version__
from mapdown.config import Config
from mapdown.history import DealHistory, RepoHistory
from mapdown.model import Deal
from mapdown.parse import read_file
from mapdown.score import Score, score_deal, weekly


@dataclass
class Scored:
    """One deal scored as of a day."""

    deal: Deal
    path: str
    score: Score
    history: DealHistory | None
    partial: bool = False


def deal_paths(deals_dir: Path) -> list[Path]:
    from mapdown.check import discover

    return discover([deals_dir]) if deals_dir.is_dir() else []


SCORE_VERSION = 2  # bump when a score (or its notes) computed from the same inputs changes


def config_fingerprint(config: Config) -> str:
    """A name for the settings that change a score (where they were read from does not)."""
    fields = {k: v for k, v in dataclasses.asdict(config).items() if k != "path"}
    text = json.dumps(fields, sort_keys=True, default=str)
    return hashlib.sha1(text.encode(), usedforsecurity=False).hexdigest()


def _usable_score(hit: Any) -> bool:
    if not isinstance(hit, dict) or not isinstance(hit.get("notes"), list):
        return False
    record = hit.get("record", False)
    return record is None or (isinstance(record, dict) and isinstance(record.get("id"), str))


def score_all(
    deals_dir: Path, root: Path, config: Config, as_of: dt.date, repo: RepoHistory
) -> tuple[list[dict[str, Any]], list[str]]:
    """Every deal's score record as of `as_of` (by id), and notes about unreadable versions.

    With history, a record is cached under the deal's history key, the day and the settings:
    the same inputs always give the same score, so a repeated run reads instead of computing.
    """
    records: list[dict[str, Any]] = []
    notes: list[str] = []
    if repo.available:
        salt = f"{SCORE_VERSION}|{__version__}|{as_of}|{config_fingerprint(config)}"
        paths = sorted(repo.deals)
        keys = {
            rel: hashlib.sha1(
                f"{salt}|{repo.deals.key(rel)}".encode(), usedforsecurity=False
            ).hexdigest()
            for rel in paths
        }
        cached = repo.cache.get_many("scores", keys.values()) if repo.cache else {}
        hits = {rel: cached[keys[rel]] for rel in paths if _usable_score(cached.get(keys[rel]))}

        def compute(rel: str) -> dict[str, Any]:  # none, or a damaged entry: computed again
            history = repo.deals[rel]
            deal = history.deal_as_of(as_of)
            record = None
            if deal is not None:  # else the deal did not exist yet on that day
                scored = score_deal(deal, as_of, config, history, history.upto(as_of))
                record = score_record(Scored(deal, rel, scored, history, history.partial))
            unread = unreadable_note(history, as_of, deal)
            hit = {"record": record, "notes": [*history.problems, *([unread] if unread else [])]}
            if repo.cache:
                repo.cache.put("scores", keys[rel], hit)
            return hit

        # many deals to score (a cold cache): in two processes
        hits.update(repo.map_deals([rel for rel in paths if rel not in hits], compute))
        for rel in paths:
            hit = hits[rel]
            notes.extend(hit["notes"])
            if hit["record"] is not None:
                records.append(hit["record"])
    else:
        for path in deal_paths(deals_dir):
            parsed = read_file(path, str(path.relative_to(root)), root)
            if parsed.deal is None:
                first = parsed.diagnostics[0]
                notes.append(
                    f"{first.path}:{first.line}: {first.code} {first.message}; "
                    "not scored (run `mapdown check`)"
                )
                continue
            scored = score_deal(parsed.deal, as_of, config)
            records.append(score_record(Scored(parsed.deal, parsed.display, scored, None)))
    records.sort(key=lambda r: r["id"])
    return records, notes


def unreadable_note(history: DealHistory, as_of: dt.date, deal: Deal | None) -> str | None:
    """What `score` says when the deal's latest version by `as_of` cannot be read: that the
    deal is not scored, or is scored from an older version, and which version is at fault."""
    n = history.upto(as_of)
    latest = history.states[n - 1] if n else None
    if latest is None or latest.error is None:
        return None
    fault = f"its version of {latest.day} ({latest.short}) cannot be read: {latest.error}"
    used = history.state_as_of(as_of) if deal is not None else None
    if used is None:
        return f"{history.path}: not scored: {fault} (run `mapdown check`)"
    return (
        f"{history.path}: scored from its version of {used.day} ({used.short}), "
        f"because {fault} (run `mapdown check`)"
    )


def weeks_left(deal: Deal, as_of: dt.date) -> float:
    return round((deal.go_live - as_of).days / 7, 1)


def score_record(item: Scored) -> dict[str, Any]:
    deal, s = item.deal, item.score
    return {
        "id": deal.id,
        "path": item.path,
        "title": deal.title,
        "customer": deal.customer,
        "as_of": s.as_of.isoformat(),
        "go_live": deal.go_live.isoformat(),
        "weeks_left": weeks_left(deal, s.as_of),
        "close": deal.close.isoformat() if deal.close else None,
        **s.to_json(),
        "history": item.history is not None,
        "partial": item.partial,
    }


def _rate(record: dict[str, Any]) -> str:
    rate = record["confirmation_rate"]
    if rate is None:
        return "—"
    return f"{record['confirmed_dates']}/{record['window_dates']} ({rate:.0f}%)"


def score_table(records: list[dict[str, Any]]) -> str:
    """Deals with the lowest score first."""
    if not records:
        return "No deals."
    header = (
        "deal",
        "customer",
        "go-live",
        "weeks",
        "score",
        "confirmed (30d)",
        "slips 7d",
        "worst findings",
    )
    rows = [header]
    for r in sorted(records, key=lambda r: (r["score"], r["id"])):
        worst = " ".join(f["code"] for f in r["worst_findings"]) or "—"
        rows.append(
            (
                r["id"],
                r["customer"][:28],
                r["go_live"],
                f"{r['weeks_left']:g}",
                str(r["score"]),
                _rate(r),
                str(r["slips_7d"]),
                worst,
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    lines = [
        "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
        for row in rows
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def history_record(history: DealHistory, as_of: dt.date, config: Config) -> dict[str, Any]:
    """`mapdown history --format json`: the weekly series and every step's events."""
    tz = config.tz
    n = history.upto(as_of)
    deal = history.deal_as_of(as_of)
    names = {
        m.id: m.step for s in history.states[:n] if (d := history.deal_at(s)) for m in d.milestones
    }
    milestones: dict[str, list[dict[str, Any]]] = {}
    for event in history.events:
        if event.state < n and event.milestone is not None:
            milestones.setdefault(event.milestone, []).append(event.to_json(tz))
    return {
        "id": history.deal_id,
        "path": history.path,
        "as_of": as_of.isoformat(),
        "title": deal.title if deal else None,
        "customer": deal.customer if deal else None,
        "partial": history.partial,
        "weeks": [
            {
                "week": w.week,
                "end": w.end.isoformat(),
                "as_of": w.as_of.isoformat(),
                "score": w.score.score,
                "confirmation_rate": w.score.confirmation_rate,
                "window_dates": w.score.window_dates,
                "confirmed_dates": w.score.confirmed_dates,
                "parts": w.score.parts,
            }
            for w in weekly(history, as_of, config)
        ],
        "steps": [{"id": mid, "step": names.get(mid)} for mid in milestones],
        "milestones": milestones,
        "deal_events": [
            e.to_json(tz) for e in history.events if e.state < n and e.milestone is None
        ],
        "problems": history.problems,
    }


def history_text(record: dict[str, Any]) -> str:
    lines = [
        f"{record['id']}: {record['title']} ({record['customer']})",
        "",
        "week      end         score  confirmed",
    ]
    for w in record["weeks"]:
        rate = (
            "—"
            if w["confirmation_rate"] is None
            else (f"{w['confirmed_dates']}/{w['window_dates']} ({w['confirmation_rate']:.0f}%)")
        )
        lines.append(f"{w['week']}  {w['end']}  {w['score']:>5}  {rate}")
    names = {s["id"]: s["step"] for s in record["steps"]}
    for mid, events in record["milestones"].items():
        lines += ["", f"{mid}: {names.get(mid) or ''}"]
        for e in events:
            detail = ""
            if "from" in e:
                detail = f" {_show(e['from'])} → {_show(e['to'])}"
            if "days" in e:
                detail += f" ({e['days']:+d} days)"
            commit = (e["commit"] or "working tree")[:7]
            who = f" by {e['author']}" if e["author"] else ""
            lines.append(
                f"  {e['day']}  {e['kind']}{' ' + e['key'] if 'key' in e else ''}"
                f"{detail}  [{commit}{who}]"
            )
    for problem in record["problems"]:
        lines.append(f"note: {problem}")
    return "\n".join(lines)


def _show(value: Any) -> str:
    if isinstance(value, list):
        return ", ".join(str(v) for v in value if v is not None) or "—"
    return "—" if value is None else str(value)
