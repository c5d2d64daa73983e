"""Frozen dataclasses made faster to build, for the records a build makes by the hundred
thousand (events, steps, the backward pass's steps, a week's dates).

A frozen dataclass's generated `__init__` sets each field through `object.__setattr__`, around
its own `__setattr__` that refuses: at 1,000 deals × 40 revisions a build makes some 700,000 such
records, and for eight fields that `__init__` takes about 2.1 µs where a plain one takes 0.5 µs.
`quick_init` gives the class an `__init__` with the same signature that stores each field
straight into its slot (through the slot's descriptor) or, for a class without slots, into the
instance's `__dict__`: about 1.3 µs. The record stays frozen (assigning a field still raises
`FrozenInstanceError`), and equality, hashing and `repr` are the dataclass's own.
"""

from __future__ import annotations

import dataclasses
from typing import Any, TypeVar

T = TypeVar("T")


def quick_init(cls: type[T]) -> type[T]:
    """`cls`, a frozen dataclass (decorated by `@dataclass` first), with a faster `__init__`.

    Only a plain record qualifies: every field given to `__init__`, by position or name, with
    at most a plain default; no `__post_init__`, no default factory, no keyword-only field.
    Anything else raises TypeError when the class is defined, not later.
    """
    params = getattr(cls, "__dataclass_params__", None)
    if params is None or not params.frozen:
        raise TypeError(f"quick_init: {cls.__name__} is not a frozen dataclass")
    if hasattr(cls, "__post_init__"):
        raise TypeError(f"quick_init: {cls.__name__} has a __post_init__")
    slotted = "__slots__" in cls.__dict__
    names: dict[str, Any] = {}
    args: list[str] = []
    body: list[str] = []
    for f in dataclasses.fields(cls):  # type: ignore[arg-type]
        if not f.init or f.kw_only or f.default_factory is not dataclasses.MISSING:
            raise TypeError(f"quick_init: {cls.__name__}.{f.name} is not a plain field")
        if f.default is dataclasses.MISSING:
            args.append(f.name)
        else:
            names[f"_default_{f.name}"] = f.default
            args.append(f"{f.name}=_default_{f.name}")
        if slotted:
            names[f"_set_{f.name}"] = cls.__dict__[f.name].__set__
            body.append(f"    _set_{f.name}(self, {f.name})")
        else:
            body.append(f"    _fields_[{f.name!r}] = {f.name}")
    if not slotted:
        body.insert(0, "    _fields_ = self.__dict__")
    source = f"def __init__(self, {', '.join(args)}):\n" + "\n".join(body or ["    pass"]) + "\n"
    exec(source, names)  # the source is made of the class's own field names alone
    init = names["__init__"]
    init.__qualname__ = f"{cls.__qualname__}.__init__"
    init.__module__ = cls.__module__
    init.__doc__ = cls.__init__.__doc__
    init.__annotations__ = dict(getattr(cls.__init__, "__annotations__", {}))
    init.quick_init = True  # type: ignore[attr-defined]  # for the tests to find them all
    cls.__init__ = init  # type: ignore[misc]
    return cls
