"""Record classes: what ``@dataclass(frozen=True, slots=True)`` makes, for less at import.

Every ``mle run`` creates some fifty record classes before its first job starts. With
``dataclasses`` each costs ~1.4 ms (six methods, each compiled from its own source text)
and the module pulls in ``inspect`` (~11 ms): about a quarter of the launcher's own CPU
time (issue 18). ``record`` compiles a class's ``__init__``, ``__repr__``, ``__eq__`` and
``__hash__`` from one source text and shares the rest, so a class costs ~0.2 ms.

The classes behave as their dataclass spelling did: the same constructor (positional or
keyword, defaults, ``field(default_factory=...)``), repr, equality (same class, fields in
order), hash (frozen: of the compared fields; mutable: unhashable), frozen assignment
raising ``FrozenInstanceError`` (an ``AttributeError``), ``__slots__``, ``__match_args__``,
pickling. ``dataclasses.replace``, ``fields``, ``asdict`` and ``is_dataclass`` still work
on them: ``__dataclass_fields__`` is built, importing ``dataclasses``, on first use only.
Type checkers see a dataclass (``dataclass_transform``).
"""

from __future__ import annotations

import builtins
from collections.abc import Callable
from operator import attrgetter
from types import CodeType, FunctionType

TYPE_CHECKING = False  # typing's flag without importing typing on mle run's path (issue 18)
if TYPE_CHECKING:
    from typing import Any, TypeVar, overload

    from typing_extensions import dataclass_transform

    T = TypeVar("T")
else:
    def dataclass_transform(**_: object) -> Callable[[Any], Any]:
        """Only type checkers read it (typing has it from Python 3.11 only)."""
        return lambda decorated: decorated


class _Missing:
    __slots__ = ()

    def __repr__(self) -> str:
        return "MISSING"


MISSING: Any = _Missing()
_HAS_FACTORY: Any = _Missing()


class FrozenInstanceError(AttributeError):
    """Assignment to a field of a frozen record (dataclasses raises its namesake)."""


class Field:
    """One field of a record: its name, default (or default factory) and whether it is
    compared, hashed and shown (``hash=None``: hashed when compared, as in dataclasses)."""

    __slots__ = ("compare", "default", "default_factory", "hash", "name", "repr", "type")

    def __init__(self, *, default: Any, default_factory: Any, compare: bool,
                 hash: bool | None, repr: bool) -> None:
        if default is not MISSING and default_factory is not MISSING:
            raise ValueError("cannot specify both default and default_factory")
        self.name = ""
        self.type: Any = None
        self.default = default
        self.default_factory = default_factory
        self.compare = compare
        self.hash = hash
        self.repr = repr

    @property
    def hashed(self) -> bool:
        """Whether the field is part of the hash."""
        return self.compare if self.hash is None else self.hash


def field(*, default: Any = MISSING, default_factory: Callable[[], Any] | Any = MISSING,
          compare: bool = True, hash: bool | None = None,
          repr: bool = True) -> Any:
    """A field with options, as ``dataclasses.field`` (the options records use)."""
    return Field(default=default, default_factory=default_factory, compare=compare,
                 hash=hash, repr=repr)


if TYPE_CHECKING:  # record's two signatures, for type checkers only (no typing at run time)
    @overload
    @dataclass_transform(frozen_default=True, field_specifiers=(field,))
    def record(cls: type[T], /) -> type[T]: ...

    @overload
    def record(*, frozen: bool = True, slots: bool = True) -> Callable[[type[T]], type[T]]: ...


def record(cls: type[T] | None = None, /, *, frozen: bool = True,
           slots: bool = True) -> type[T] | Callable[[type[T]], type[T]]:
    """``@record`` is ``@dataclass(frozen=True, slots=True)``; ``@record(frozen=False,
    slots=False)`` is a plain ``@dataclass``."""
    def wrap(klass: type[T]) -> type[T]:
        return _make(klass, frozen=frozen, slots=slots)

    return wrap if cls is None else wrap(cls)


