"""The calendar writer against the `icalendar` library: the same bytes for the same calendar,
whatever the text (escapes, line breaks, multi-byte characters at a fold), and text that reads
back as written."""

from __future__ import annotations

import datetime as dt

import icalendar
from hypothesis import given, settings
from hypothesis import strategies as st

from mapdown import ics

STAMP = dt.datetime(2026, 11, 2, tzinfo=dt.UTC)
# text a deal may hold, rich in what iCalendar escapes or must not cut
TEXT = st.text(
    alphabet=st.sampled_from(list("ab ,;:\\\"'\n\r^Nné€😀—")),  # \\N and \r\n arise too
    min_size=0,
    max_size=160,
)


def by_library(name: str, summary: str, description: str, url: str | None) -> bytes:
    """The calendar as `icalendar` writes it (what the site wrote before ics.py)."""
    cal = icalendar.Calendar()
    cal.add("prodid", "-//mapdown//mapdown 0.1.0//EN")
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", "PUBLISH")
    cal.add("x-wr-calname", name)
    for i in range(2):
        event = icalendar.Event()
        event.add("uid", f"deal.step-{i}@mapdown")
        event.add("dtstamp", STAMP)
        event.add("dtstart", dt.date(2026, 12, 1 + i))
        event.add("dtend", dt.date(2026, 12, 2 + i))
        event.add("summary", summary)
        event.add("description", description)
        event.add("transp", "TRANSPARENT")
        if url:
            event.add("url", url)
        cal.add_component(event)
    return cal.to_ical()


def by_mapdown(name: str, summary: str, description: str, url: str | None) -> bytes:
    text = ics.escape_text
    events = []
    for i in range(2):
        event = {
            "UID": text(f"deal.step-{i}@mapdown"),
            "DTSTAMP": ics.utc_value(STAMP),
            "DTSTART;VALUE=DATE": ics.date_value(dt.date(2026, 12, 1 + i)),
            "DTEND;VALUE=DATE": ics.date_value(dt.date(2026, 12, 2 + i)),
            "SUMMARY": text(summary),
            "DESCRIPTION": text(description),
            "TRANSP": "TRANSPARENT",
        }
        if url:
            event["URL"] = url
        events.append(event)
    head = {
        "PRODID": text("-//mapdown//mapdown 0.1.0//EN"),
        "VERSION": "2.0",
        "CALSCALE": "GREGORIAN",
        "METHOD": "PUBLISH",
        "X-WR-CALNAME": text(name),
    }
    return ics.calendar(head, events)


# icalendar writes X-WR-CALNAME unescaped (it does not know the property), and fails on a line
# break in it; mapdown escapes it as TEXT, as calendar apps read it (tested below)
NAME = st.text(alphabet=st.sampled_from(list("ab :—é😀")), max_size=120)


@settings(max_examples=300, deadline=None)
@given(NAME, TEXT.filter(bool), TEXT, st.sampled_from([None, "https://deals.example/q4/x.html"]))
def test_the_same_bytes_as_icalendar(
    name: str, summary: str, description: str, url: str | None
) -> None:
    assert by_mapdown(name, summary, description, url) == by_library(
        name, summary, description, url
    )


# ASCII text only: long runs without a multi-byte character, cut at every 74th octet
ASCII_TEXT = st.text(alphabet=st.sampled_from(list("ab ,;:\\\"'\n\r^N")), max_size=400)


@settings(max_examples=300, deadline=None)
@given(ASCII_TEXT.filter(bool), ASCII_TEXT)
def test_ascii_text_folds_as_icalendar_folds_it(summary: str, description: str) -> None:
    assert by_mapdown("Deal", summary, description, None) == by_library(
        "Deal", summary, description, None
    )


def test_a_long_line_is_folded_under_75_octets_and_reads_back() -> None:
    summary = "Security review, legal; procurement \\ " + "é€😀" * 30
    raw = by_mapdown("Deal", summary, "line one\nline two", None)
    for line in raw.split(b"\r\n"):
        assert len(line) < 75
    lines = raw.decode("utf-8").split("\r\n")
    assert any(line.startswith(" ") for line in lines)  # folded
    cal = icalendar.Calendar.from_ical(raw)
    event = cal.walk("VEVENT")[0]
    assert str(event["SUMMARY"]) == summary
    assert str(event["DESCRIPTION"]) == "line one\nline two"
    assert event["DTSTART"].dt == dt.date(2026, 12, 1)


def test_a_fold_never_separates_a_backslash_from_what_it_escapes() -> None:
    for width in range(60, 80):
        line = "DESCRIPTION:" + "a" * (width - 13) + r"\,b" + "c" * 40
        for part in ics.fold(line).split("\r\n"):
            assert not part.endswith("\\") or part.endswith("\\\\")


def test_the_calendar_name_is_escaped_as_text() -> None:
    raw = by_mapdown("Alpha; Beta, Gamma\nDelta \\ x", "Step", "", None)
    assert b"X-WR-CALNAME:Alpha\\; Beta\\, Gamma\\nDelta \\\\ x\r\n" in raw
