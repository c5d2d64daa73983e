"""fastyaml: the same plain data as libyaml for every front matter it reads, None for the rest."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import EXAMPLES, ROOT
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mapdown.fastyaml import MAX_DEPTH, load_block_subset
from mapdown.parse import _plain, load_yaml_node, split_front_matter

REJECTED = object()  # libyaml refuses the text


def reference(text: str) -> Any:
    """What the libyaml path gives: `_plain` of the composed node, or REJECTED."""
    try:
        return _plain(load_yaml_node(text), [10**9])
    except (yaml.YAMLError, AttributeError):  # AttributeError: an empty document has no node
        return REJECTED


def front_matter(markdown: str) -> str:
    source = split_front_matter(markdown, "deal.md", [])
    assert source is not None
    return source.front


def format_example(path: Path) -> str:
    """The front matter of the first ```markdown block of a format document."""
    text = path.read_text(encoding="utf-8")
    start = text.index("```markdown\n") + len("```markdown\n")
    return front_matter(text[start : text.index("\n```", start)])


FORMAT_DOCS = [
    ROOT / "docs" / "format.md",
    ROOT.parent / "shared" / "design" / "FORMAT.md",  # the design copy, beside the repository
]
EXAMPLE_FRONTS = {
    **{f"deals/{p.name}": front_matter(p.read_text("utf-8")) for p in EXAMPLES.glob("*.md")},
    **{p.name: format_example(p) for p in FORMAT_DOCS if p.exists()},
}


# ---------------------------------------------------------------- the real files


def test_the_format_example_is_checked():
    assert "format.md" in EXAMPLE_FRONTS
    assert len([name for name in EXAMPLE_FRONTS if name.startswith("deals/")]) >= 3


@pytest.mark.parametrize("name", sorted(EXAMPLE_FRONTS))
def test_example_files_read_as_libyaml_reads_them(name):
    text = EXAMPLE_FRONTS[name]
    result = load_block_subset(text)
    assert result is not None
    assert result == reference(text)
    assert load_block_subset(text, cache={}) == result


def test_values_stay_text_and_comments_go():
    data = load_block_subset(EXAMPLE_FRONTS["deals/harbor-federal.md"])
    assert data["go_live"] == "2027-02-02"  # the comment after it is gone, no date object
    assert data["milestones"][2]["after"] == ["mrm-docs"]
    assert data["milestones"][0]["confirmation"].startswith("Email 2026-10-14, Re: MAP dates")


# ---------------------------------------------------------------- targeted cases

OUTSIDE = {
    "block scalar": "a: |\n  text\nb: 1\n",
    "folded scalar": "a: >-\n  text\n",
    "multi-line plain": "a: first\n  second\nb: 1\n",
    "multi-line plain in a list": "a:\n  - first\n    second\n",
    "multi-line quoted": 'a: "first\n  second"\n',
    "alias": "a: &x 1\nb: *x\n",
    "anchor": "a: &x 1\n",
    "tag": "a: !!str 1\n",
    "local tag": "a: !thing 1\n",
    "backslash in double quotes": 'a: "tab\\there"\n',
    "escaped quote": 'a: "say \\"hi\\""\n',
    "flow mapping": "a: {b: 1}\n",
    "flow mapping in a list": "a:\n  - {b: 1}\n",
    "flow list with quotes": 'a: ["x", y]\n',
    "flow list over two lines": "a: [x,\n  y]\n",
    "null in a flow list": "a: [x, null]\n",
    "tab indentation": "a:\n\tb: 1\n",
    "tab in a value": "a: x\ty\n",
    "complex key": "? a\n: 1\n",
    "quoted key": '"a": 1\n',
    "document start": "---\na: 1\n",
    "document end": "a: 1\n...\n",
    "directive": "%YAML 1.2\na: 1\n",
    "lone CR": "a: 1\rb: 2\n",
    "NEL line break": "a: 1\x85b: 2\n",
    "root scalar": "just text\n",
    "empty document": "# only a comment\n\n",
    "colon space in a plain value": "a: Kickoff: deck\n",
    "comment without a space after a quote": 'a: "x"# c\n',
    "nested compact sequence": "- - a\n  - b\n",
}


@pytest.mark.parametrize("name", sorted(OUTSIDE))
def test_outside_the_subset_falls_back(name):
    assert load_block_subset(OUTSIDE[name]) is None
    assert load_block_subset(OUTSIDE[name], cache={}) is None


def test_too_deep_falls_back():
    deep = "".join(f"{' ' * i}k{i}:\n" for i in range(MAX_DEPTH + 1)) + " " * 80 + "x: 1\n"
    assert load_block_subset(deep) is None
    shallow = "".join(f"{' ' * i}k{i}:\n" for i in range(10)) + " " * 10 + "x: 1\n"
    assert load_block_subset(shallow) == reference(shallow)


