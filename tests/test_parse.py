"""The parser: values located in file coordinates, YAML read as the format says, never a crash."""

from __future__ import annotations

import datetime as dt

import pytest
from conftest import DATA, EXAMPLES
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mapdown.diagnostics import Pos
from mapdown.parse import MAX_BYTES, QuickParseError, parse_text, quick_data, read_file

CLEAN = DATA / "findings" / "clean.md"
CLEAN_TEXT = CLEAN.read_text(encoding="utf-8")


def parse(text: str, deal_id: str = "deal"):
    return parse_text(text, f"deals/{deal_id}.md", deal_id)


def errors(text: str) -> list[tuple[str, int, int]]:
    return [(d.code, d.line, d.col) for d in parse(text).diagnostics]


def edit(*pairs: tuple[str, str]) -> str:
    text = CLEAN_TEXT
    for old, new in pairs:
        assert text.count(old) == 1, old
        text = text.replace(old, new)
    return text


# ---------------------------------------------------------------- the model and its places


def test_clean_deal_parses_to_the_model():
    result = parse(CLEAN_TEXT)
    assert result.ok
    assert result.diagnostics == []
    deal = result.deal
    assert deal.id == "deal"
    assert deal.title == "Example Corp — analytics platform"
    assert deal.go_live == dt.date(2027, 3, 1)
    assert deal.close == dt.date(2027, 1, 15)
    assert [p.name for p in deal.customer_people] == [
        "Ana Silva",
        "Ben Ode",
        "Cara Lund",
        "Dev Rao",
        "Eli Park",
    ]
    assert [m.id for m in deal.milestones][:2] == ["pilot", "security-review"]
    assert deal.milestones[0].status == "done"
    assert deal.milestones[2].status == "planned"  # the default
    assert deal.milestones[6].after == (
        "security-review",
        "legal-review",
        "vendor-registration",
        "approval-committee",
    )
    assert deal.reviews[0].with_ == "Ana Silva"
    assert deal.body.startswith("## Notes")


def test_values_and_keys_are_located_in_file_coordinates():
    located = parse(CLEAN_TEXT).located
    lines = CLEAN_TEXT.splitlines()
    due = located.value(("milestones", 1, "due"))
    assert due == Pos(45, 10, 20)
    assert lines[due.line - 1][due.col - 1 : due.end_col - 1] == "2026-12-11"
    assert located.key(("milestones", 1, "due")) == Pos(45, 5, 8)
    assert located.key(("milestones",)) == Pos(28, 1, 11)
    name = located.value(("people", 4, "name"))
    assert lines[name.line - 1][name.col - 1 : name.end_col - 1] == "Eli Park"
    after = located.value(("milestones", 6, "after", 2))
    assert lines[after.line - 1][after.col - 1 : after.end_col - 1] == "vendor-registration"


def test_every_located_scalar_is_where_the_file_has_it():
    result = parse(CLEAN_TEXT)
    lines = CLEAN_TEXT.splitlines()
    for i, m in enumerate(result.deal.milestones):
        for key in ("id", "step", "owner", "exit"):
            pos = result.located.value(("milestones", i, key))
            assert lines[pos.line - 1][pos.col - 1 :].startswith(getattr(m, key)), (i, key)


def test_a_missing_value_falls_back_to_its_parent():
    located = parse(CLEAN_TEXT).located
    assert located.value(("milestones", 2, "start")) == located.value(("milestones", 2))
    assert located.value(("milestones", 2)).line == 50


def test_non_ascii_columns_count_characters():
    text = CLEAN_TEXT.replace("Ana Silva", "Zoë Ångström").replace("Ben Ode", "李娜")
    text = text.replace("    role: economic buyer", "    role: economic buyer\n    title: 总监")
    result = parse(text)
    assert result.ok
    title = result.located.value(("people", 1, "title"))
    assert (title.col, title.end_col) == (12, 14)
    assert [m.owner for m in result.deal.milestones][-3:-1] == ["李娜", "李娜"]


