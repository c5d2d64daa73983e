"""Compact JSON, as mapdown writes what it reads back: the site's data files and the cache.

orjson writes the same text as `json.dumps(value, separators=(",", ":"), ensure_ascii=False)`
for the values mapdown stores (dicts with text keys, lists, text, whole numbers, floats rounded
for display, booleans and None), three times as fast as the standard library's C encoder on a
deal's data (`benchmarks/bench_deal.py`). A test holds the two side by side.
"""

from __future__ import annotations

from typing import Any

import orjson

loads = orjson.loads


def dumpb(value: Any) -> bytes:
    """`value` as compact JSON, UTF-8 encoded; keys keep their order."""
    return orjson.dumps(value)


def dumps(value: Any, sort_keys: bool = False) -> str:
    """`value` as compact JSON text; keys keep their order, or are sorted (as `json.dumps`
    sorts them: by code point, which is UTF-8's byte order)."""
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS if sort_keys else None).decode()


def digest_bytes(value: Any) -> bytes:
    """`value` as sorted compact JSON, to be hashed into a name: keys that are not text are
    written as text, and what JSON has no form for (a date) by `str`."""
    return orjson.dumps(value, default=str, option=orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS)
