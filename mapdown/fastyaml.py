"""A fast, exact reader for the small part of YAML that deal files use.

`load_block_subset(text)` returns exactly what `_plain(load_yaml_node(text), [10**9])` of
`mapdown.parse` returns for the same front matter, or **None when the text uses anything outside
the subset below: None means "fall back to libyaml"**, never "the value is null". It does not
guess: whatever it is not sure to read as libyaml does is answered with None.

The subset:

- Lines end with "\\n"; "\\r\\n" is read as "\\n" (as YAML does). Blank lines and full-line
  comments are skipped. A tab, a lone "\\r", a control character, or one that libyaml reads
  specially (NEL, U+2028/2029, BOM, U+FFFE/FFFF, a lone surrogate) → None.
- Block mappings: `key: value`, or `key:` with the value on the following lines. A key is a plain
  word `[A-Za-z_][A-Za-z0-9_-]*` followed by `:` and a space or the end of the line.
- Block sequences of `- ` entries, more indented than their parent key or at the key's own column
  (`key:` then `- item` lines at the same column). An entry is a one-line value, nothing (null),
  a collection on the following lines, or a mapping that starts on the `- ` line with its further
  keys aligned under the first one (`- name: x` then `  side: y`).
- The root is a block mapping or a block sequence; an empty document → None.
- One-line scalars, each followed by nothing but an optional ` # comment`: plain (no `: `
  inside, no `:` at the end, `#` only where not after a space, and not starting with
  ``[]{}&*!|>'"%@`,#`` nor with `-`, `?` or `:` before a space or the line's end), single-quoted
  (`''` is `'`), and double-quoted without a backslash.
  A plain `~`/`null`/`Null`/`NULL` or an empty value is None; every other value is the str with
  `str.strip()` applied, exactly as `_plain` gives it (no ints, bools or dates: `x: 5` is "5").
- Flow lists on one line of plain words (not `null`): `after: [a, b-c]`, `[]`.
- Duplicate keys: the later value wins, in the first key's place (as in a dict display).

Anything else → None: block scalars `|`/`>`, scalars over several lines, anchors, aliases,
tags, directives, document markers, complex keys `? `, quoted keys, flow mappings, other flow
lists, `- - x`, more than `MAX_DEPTH` nested collections.

How: one regular expression (`_LINE`, run by `findall`, in C) cuts every line into indentation,
`- `, key and value, and checks every character; a line it does not match makes the whole text
fall back. A short loop then builds the data with an explicit stack of the open collections,
each with its column. Runs of `key: plain value` lines in one mapping take a fast path.

`cache`: a dict the caller keeps across calls (for example while reading every version of a
repository's deal files) to remember each distinct line's analysis, which is valid for that line
in any text. Versions of a file share most of their lines, so most lines then skip the regular
expression. The dict grows with the number of distinct lines; the results do not depend on it.
"""

from __future__ import annotations

import re
from typing import Any

__all__ = ["MAX_DEPTH", "load_block_subset"]

MAX_DEPTH = 64  # open collections; a MAP has four levels, deeper text is left to libyaml

# Characters that never belong to an accepted line: C0/C1 controls (tab and line breaks among
# them), the NEL and U+2028/9 line breaks, BOM U+FEFF, U+FFFE/FFFF and lone surrogates.
_TEXT = r"\x00-\x1f\x7f-\x9f\u2028\u2029\ufeff\ufffe\uffff\ud800-\udfff"
# A null plain scalar: the whole value, before the end of the line or a comment.
_NULL = r"(?:~|null|Null|NULL)(?=[ ]*+\n|[ ]++\#)"
_PLAIN = (  # any other one-line plain scalar, with its trailing spaces
    rf"(?!{_NULL})"
    rf"(?![?:\-](?![^{_TEXT} ]))[^{_TEXT} \#'\"\[\]{{}}&*!|>%@`,]"  # no indicator first
    rf"[^{_TEXT}:\#]*+(?:(?::(?=[^{_TEXT} ])|(?<![ ])\#)[^{_TEXT}:\#]*+)*+"  # no `: `, ` #`
)
_WORD = r"[ ]*+(?!(?:null|Null|NULL)[ ]*+[,\]])[A-Za-z0-9_][A-Za-z0-9_./+-]*+[ ]*+"  # in [a, b]
# One line, blank or not. Five groups (each costs time): indentation, `- ` (with the spaces after
# it), key, a plain value as written, any other value as written (null, quoted, flow list).
_LINE = re.compile(
    rf"""
    ^([ ]*+)
    (?:(-(?![^ \n])[ ]*+)|)
    (?:
        ([A-Za-z_][A-Za-z0-9_-]{{0,999}}+):(?![^ \n])[ ]*+   # libyaml: keys ≤ 1024 characters
      | (?(2)|(?=[ ]*+(?:\#|\n)))                           # no key, no `- `: no value either
    )
    (?:
        ({_PLAIN})
      | ( {_NULL}
        | "[^{_TEXT}"\\]*+"                                   # double-quoted, no escapes
        | '(?:[^{_TEXT}']|'')*+'                              # single-quoted
        | \[(?:[ ]*+|{_WORD}(?:,{_WORD})*+)\]                # flow list of plain words
        )
      |
    )
    [ ]*+(?:(?<![^ \n])\#[^{_TEXT}]*+|)                       # a comment after a space
    \n
    """,
    re.VERBOSE | re.MULTILINE,
)