# ---------------------------------------------------------------- YAML as the format reads it


def test_dates_may_be_quoted():
    result = parse(edit(("    due: 2027-01-06", '    due: "2027-01-06"')))
    assert result.ok
    assert result.deal.milestones[2].due == dt.date(2027, 1, 6)


@pytest.mark.parametrize(
    ("value", "code"),
    [
        ("Nov 10", "MAP104"),
        ("2026-13-01", "MAP104"),
        ("2026-02-30", "MAP104"),
        ("2026-11-10T09:00:00", "MAP104"),
        ("2026-11-10 09:00", "MAP104"),
        ("2026-1-6", "MAP104"),
        ("10/11/2026", "MAP104"),
        ("20270106", "MAP104"),
        ("[2027-01-06]", "MAP103"),
        ("true", "MAP103"),
    ],
)
def test_bad_dates(value, code):
    text = edit(("    due: 2027-01-06", f"    due: {value}"))
    assert errors(text) == [(code, 54, 10)]


def test_datetime_hint_offers_the_date():
    [diag] = parse(edit(("    due: 2027-01-06", "    due: 2027-01-06T09:00:00"))).diagnostics
    assert "2027-01-06" in diag.hint


def test_yaml_12_words_are_text():
    # YAML 1.1 would read `no` as false and `off` as false: the format reads them as text
    result = parse(edit(("customer: Example Corp", "customer: no"), ("Weekly review", "off")))
    assert result.ok
    assert result.deal.customer == "no"
    assert result.deal.reviews[0].note == "off"


@pytest.mark.parametrize("value", ["2026", "1.5", "true", "~", "[a, b]", "{a: b}"])
def test_text_keys_refuse_other_types(value):
    codes = [c for c, _, _ in errors(edit(("customer: Example Corp", f"customer: {value}")))]
    assert codes == (["MAP101"] if value == "~" else ["MAP103"])


def test_an_empty_optional_key_is_no_key():
    result = parse(edit(("close: 2027-01-15", "close:")))
    assert result.ok
    assert result.deal.close is None


def test_duplicate_key_in_a_nested_mapping():
    text = edit(("    role: champion", "    role: champion\n    role: director"))
    assert errors(text) == [("MAP100", 13, 5)]
    assert parse(text).diagnostics[0].message.startswith("duplicate key `role` (first on line 12)")


def test_top_level_duplicate_key():
    assert errors(edit(("close: 2027-01-15", "close: 2027-01-15\nclose: 2027-01-16"))) == [
        ("MAP100", 9, 1)
    ]


def test_merge_keys_are_refused():
    text = edit(("  - name: Vic Stone\n", "  - <<: {title: AE}\n    name: Vic Stone\n"))
    assert [c for c, _, _ in errors(text)] == ["MAP100"]


def test_tags_are_refused():
    assert errors(edit(("customer: Example Corp", "customer: !!binary RXhhbXBsZQ=="))) == [
        ("MAP103", 4, 11)
    ]


def test_unknown_key_suggests_the_known_one():
    found = parse(edit(("    due: 2027-01-06", "    due_date: 2027-01-06"))).diagnostics
    assert [(d.code, d.line, d.col) for d in found] == [("MAP102", 54, 5), ("MAP101", 50, 5)]
    diag = found[0]
    assert "did you mean `due`?" in diag.hint


def test_multiple_documents_are_an_error():
    text = CLEAN_TEXT.replace("close: 2027-01-15\n", "close: 2027-01-15\n...\n", 1)
    assert [c for c, _, _ in errors(text)] == ["MAP100"]


def test_front_matter_must_start_on_line_1():
    assert errors("\n" + CLEAN_TEXT) == [("MAP100", 1, 1)]


