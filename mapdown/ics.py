"""A deal's plan as an iCalendar file (RFC 5545): one all-day event per step.

Written directly, without a calendar library: a file is a few fixed properties per step, and
building one through `icalendar`'s objects took as long as rendering the deal's page. The text
is what `icalendar` writes for the same calendar, byte for byte (tests/test_ics.py holds the two
side by side): the same order of properties, TEXT escaping and line folding. One difference:
the calendar's name (X-WR-CALNAME) is escaped as TEXT, as calendar apps read it; `icalendar`
writes it as it stands, and fails on a line break in it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator

FOLD_AT = 75  # octets: a content line is cut before it reaches this length
CALENDAR_ORDER = ("VERSION", "PRODID", "CALSCALE", "METHOD")  # then the rest, by name
EVENT_ORDER = ("SUMMARY", "DTSTART", "DTEND", "DTSTAMP", "UID")


def escape_text(value: str) -> str:
    r"""A TEXT value (RFC 5545 §3.3.11): `\`, `;` and `,` escaped, every line break as `\n`."""
    return (
        value.replace(r"\N", "\n")
        .replace("\\", "\\\\")
        .replace(";", r"\;")
        .replace(",", r"\,")
        .replace("\r\n", r"\n")
        .replace("\n", r"\n")
        .replace("\r", r"\n")
    )


def fold(line: str) -> str:
    """A content line cut into lines under 75 octets, each after the first starting with a
    space (RFC 5545 §3.1). A cut never splits a character's UTF-8 bytes, nor a backslash from
    the character it escapes."""
    if len(line) < FOLD_AT and (line.isascii() or len(line.encode()) < FOLD_AT):
        return line
    if line.isascii():  # a character is an octet: the same cuts, made by slicing
        return "\r\n ".join(_ascii_lines(line))
    lines: list[str] = []
    chars: list[str] = []
    size = 0
    for ch in line:
        width = len(ch.encode())
        if chars and size + width >= FOLD_AT:
            if len(chars) > 1 and chars[-1] in "\\^":
                carried = chars.pop()
                lines.append("".join(chars))
                chars, size = [carried], len(carried.encode())
            else:
                lines.append("".join(chars))
                chars, size = [], 0
        chars.append(ch)
        size += width
    if chars:
        lines.append("".join(chars))
    return "\r\n ".join(lines)


def _ascii_lines(line: str) -> Iterator[str]:
    """`fold`'s lines of an ASCII line: FOLD_AT - 1 characters each, the last one carried to
    the next line when it is an escape's backslash or caret."""
    start, end = 0, FOLD_AT - 1
    while end < len(line):
        if end - start > 1 and line[end - 1] in "\\^":
            end -= 1
        yield line[start:end]
        start, end = end, end + FOLD_AT - 1
    yield line[start:]


def date_value(day: dt.date) -> str:
    return day.strftime("%Y%m%d")


def utc_value(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y%m%dT%H%M%SZ")


def component(
    name: str, properties: dict[str, str], order: tuple[str, ...], inner: Iterable[str] = ()
) -> list[str]:
    """A component's content lines: BEGIN, its properties (`order` first, then by name), the
    components inside it, END. Each property is `NAME` or `NAME;PARAMS` → its written value."""
    lines = [f"BEGIN:{name}"]
    rank = {key: i for i, key in enumerate(order)}

    def place(key: str) -> tuple[int, str]:
        base = key.split(";")[0]
        return (rank.get(base, len(order)) if properties[key] else len(order), base)

    keys = sorted(properties, key=place)
    lines.extend(fold(f"{key}:{properties[key]}") for key in keys)
    lines.extend(inner)
    lines.append(f"END:{name}")
    return lines


def calendar(properties: dict[str, str], events: Iterable[dict[str, str]]) -> bytes:
    """A VCALENDAR with its VEVENTs, as the bytes of an .ics file (CRLF line ends)."""
    inner: list[str] = []
    for event in events:
        inner.extend(component("VEVENT", event, EVENT_ORDER))
    lines = component("VCALENDAR", properties, CALENDAR_ORDER, inner)
    return ("\r\n".join(lines) + "\r\n").encode("utf-8")