INSIDE = {
    "sequence at its key's column": (
        "a:\n- x\n- y\nb: z\n",
        {"a": ["x", "y"], "b": "z"},
    ),
    "mappings in a sequence at its key's column": (
        "people:\n- name: Ana\n  side: customer\n-\n  name: Ben\nnext:\n",
        {"people": [{"name": "Ana", "side": "customer"}, {"name": "Ben"}], "next": None},
    ),
    "sequence at its key's column in a list item": (
        "- a:\n  - x\n  b: 1\n- c\n",
        [{"a": ["x"], "b": "1"}, "c"],
    ),
    "comments everywhere": (
        "# top\na: 1 # one\n  # indented\nb:   # empty so far\n# at the margin\n"
        "  - x # c\n      # deep\n  - 'y' # c\n  -   # null\n  - [p, q]  # c\n# end\n",
        {"a": "1", "b": ["x", "y", None, ["p", "q"]]},
    ),
    "hash inside a plain value": ("x: a#b\n", {"x": "a#b"}),
    "quote in single quotes": ("x: 'it''s'\n", {"x": "it's"}),
    "colon and hash in double quotes": ('x: "a: b # c"\n', {"x": "a: b # c"}),
    "CRLF": ("a: 1\r\nb:\r\n  - x\r\n  - 'y z'\r\n", {"a": "1", "b": ["x", "y z"]}),
    "nulls and empty values": (
        "a:\nb: ~\nc: null # c\nd: ''\ne: \"\"\nf: NULL\ng: nullx\nh: [nullx, x]\n",
        {
            "a": None,
            "b": None,
            "c": None,
            "d": "",
            "e": "",
            "f": None,
            "g": "nullx",
            "h": ["nullx", "x"],
        },
    ),
    "duplicate keys": ("a: 1\nb: 2\na:\n  c: 3\n", {"a": {"c": "3"}, "b": "2"}),
    "spaces kept inside quotes, stripped at the ends": (
        "a: '  x  y  '\nb: \"\u3000z\"\nc: x    \n",
        {"a": "x  y", "b": "z", "c": "x"},
    ),
    "plain scalars that start with an indicator character": (
        "a: -5\nb: ?x\nc: :x\nd: x]\ne: '# not a comment'\n",
        {"a": "-5", "b": "?x", "c": ":x", "d": "x]", "e": "# not a comment"},
    ),
    "a list at the root": ("- a\n- b: 1\n  c: 2\n-\n", ["a", {"b": "1", "c": "2"}, None]),
    "no newline at the end": ("a: 1\nb: x", {"a": "1", "b": "x"}),
}


@pytest.mark.parametrize("name", sorted(INSIDE))
def test_inside_the_subset_reads_as_libyaml(name):
    text, expected = INSIDE[name]
    assert load_block_subset(text) == expected
    assert reference(text) == expected
    assert load_block_subset(text, cache={}) == expected


def test_a_shared_cache_changes_nothing():
    cache: dict[str, Any] = {}
    texts = [*EXAMPLE_FRONTS.values(), *OUTSIDE.values(), *(text for text, _ in INSIDE.values())]
    first = [load_block_subset(text, cache=cache) for text in texts]
    again = [load_block_subset(text, cache=cache) for text in texts]
    assert first == again == [load_block_subset(text) for text in texts]


# ---------------------------------------------------------------- generated texts

# fmt: off
KEYS = ["a", "b", "title", "due", "after", "x-y", "_k", "K9", "null", "true", "on"]
BAD_KEYS = ['"q"', "'q'", "a b", "-k", "k:x", "é", "? a", "&a k", "!t k", "[k]", "k ", "k" * 1000,
            "k" * 1025]
ATOMS = [
    "x", "a b", "2026-11-10", "5", "true", "null", "Null", "NULL", "~", "", " ", "a#b", "a #b",
    "a: b", "a:b", "a:", ":a", "-a", "- a", "-", "?a", "? a", "it's", 'say "hi"', "[a, b]", "[]",
    "{a: 1}", "&x v", "*x", "!!str v", "|", ">", "%x", "@x", "`x`", ",x", "x,", "x]", "—", "é",
    "\xa0x", "x\xa0", "\u3000", "😀", "\\", "a\\nb", "---", "...", "#", " #", "x\t", "\x85",
    "\u2028", "\ufeff", "\x00", "\x7f", "'", '"', "''", "x''y", "a  b", "https://x.example/a#b",
]
CHARS = "ab :#-'\"[]{},&*!|>%@`~?\\.\t\xa0é—😀\x85=<^$;()+"
WORDS = ["a", "b-c", "x_1", "null", "~", "a b", '"q"', "'q'", "", "[x]", "{y}", "a:b", "#"]
INSERTS = [
    "  continued", "a: |", "  block", "---", "...", "%YAML 1.2", "? k", "\tb: 1", "a: &x 1",
    "b: *x", "c: !!str 3", "{a: 1}", "[a]", "- x", "x", "  - y", "#", "   # c", "", "  ",
]
# fmt: on