def fields(obj: Any) -> tuple[Field, ...]:
    """The fields of a record class or instance, in order."""
    found: tuple[Field, ...] = obj.__record_fields__
    return found


def replace(obj: T, /, **changes: Any) -> T:
    """A copy of the record ``obj`` with ``changes`` (``dataclasses.replace``)."""
    for item in fields(obj):
        if item.name not in changes:
            changes[item.name] = getattr(obj, item.name)
    return type(obj)(**changes)


def asdict(obj: Any) -> dict[str, Any]:
    """The fields of the record ``obj`` as a dict, records inside it as dicts too, and
    other values copied (``dataclasses.asdict``)."""
    return {item.name: _as_plain(getattr(obj, item.name)) for item in fields(obj)}


def _as_plain(value: Any) -> Any:
    if hasattr(type(value), "__record_fields__"):
        return asdict(value)
    if isinstance(value, (str, int, float, bool, type(None))):
        return value
    if isinstance(value, tuple) and hasattr(value, "_fields"):  # a named tuple
        return type(value)(*[_as_plain(v) for v in value])
    if isinstance(value, (list, tuple)):
        return type(value)(_as_plain(v) for v in value)
    if isinstance(value, dict):
        return type(value)((_as_plain(k), _as_plain(v)) for k, v in value.items())
    import copy

    return copy.deepcopy(value)


def _make(cls: type[T], *, frozen: bool, slots: bool) -> type[T]:
    """The record class of ``cls``: methods compiled once; with slots a new class (slots
    cannot be added to a class), else ``cls`` itself."""
    own = _own_fields(cls)
    inherited: dict[str, Field] = {}
    for base in reversed(cls.__mro__[1:]):
        for item in base.__dict__.get("__record_fields__", ()):
            inherited[item.name] = item
    every = {**inherited, **{item.name: item for item in own}}
    all_fields = tuple(every.values())
    namespace = dict(cls.__dict__)
    for item in own:
        namespace.pop(item.name, None)  # defaults live in __init__, not as class attributes
    methods = _compile(cls, all_fields, frozen=frozen,
                       post_init=hasattr(cls, "__post_init__"))
    for name, method in methods.items():
        if name not in cls.__dict__:
            namespace[name] = method
    if frozen:
        namespace.setdefault("__setattr__", _frozen_setattr)
        namespace.setdefault("__delattr__", _frozen_delattr)
        if slots:
            namespace.setdefault("__getstate__", _getstate)
            namespace.setdefault("__setstate__", _setstate)
    elif "__eq__" not in cls.__dict__ and "__hash__" not in cls.__dict__:
        namespace["__hash__"] = None  # mutable with equality: unhashable, as dataclasses
    namespace["__record_fields__"] = all_fields
    namespace["__match_args__"] = tuple(every)
    namespace["__dataclass_fields__"] = _DataclassFields(all_fields)
    namespace["__dataclass_params__"] = _Params(frozen=frozen, slots=slots)
    if not slots:
        return _in_place(cls, namespace, own)
    namespace["__slots__"] = tuple(item.name for item in own if item.name not in inherited)
    namespace.pop("__dict__", None)
    namespace.pop("__weakref__", None)
    metaclass: Any = type(cls)
    made: type[T] = metaclass(cls.__name__, cls.__bases__, namespace)
    made.__qualname__ = cls.__qualname__
    return made


def _in_place(cls: type[T], namespace: dict[str, Any], own: list[Field]) -> type[T]:
    """``cls`` itself given the record's methods, as dataclasses does without slots."""
    for name, value in namespace.items():
        if cls.__dict__.get(name, MISSING) is not value:
            setattr(cls, name, value)
    for item in own:  # class attributes: the plain defaults only
        if item.default is not MISSING:
            setattr(cls, item.name, item.default)
        elif item.name in cls.__dict__:
            delattr(cls, item.name)
    return cls