def test_front_matter_that_is_empty_or_a_scalar():
    assert errors("---\n---\nNotes\n") == [("MAP100", 2, 1)]
    assert errors("---\n# only a comment\njust words\n---\n") == [("MAP100", 3, 1)]


def test_alias_is_reported_where_it_is_used():
    text = edit(("customer: Example Corp", "customer: &c Example Corp\ndeadline_reason: *c"))
    text = text.replace("deadline_reason: The old system's licence ends on 31 March\n", "")
    [diag] = parse(text).diagnostics
    assert (diag.code, diag.line, diag.col) == ("MAP100", 5, 18)
    assert "*c" in diag.message


def test_file_name_must_be_a_slug():
    assert [(d.code, d.line, d.col) for d in parse(CLEAN_TEXT, "Bad_Name").diagnostics] == [
        ("MAP105", 1, 1)
    ]


# ---------------------------------------------------------------- files


def test_read_file_drops_a_bom(tmp_path):
    path = tmp_path / "deal.md"
    path.write_bytes(b"\xef\xbb\xbf" + CLEAN.read_bytes())
    result = read_file(path, "deal.md")
    assert result.ok
    assert result.deal.title == "Example Corp — analytics platform"
    assert result.located.value(("milestones", 1, "due")) == Pos(45, 10, 20)


def test_read_file_crlf_keeps_places_and_values(tmp_path):
    path = tmp_path / "deal.md"
    path.write_bytes(CLEAN.read_bytes().replace(b"\n", b"\r\n"))
    result = read_file(path, "deal.md")
    assert result.ok
    lf = parse(CLEAN_TEXT)
    assert result.deal.milestones == lf.deal.milestones
    assert result.located.value(("milestones", 1, "due")) == Pos(45, 10, 20)
    assert "\r" not in result.deal.body
    assert all("\r" not in line for line in result.lines)


def test_read_file_limit(tmp_path):
    path = tmp_path / "deal.md"
    path.write_bytes(CLEAN.read_bytes() + b"x" * (MAX_BYTES - len(CLEAN.read_bytes())))
    assert read_file(path, "deal.md").ok  # exactly at the limit is fine
    path.write_bytes(path.read_bytes() + b"x")
    [diag] = read_file(path, "deal.md").diagnostics
    assert (diag.code, diag.line, diag.col) == ("MAP100", 1, 1)


def test_read_file_missing(tmp_path):
    [diag] = read_file(tmp_path / "gone.md", "gone.md").diagnostics
    assert diag.code == "MAP100"


@pytest.mark.parametrize("example", sorted(EXAMPLES.glob("*.md")), ids=lambda p: p.name)
def test_examples_parse_without_errors(example):
    result = read_file(example, example.name)
    assert result.diagnostics == []
    assert result.ok


# ---------------------------------------------------------------- never a crash


@pytest.mark.parametrize(
    "front",
    ["title: " + "[" * 50_000, "notes:\n" + "- " * 50_000 + "x"],
    ids=["brackets", "compact-sequences"],
)
def test_deep_nesting_is_an_error_not_a_crash(front):
    # libyaml's composer recurses in C: tens of thousands of levels used to kill the process
    [diag] = parse(f"---\n{front}\n---\n").diagnostics
    assert diag.code == "MAP100"
    assert "nested" in diag.message
    with pytest.raises(QuickParseError, match="nested"):  # the reader of past versions too
        quick_data(f"---\n{front}\n---\n")


def test_lone_surrogates_are_an_error_not_a_crash():
    [diag] = parse("---\ntitle: \ud800\n---\n").diagnostics
    assert (diag.code, diag.line) == ("MAP100", 2)


lines_of_yaml = st.lists(
    st.one_of(
        st.text(max_size=40),
        st.sampled_from(
            [
                "  - ",
                "    ",
                "\t",
                "- [",
                "{",
                "&a ",
                "*a",
                "!!str ",
                "<<: ",
                "? ",
                ": ",
                "'",
                '"',
                "|",
                ">",
                "---",
                "...",
                "%YAML 1.2",
                "\ufeff",
                "\r",
                "\x00",
                "\ud800",
            ]
        ),
    ),
    max_size=12,
).map("".join)


