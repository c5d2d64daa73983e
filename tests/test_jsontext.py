"""mapdown's JSON (orjson) against the standard library's, on the values mapdown stores."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from mapdown import jsontext

SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**63 - 1)
    | st.integers(min_value=-10_000, max_value=10_000).map(lambda n: round(n / 10, 1))  # rates
    | st.text()
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(), inner, max_size=5),
    max_leaves=30,
)


def reference(value: Any, sort_keys: bool = False) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, sort_keys=sort_keys)


@settings(max_examples=300, deadline=None)
@given(VALUES)
def test_the_same_text_as_the_standard_library(value: Any) -> None:
    assert jsontext.dumps(value) == reference(value)
    assert jsontext.dumpb(value) == reference(value).encode()
    assert jsontext.dumps(value, sort_keys=True) == reference(value, sort_keys=True)
    assert jsontext.loads(jsontext.dumps(value)) == json.loads(reference(value))


def test_keys_keep_their_order_and_text_its_characters() -> None:
    value = {"z": 1, "a": [0.0, 66.7, -3.5], "é": 'line\nbreak \u2028 <script> "q" \\ \x00'}
    assert jsontext.dumps(value) == reference(value)
    assert list(jsontext.loads(jsontext.dumps(value))) == ["z", "a", "é"]


def test_a_digest_is_sorted_and_writes_what_json_cannot() -> None:
    import datetime as dt

    value = {"b": [dt.date(2026, 11, 2)], "a": {2: "two"}}
    assert jsontext.digest_bytes(value) == b'{"a":{"2":"two"},"b":["2026-11-02"]}'