@st.composite
def scalars(draw) -> str:
    """A value as written after `key: ` or `- `, with an optional comment."""
    source = draw(st.integers(0, 9))
    if source <= 6:  # mostly ordinary text, so that whole documents are often in the subset
        text = draw(st.text(alphabet="abc XYZ019-_./é—", max_size=12))
    elif source <= 8:
        text = draw(st.sampled_from(ATOMS))
    else:
        text = draw(st.text(alphabet=CHARS, max_size=8))
    style = draw(st.sampled_from(["plain"] * 4 + ["double", "single", "single-raw", "flow"]))
    if style == "double":
        text = f'"{text}"'
    elif style == "single":
        text = "'" + text.replace("'", "''") + "'"
    elif style == "single-raw":
        text = f"'{text}'"
    elif style == "flow":
        words = draw(st.lists(st.sampled_from(WORDS), max_size=3))
        text = "[" + draw(st.sampled_from([", ", ",", " , "])).join(words) + "]"
    comment = draw(st.sampled_from(["", "", "", " # c", "  # a: b", "#c", " #", "   "]))
    return text + comment


def key(draw) -> str:
    return draw(st.sampled_from(KEYS) if draw(st.integers(0, 29)) else st.sampled_from(BAD_KEYS))


def mapping(draw, indent: int, depth: int) -> list[str]:
    lines = []
    for _ in range(draw(st.integers(1, 4))):
        head = " " * indent + key(draw) + ":"
        kind = draw(st.sampled_from(["scalar"] * 5 + ["empty", "map", "seq", "seq-here"]))
        if depth <= 0 or kind == "scalar":
            value = draw(scalars())
            lines.append(head + (" " + value if value else ""))
        elif kind == "empty":
            lines.append(head + draw(st.sampled_from(["", " ", " # c"])))
        elif kind == "map":
            lines.append(head)
            lines += mapping(draw, indent + draw(st.integers(1, 4)), depth - 1)
        else:
            lines.append(head)
            step = 0 if kind == "seq-here" else draw(st.integers(1, 3))
            lines += sequence(draw, indent + step, depth - 1)
    return lines


def sequence(draw, indent: int, depth: int) -> list[str]:
    lines = []
    for _ in range(draw(st.integers(1, 3))):
        dash = " " * indent + "-"
        kind = draw(st.sampled_from(["scalar"] * 3 + ["empty", "compact", "below"]))
        if depth <= 0 or kind == "scalar":
            lines.append(dash + " " + draw(scalars()))
        elif kind == "empty":
            lines.append(dash + draw(st.sampled_from(["", " ", " # c"])))
        elif kind == "compact":  # `- key: value` with the next keys under the first one
            gap = draw(st.integers(1, 3))
            block = mapping(draw, indent + 1 + gap, depth - 1)
            lines.append(dash + block[0][indent + 1 :])
            lines += block[1:]
        else:
            lines.append(dash)
            below = indent + draw(st.integers(1, 3))
            nested = mapping if draw(st.booleans()) else sequence
            lines += nested(draw, below, depth - 1)
    return lines


@st.composite
def generated(draw) -> str:
    lines = mapping(draw, 0, 3) if draw(st.integers(0, 5)) else sequence(draw, 0, 3)
    for _ in range(max(0, draw(st.integers(-3, 3)))):  # damage: odd lines, shifted lines
        at = draw(st.integers(0, len(lines)))
        what = draw(st.sampled_from(["insert", "shift", "duplicate", "trailing"]))
        if what == "insert":
            lines.insert(at, draw(st.sampled_from(INSERTS)))
        elif at < len(lines):
            line = lines[at]
            if what == "shift":
                lines[at] = (" " + line) if draw(st.booleans()) else line.removeprefix(" ")
            elif what == "duplicate":
                lines.insert(at, line)
            else:
                lines[at] = line + draw(st.sampled_from([" ", "  ", "\r", " #"]))
    newline = draw(st.sampled_from(["\n", "\n", "\r\n"]))
    return newline.join(lines) + draw(st.sampled_from([newline, newline, ""]))