def _own_fields(cls: type) -> list[Field]:
    """The fields ``cls`` annotates itself (ClassVar annotations are not fields)."""
    found = []
    # The class's own __annotations__ (inspect.get_annotations would import inspect).
    for name, kind in cls.__dict__.get("__annotations__", {}).items():  # noqa: RUF063
        spelled = kind if isinstance(kind, str) else repr(kind)
        if spelled.startswith(("ClassVar", "typing.ClassVar")):
            continue
        value = cls.__dict__.get(name, MISSING)
        item = value if isinstance(value, Field) else Field(
            default=value, default_factory=MISSING, compare=True, hash=None, repr=True)
        if type(item.default).__hash__ is None:  # list, dict, set: shared by every object
            raise ValueError(f"mutable default {type(item.default)} for field {name} is not "
                             "allowed: use default_factory")
        item.name, item.type = name, kind
        found.append(item)
    return found


def _compile(cls: type, every: tuple[Field, ...], *, frozen: bool,
             post_init: bool) -> dict[str, Any]:
    """``__init__`` compiled (as fast to call as a dataclass's); ``__repr__``, ``__eq__``
    and ``__hash__`` (frozen) as closures over the field names, which cost no compile."""
    # Names of the text's own globals are dunder names, which no field takes.
    scope: dict[str, Any] = {"__factory__": _HAS_FACTORY, "__set__": object.__setattr__}
    params, body = ["self"], []
    for item in every:
        name = item.name
        if item.default is not MISSING:
            scope[f"__default_{name}__"] = item.default
            params.append(f"{name}=__default_{name}__")
        elif item.default_factory is not MISSING:
            scope[f"__factory_{name}__"] = item.default_factory
            params.append(f"{name}=__factory__")
            body.append(f"  if {name} is __factory__: {name} = __factory_{name}__()")
        else:
            params.append(name)
        body.append(f"  __set__(self, {name!r}, {name})" if frozen
                    else f"  self.{name} = {name}")
    if post_init:
        body.append("  self.__post_init__()")
    init = _from_template(every, scope, frozen=frozen, post_init=post_init)
    if init is None:
        text = "\n".join([f"def __init__({', '.join(params)}):", *(body or ["  pass"])])
        exec(text, scope)
        init = scope["__init__"]
    methods: dict[str, Any] = {"__init__": init, **_shared(
        shown=tuple(item.name for item in every if item.repr),
        compared=_values([item.name for item in every if item.compare]),
        hashed=_values([item.name for item in every if item.hashed]), frozen=frozen)}
    for method in methods.values():
        method.__qualname__ = f"{cls.__qualname__}.{method.__name__}"
    return methods


# Compiled __init__ code by (number of fields, frozen, __post_init__): most classes share
# one, and a copy with the field names put in costs ~5 us, a compile ~0.2 ms (a launch
# makes ~45 record classes before its first job; issue 18).
_TEMPLATES: dict[tuple[int, bool, bool], CodeType] = {}


def _template(count: int, *, frozen: bool, post_init: bool) -> CodeType:
    """The code of ``__init__(self, __field0__, ...)`` setting each field (placeholders)."""
    key = (count, frozen, post_init)
    code = _TEMPLATES.get(key)
    if code is None:
        names = [f"__field{index}__" for index in range(count)]
        body = [f"  __set__(self, {name!r}, {name})" if frozen else f"  self.{name} = {name}"
                for name in names]
        if post_init:
            body.append("  self.__post_init__()")
        scope: dict[str, Any] = {}
        exec("\n".join([f"def __init__({', '.join(['self', *names])}):",
                        *(body or ["  pass"])]), scope)
        code = _TEMPLATES[key] = scope["__init__"].__code__
    return code