@settings(max_examples=200, deadline=None, database=None)
@given(st.text())
def test_parse_text_never_raises_on_any_text(text):
    result = parse_text(text, "deals/x.md", "x")
    assert result.ok or result.diagnostics


@settings(max_examples=200, deadline=None, database=None)
@given(lines_of_yaml)
def test_parse_text_never_raises_on_any_front_matter(front):
    result = parse_text(f"---\n{front}\n---\nnotes\n", "deals/x.md", "x")
    assert result.diagnostics
    for diag in result.diagnostics:
        assert diag.line >= 1
        assert diag.col >= 1


@settings(max_examples=200, deadline=None, database=None)
@given(st.integers(0, len(CLEAN_TEXT)), lines_of_yaml)
def test_parse_text_never_raises_on_a_damaged_deal(at, junk):
    text = CLEAN_TEXT[:at] + junk + CLEAN_TEXT[at:]
    result = parse_text(text, "deals/x.md", "x")
    assert result.ok != bool(result.diagnostics)
    for diag in result.diagnostics:
        assert diag.code.startswith("MAP1")
        assert 1 <= diag.line <= len(text.splitlines()) + 1


@settings(
    max_examples=200,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(st.binary(max_size=400), st.integers(0, len(CLEAN_TEXT)))
def test_read_file_never_raises_on_any_bytes(tmp_path_factory, data, at):
    folder = tmp_path_factory.getbasetemp() / "hypothesis-bytes"
    folder.mkdir(exist_ok=True)
    path = folder / "deal.md"
    for raw in (data, CLEAN.read_bytes()[:at] + data + CLEAN.read_bytes()[at:]):
        path.write_bytes(raw)
        result = read_file(path, "deals/deal.md")
        assert result.ok != bool(result.diagnostics)
        if not result.ok:
            assert all(d.line >= 1 and d.col >= 1 for d in result.diagnostics)


def test_quick_data_with_remembered_items_reads_every_version_the_same():
    """Versions read with the caches kept across them give what each gives alone, errors too
    (the first problem in the file's order, whichever items were seen before)."""
    base = (DATA / "history" / "base.md").read_text(encoding="utf-8")
    edits = [
        ("owner: Ana Silva", "owner: Ben Ode"),
        ("side: vendor", "side: alien"),  # a person's side: reported after the steps
        ("track: technical", "track: nowhere"),
        ("due: 2026-11-13", "due: 2026-13-01"),
        ("exit: Pilot results report", "exit: Pilot results report\n    after: [legal-review]"),
        ("exit: Pilot results report", "exit: Pilot results report\n    after: legal-review"),
        ("  - id: pilot", "  - id: security-review"),
        ("  - name: Ana Silva", "  - Ana Silva"),
        ("role: champion", "role: champion\n    notes:\n      a: b"),
    ]
    texts = [base]
    for i, (old, new) in enumerate(edits):
        texts.append(base.replace(old, new, 1))
        texts.append(texts[-1].replace(edits[i - 1][0], edits[i - 1][1], 1))

    def read(text: str, *caches: dict) -> object:
        try:
            return quick_data(text, *caches)
        except QuickParseError as exc:
            return f"error: {exc}"

    alone = [read(t) for t in texts]
    lines: dict = {}
    items: dict = {}
    for _ in range(2):
        assert [read(t, lines, items) for t in texts] == alone
    assert any(isinstance(a, str) for a in alone) and any(isinstance(a, dict) for a in alone)
    first, again = quick_data(base, lines, items), quick_data(base, lines, items)
    assert first == again and first["milestones"][0] is again["milestones"][0]  # shared