def load_block_subset(text: str, *, cache: dict[str, Any] | None = None) -> Any | None:
    """The plain data of a block-YAML front matter, or None to fall back to libyaml.

    On success the result equals `_plain(load_yaml_node(text), [10**9])` of `mapdown.parse`;
    None means the text is outside the subset (see the module docstring), not a null value.
    `cache` (optional) is a dict kept by the caller across calls; it only saves time.
    """
    if "\r" in text:
        text = text.replace("\r\n", "\n")
        if text.endswith("\r"):
            text = text[:-1] + "\n"
        if "\r" in text:
            return None  # a lone CR in the middle: a line break to YAML
    if not text.endswith("\n"):
        text += "\n"
    rows = _rows(text, cache)
    if rows is None:
        return None  # some line is outside the subset

    # The open collections, innermost last, as (column, dict or list); the innermost is also in
    # `top_column`, `container` and `is_list`. The bottom one is a list holding the result.
    root: list[Any] = [None]
    stack: list[tuple[int, Any]] = [(-1, root)]
    top_column, container, is_list = -1, root, True
    # The last `key:` or `-` with nothing after it, as (its container, the key or None for the
    # list's last item, its column): null unless the next line opens a collection in it.
    pending: tuple[Any, str | None, int] | None = (root, None, -1)
    # The indentation of `container` (a mapping) while `key: value` lines can simply be added.
    run_indent: str | None = None

    for indent, dash, key, plain, other in rows:
        if plain and indent == run_indent and not dash:
            container[key] = plain.strip()  # the common case: the next key of the mapping
            continue
        if plain:
            value: Any = plain.strip()
        elif other:
            first = other[0]
            if first == '"':
                value = other[1:-1].strip()
            elif first == "'":
                value = other[1:-1].replace("''", "'").strip()
            elif first == "[":
                words = other[1:-1].replace(" ", "")  # words have no spaces inside
                value = words.split(",") if words else []
            else:
                value = None  # ~, null, Null or NULL
        elif key or dash:
            value = None  # nothing after `key:` or `-` (but see `pending`)
        else:
            continue  # a blank line or a comment
        column = len(indent)

        if pending is not None:
            owner, owner_key, owner_column = pending
            pending = None
            if column > owner_column or (column == owner_column and dash and owner_key):
                # the value is a collection (a sequence may start at its key's column)
                new: Any = [] if dash else {}
                if owner_key is None:
                    owner[-1] = new
                else:
                    owner[owner_key] = new
                top_column, container, is_list = column, new, bool(dash)
                stack.append((column, new))
                if len(stack) > MAX_DEPTH:
                    return None

        if column != top_column:
            if column > top_column:
                return None  # more indented than a value written on its line
            while stack[-1][0] > column:  # close the collections this line is outside of
                stack.pop()
            top_column, container = stack[-1]
            if top_column != column:
                return None
            is_list = type(container) is list

        run_indent = None
        has_value = bool(plain or other)
        if not dash:  # `key: ...` in the mapping at this column
            if is_list:
                # after a sequence written at its key's column: back to that key's mapping
                stack.pop()
                if stack[-1][0] != column:
                    return None
                container, is_list = stack[-1][1], False
            container[key] = value
            if has_value:
                run_indent = indent
            else:
                pending = (container, key, column)
        elif not is_list:
            return None  # `- ` where a key belongs
        elif key:  # `- key: ...`: a mapping whose keys are at the key's column
            new = {key: value}
            container.append(new)
            top_column, container, is_list = column + len(dash), new, False
            stack.append((top_column, new))
            if len(stack) > MAX_DEPTH:
                return None
            if has_value:
                run_indent = " " * top_column
            else:
                pending = (new, key, top_column)
        else:  # `- value` or `-`
            container.append(value)
            if not has_value:
                pending = (container, None, column)

    return root[0]  # None for a document without content


def _rows(text: str, cache: dict[str, Any] | None) -> list[tuple[str, ...]] | None:
    """`_LINE`'s groups for each line of `text` (ending with "\\n"), or None if one fails."""
    if cache is None:
        rows = _LINE.findall(text)
        return rows if len(rows) == text.count("\n") else None
    lines = text.split("\n")
    lines.pop()  # the "" after the last "\n"
    rows = list(map(cache.get, lines))
    if None in rows:
        new_lines = (line for line, row in zip(lines, rows, strict=True) if row is None)
        missing = list(dict.fromkeys(new_lines))  # each once
        found = _LINE.findall("\n".join(missing) + "\n")
        if len(found) != len(missing):
            return None
        cache.update(zip(missing, found, strict=True))
        rows = list(map(cache.get, lines))
    return rows
