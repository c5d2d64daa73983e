"""quick_init: a frozen dataclass's faster __init__ builds the same records, and refuses what
it cannot build the same."""

from __future__ import annotations

import dataclasses
import importlib
import inspect
import pkgutil

import pytest

import mapdown
from mapdown.records import quick_init


def _pair(slots: bool) -> tuple[type, type]:
    """The same record twice: with the dataclass's own __init__, and with quick_init's."""

    def make() -> type:
        class Record:
            __annotations__ = {"name": "str", "count": "int", "tags": "tuple", "note": "str | None"}
            tags = ()
            note = None

        return dataclasses.dataclass(frozen=True, slots=slots)(Record)

    return make(), quick_init(make())


@pytest.mark.parametrize("slots", [True, False])
def test_a_record_built_either_way_is_the_same(slots: bool) -> None:
    plain, quick = _pair(slots)
    for args, kwargs in [
        (("a", 1), {}),
        (("a", 1, ("x",)), {}),
        (("a",), {"count": 2, "note": "n"}),
        ((), {"note": "n", "count": 3, "name": "b", "tags": ("y", "z")}),
    ]:
        want, got = plain(*args, **kwargs), quick(*args, **kwargs)
        assert dataclasses.asdict(got) == dataclasses.asdict(want)
        assert repr(got).split("(", 1)[1] == repr(want).split("(", 1)[1]
        assert got == quick(*args, **kwargs) and hash(got) == hash(quick(*args, **kwargs))
        with pytest.raises(dataclasses.FrozenInstanceError):
            got.count = 5  # type: ignore[misc]
    assert inspect.signature(quick) == inspect.signature(plain)


@pytest.mark.parametrize("slots", [True, False])
def test_a_call_the_dataclass_refuses_is_refused(slots: bool) -> None:
    plain, quick = _pair(slots)
    calls = [((), {}), (("a",), {}), (("a", 1, (), None, "extra"), {}), (("a", 1), {"x": 1})]
    for args, kwargs in calls:
        with pytest.raises(TypeError):
            plain(*args, **kwargs)
        with pytest.raises(TypeError):
            quick(*args, **kwargs)


def test_only_a_plain_frozen_record_is_taken() -> None:
    @dataclasses.dataclass
    class Mutable:
        a: int

    @dataclasses.dataclass(frozen=True)
    class Checked:
        a: int

        def __post_init__(self) -> None:
            pass

    @dataclasses.dataclass(frozen=True)
    class Factory:
        a: list[int] = dataclasses.field(default_factory=list)

    @dataclasses.dataclass(frozen=True, kw_only=True)
    class KeywordOnly:
        a: int

    for cls in (Mutable, Checked, Factory, KeywordOnly, int):
        with pytest.raises(TypeError, match="quick_init"):
            quick_init(cls)


def test_mapdowns_quick_records_take_their_fields_as_declared() -> None:
    """Every record of mapdown's that has quick_init's __init__: its signature is its fields
    in order, with their defaults, and the record holds what it was given."""
    found = []
    for info in pkgutil.iter_modules(mapdown.__path__):
        module = importlib.import_module(f"mapdown.{info.name}")
        for cls in vars(module).values():
            if isinstance(cls, type) and getattr(cls.__init__, "quick_init", False):
                found.append(cls)
                fields = dataclasses.fields(cls)
                params = list(inspect.signature(cls).parameters.values())
                assert [p.name for p in params] == [f.name for f in fields]
                assert [p.default for p in params] == [
                    inspect.Parameter.empty if f.default is dataclasses.MISSING else f.default
                    for f in fields
                ]
                values = {f.name: object() for f in fields}
                record = cls(**values)
                assert all(getattr(record, name) is value for name, value in values.items())
    names = {cls.__name__ for cls in found}
    assert {"Event", "State", "StepTrack", "Milestone", "PlanStep", "WindowDate"} <= names