def _from_template(every: tuple[Field, ...], scope: dict[str, Any], *, frozen: bool,
                   post_init: bool) -> Callable[..., None] | None:
    """The ``__init__`` the source text would compile to, made from a shared template's
    code with the field names put in and the defaults given to the function; None where
    the text must be compiled: a default_factory (a line of its own), or a field without
    a default after one with (the compile's error tells it)."""
    defaults = [item.default for item in every if item.default is not MISSING]
    if any(item.default_factory is not MISSING for item in every) or any(
            item.default is MISSING for item in every[len(every) - len(defaults):]):
        return None
    real = {f"__field{index}__": item.name for index, item in enumerate(every)}
    template = _template(len(every), frozen=frozen, post_init=post_init)
    code = template.replace(
        co_varnames=tuple(real.get(name, name) for name in template.co_varnames),
        co_names=tuple(real.get(name, name) for name in template.co_names),
        co_consts=tuple(real.get(value, value) if isinstance(value, str) else value
                        for value in template.co_consts))
    scope.setdefault("__builtins__", builtins)
    init: Callable[..., None] = FunctionType(code, scope, "__init__", tuple(defaults) or None)
    return init


def _values(names: list[str]) -> Callable[[Any], tuple[Any, ...]]:
    """The tuple of the named attributes of an object (attrgetter: in C)."""
    if len(names) >= 2:
        getter: Callable[[Any], tuple[Any, ...]] = attrgetter(*names)
        return getter
    if names:
        one = attrgetter(names[0])
        return lambda obj: (one(obj),)
    return lambda obj: ()


def _shared(*, shown: tuple[str, ...], compared: Callable[[Any], tuple[Any, ...]],
            hashed: Callable[[Any], tuple[Any, ...]], frozen: bool) -> dict[str, Any]:
    def __repr__(self: Any) -> str:  # noqa: N807 - the method it becomes
        inner = ", ".join(f"{name}={getattr(self, name)!r}" for name in shown)
        return f"{self.__class__.__qualname__}({inner})"

    def __eq__(self: Any, other: object) -> bool:  # noqa: N807
        if other.__class__ is self.__class__:
            return compared(self) == compared(other)
        return NotImplemented

    def __hash__(self: Any) -> int:  # noqa: N807
        return hash(hashed(self))

    return ({"__repr__": __repr__, "__eq__": __eq__, "__hash__": __hash__} if frozen
            else {"__repr__": __repr__, "__eq__": __eq__})


def _frozen_setattr(self: Any, name: str, value: Any) -> None:
    raise FrozenInstanceError(f"cannot assign to field {name!r}")


def _frozen_delattr(self: Any, name: str) -> None:
    raise FrozenInstanceError(f"cannot delete field {name!r}")


def _getstate(self: Any) -> list[Any]:
    return [getattr(self, item.name) for item in fields(self)]


def _setstate(self: Any, state: list[Any]) -> None:
    for item, value in zip(fields(self), state, strict=True):
        object.__setattr__(self, item.name, value)


class _Params:
    """``__dataclass_params__``: what a dataclass subclassing a record reads of it."""

    def __init__(self, *, frozen: bool, slots: bool) -> None:
        self.init = self.repr = self.eq = True
        self.order = self.unsafe_hash = self.kw_only = self.weakref_slot = False
        self.match_args = True
        self.frozen, self.slots = frozen, slots

    def __repr__(self) -> str:
        return f"_Params(frozen={self.frozen}, slots={self.slots})"


class _DataclassFields:
    """``__dataclass_fields__``, built on first use, so the functions of ``dataclasses``
    (``replace``, ``fields``, ``asdict``, ``is_dataclass``) work on records too."""

    def __init__(self, every: tuple[Field, ...]) -> None:
        self._fields = every
        self._built: dict[str, Any] | None = None

    def __get__(self, obj: object, owner: type | None = None) -> dict[str, Any]:
        if self._built is None:
            import dataclasses

            built = {}
            for item in self._fields:
                options: dict[str, Any] = {"compare": item.compare, "hash": item.hash,
                                           "repr": item.repr}
                if item.default is not MISSING:
                    options["default"] = item.default
                if item.default_factory is not MISSING:
                    options["default_factory"] = item.default_factory
                spec = dataclasses.field(kw_only=False, **options)
                spec.name, spec.type = item.name, item.type
                spec._field_type = dataclasses._FIELD  # type: ignore[attr-defined]
                built[item.name] = spec
            self._built = built
        return self._built