@st.composite
def mutated(draw) -> str:
    """A real front matter with a few small edits."""
    lines = draw(st.sampled_from(sorted(EXAMPLE_FRONTS.values()))).split("\n")
    for _ in range(draw(st.integers(1, 3))):
        at = draw(st.integers(0, len(lines) - 1))
        line = lines[at]
        pos = draw(st.integers(0, len(line)))
        piece = draw(st.sampled_from(ATOMS) | st.text(alphabet=CHARS, min_size=1, max_size=3))
        what = draw(st.sampled_from(["insert", "replace", "delete", "indent", "swap"]))
        if what == "insert":
            lines[at] = line[:pos] + piece + line[pos:]
        elif what == "replace":
            lines[at] = line[:pos] + piece + line[pos + len(piece) :]
        elif what == "delete":
            lines[at] = line[:pos] + line[pos + 1 :]
        elif what == "indent":
            lines[at] = " " * draw(st.integers(0, 6)) + line.lstrip(" ")
        else:
            other = draw(st.integers(0, len(lines) - 1))
            lines[at], lines[other] = lines[other], line
    return "\n".join(lines)


SHARED_CACHE: dict[str, Any] = {}


@settings(
    max_examples=500,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(generated() | mutated())
def test_whenever_it_reads_a_text_it_reads_it_as_libyaml(text):
    result = load_block_subset(text)
    assert load_block_subset(text, cache=SHARED_CACHE) == result
    if result is not None:  # None: the caller falls back to libyaml, nothing to compare
        assert reference(text) == result


@pytest.mark.parametrize(
    "line",
    [
        " " * 200_000 + "x",
        "a:" + " " * 200_000 + "x: y",
        "- " + " " * 200_000 + "x: y: z",
        "a: [" + "b ," * 100_000,
        "a: '" + "''" * 100_000,
        "a: " + "x:" * 100_000 + " ",
        "k" * 200_000 + ": x",
    ],
)
def test_long_odd_lines_take_linear_time(line):
    began = time.perf_counter()
    assert load_block_subset(line + "\n") is None
    assert time.perf_counter() - began < 1.0  # a quadratic scan would take minutes


# ---------------------------------------------------------------- read piece by piece

# fmt: off
DEAL_LINES = [
    "", "# c", "  # c", "    # c", "people: ~", "people: # c", "milestones:   ", "milestones: null",
    "milestones: []", "x: [a, b]", "   - id: q", "  -  id: q", "  -   id: q", "    - x",
    "      nested: y", "    nested:", "  - x", "  - ", "  -", "- a", "-  a: b", "title: dup",
    "\ttitle: x", "  - id: z\r", 'title: "q"', "k: 'a''b'", "    after:", "      - a",
    "    after: [a, b]", "     five: 5", "   three: 3", "reviews:", "  - date: 2026-01-01",
    "    with: Bob", "people:", "key: value # c", "key:#x", "k: v:", " top: indented", "  - - x",
    "  - key:", "    key:", "  - key: v\n    k2: v2", "a:\n  b: c", "...", "--- x", "&a x: y",
    "k: &a v", "?", ": x",
]
# fmt: on


@st.composite
def deal_edits(draw) -> str:
    """A real front matter with lines added, removed or swapped, mostly in its own layout."""
    lines = draw(st.sampled_from(sorted(EXAMPLE_FRONTS.values()))).split("\n")
    for _ in range(draw(st.integers(0, 4))):
        at = draw(st.integers(0, len(lines) - 1))
        what = draw(st.sampled_from(["insert"] * 3 + ["delete", "swap"]))
        if what == "insert":
            lines.insert(at, draw(st.sampled_from(DEAL_LINES)))
        elif what == "delete" and len(lines) > 1:
            del lines[at]
        else:
            other = draw(st.integers(0, len(lines) - 1))
            lines[at], lines[other] = lines[other], lines[at]
    return "\n".join(lines)


PIECES: dict[Any, Any] = {}


@settings(
    max_examples=500,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(generated() | mutated() | deal_edits())
def test_read_piece_by_piece_a_text_reads_the_same(text):
    """`parse._pieces` (past versions read a top-level line or list item at a time, each piece
    once for all the versions sharing it) gives what the whole text gives, keys in the same
    order, and nothing where the whole text is not in the subset."""
    from mapdown.parse import _pieces

    text = text if text.endswith("\n") else text + "\n"
    pieces = _pieces(text, SHARED_CACHE, PIECES)
    if pieces is not None:
        whole = load_block_subset(text)
        assert whole is not None
        assert repr(pieces[0]) == repr(whole)  # repr: the order of keys too
        for key, texts in pieces[1].items():
            assert len(texts) == len(whole[key])


def test_read_piece_by_piece_a_deal_is_read_in_pieces():
    from mapdown.parse import _pieces

    for front in EXAMPLE_FRONTS.values():
        pieces = _pieces(front, None, {})
        if "milestones:\n  - " in front and "\n\n" not in front and "#" not in front:
            assert pieces is not None and repr(pieces[0]) == repr(load_block_subset(front))
