"""Record classes (mle_toolbox/records.py) behave as the dataclasses they replace (issue 18:
the launcher's fixed cost), and ``mle run`` no longer loads ``dataclasses`` / ``inspect``."""

from __future__ import annotations

import copy
import dataclasses
import pickle
from typing import Any, ClassVar

import pytest

from mle_toolbox import records
from mle_toolbox.records import FrozenInstanceError, field, record
from mle_toolbox.spec import JobSpec, Resources


@dataclasses.dataclass(frozen=True, slots=True)
class ViaDataclass:
    """A frozen value."""

    name: str
    seed: int = 0
    tags: tuple[str, ...] = ()
    config: dict[str, Any] = dataclasses.field(default_factory=dict, compare=False, hash=False)
    kind: ClassVar[str] = "value"


@record
class ViaRecord:
    """The same frozen value."""

    name: str
    seed: int = 0
    tags: tuple[str, ...] = ()
    config: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)
    kind: ClassVar[str] = "value"


@dataclasses.dataclass
class MutableViaDataclass:
    """A mutable value."""

    count: int
    items: list[int] = dataclasses.field(default_factory=list)


@record(frozen=False, slots=False)
class MutableViaRecord:
    """The same mutable value."""

    count: int
    items: list[int] = field(default_factory=list)


def _pair(*args: Any, **kwargs: Any) -> tuple[Any, Any]:
    return ViaDataclass(*args, **kwargs), ViaRecord(*args, **kwargs)


def test_construction_repr_and_defaults_match_the_dataclass() -> None:
    old, new = _pair("a", 3, tags=("x",), config={"lr": 0.1})
    assert repr(new) == repr(old).replace("ViaDataclass", "ViaRecord")
    assert repr(new) == "ViaRecord(name='a', seed=3, tags=('x',), config={'lr': 0.1})"
    old, new = _pair("b")
    assert (new.seed, new.tags, new.config) == (old.seed, old.tags, old.config) == (0, (), {})
    assert ViaRecord("c").config is not ViaRecord("c").config  # a fresh dict each time
    assert ViaRecord.kind == "value" and ViaRecord.__match_args__ == ViaDataclass.__match_args__
    with pytest.raises(TypeError, match="name"):
        ViaRecord()  # type: ignore[call-arg]
    with pytest.raises(TypeError, match="unexpected keyword argument 'colour'"):
        ViaRecord("a", colour=1)  # type: ignore[call-arg]


def test_equality_and_hash_leave_out_uncompared_fields() -> None:
    one, same, other = ViaRecord("a", 1, config={"x": 1}), ViaRecord("a", 1), ViaRecord("a", 2)
    assert one == same and hash(one) == hash(same) and one != other
    assert hash(one) == hash(ViaDataclass("a", 1))  # hash of the compared fields, in order
    assert one != ViaDataclass("a", 1)  # another class is never equal
    assert len({one, same, other}) == 2


def test_frozen_fields_cannot_be_assigned_or_deleted() -> None:
    value = ViaRecord("a")
    with pytest.raises(FrozenInstanceError, match="cannot assign to field 'seed'"):
        value.seed = 2  # type: ignore[misc]
    with pytest.raises(AttributeError):
        del value.name  # type: ignore[misc]
    assert issubclass(FrozenInstanceError, AttributeError)
    assert not hasattr(value, "__dict__") and ViaRecord.__slots__ == ViaDataclass.__slots__


def test_dataclasses_functions_and_pickling_work_on_records() -> None:
    value = ViaRecord("a", 1, config={"x": [1]})
    assert dataclasses.is_dataclass(value)
    assert [f.name for f in dataclasses.fields(value)] == ["name", "seed", "tags", "config"]
    assert dataclasses.replace(value, seed=5) == records.replace(value, seed=5) \
        == ViaRecord("a", 5)
    assert dataclasses.asdict(value) == records.asdict(value) == {
        "name": "a", "seed": 1, "tags": (), "config": {"x": [1]}}
    assert records.asdict(value)["config"]["x"] is not value.config["x"]  # copied, as asdict
    for copied in (pickle.loads(pickle.dumps(value)), copy.deepcopy(value), copy.copy(value)):
        assert copied == value and copied.config == {"x": [1]}


def test_a_mutable_record_is_assignable_and_unhashable() -> None:
    old, new = MutableViaDataclass(1), MutableViaRecord(1)
    new.count += 1
    new.items.append(3)
    assert repr(new) == "MutableViaRecord(count=2, items=[3])"
    assert new == MutableViaRecord(2, [3]) and new != old
    assert MutableViaRecord.__hash__ is None is MutableViaDataclass.__hash__  # type: ignore[comparison-overlap]
    assert vars(new) == {"count": 2, "items": [3]} and copy.copy(new) == new
    assert pickle.loads(pickle.dumps(new)) == new


def test_fields_may_take_any_name_the_generated_init_uses_itself() -> None:
    @record
    class Clashing:
        _set: int
        _factory: int = 2
        self_: list[int] = field(default_factory=list)

    value = Clashing(1)
    assert (value._set, value._factory, value.self_) == (1, 2, [])


def test_a_mutable_default_is_refused_as_dataclasses_does() -> None:
    with pytest.raises(ValueError, match="mutable default <class 'list'> for field items"):
        @record
        class Bad:
            items: list[int] = []  # noqa: RUF012 - the mistake under test


def test_project_records_keep_their_values() -> None:
    job = JobSpec(run_id="a", seed=1, config_hash="h")
    assert job == JobSpec("a", 1, "h") and repr(job).startswith("JobSpec(run_id='a', seed=1")
    assert records.replace(Resources(), cores=4).cores == 4
    match job:
        case JobSpec(run_id, seed):
            assert (run_id, seed) == ("a", 1)


def test_a_dataclass_can_extend_a_record() -> None:
    # The search strategies' options are dataclasses extending the SearchOptions record.
    @dataclasses.dataclass(frozen=True, slots=True)
    class Extended(ViaRecord):
        extra: int = 7

    value = Extended("a", extra=8)
    assert repr(value).endswith("Extended(name='a', seed=0, tags=(), config={}, extra=8)")
    assert value == Extended("a", extra=8) != Extended("a")
    assert dataclasses.replace(value, seed=2).seed == 2
    with pytest.raises(AttributeError):
        value.extra = 1  # type: ignore[misc]


def test_an_init_made_from_a_shared_template_is_the_compiled_one() -> None:
    # Records without a default_factory get __init__ from a template compiled once per
    # field count (records._from_template): names, defaults, errors as a dataclass's.
    import inspect

    @dataclasses.dataclass(frozen=True)
    class Plain:
        name: str
        seed: int = 0
        note: str = "n"

    @record
    class Templated:
        name: str
        seed: int = 0
        note: str = "n"

    @record(frozen=False, slots=False)
    class Checked:
        low: int
        high: int = 9

        def __post_init__(self) -> None:
            if self.low > self.high:
                raise ValueError(f"{self.low} > {self.high}")

    def params(cls: type) -> list[tuple[str, object, object]]:
        return [(p.name, p.kind, p.default) for p in inspect.signature(cls).parameters.values()]

    assert params(Templated) == params(Plain)  # annotations: never generated (as before)
    assert Templated.__init__.__defaults__ == (0, "n")
    assert Templated.__init__.__code__.co_varnames == ("self", "name", "seed", "note")
    assert repr(Templated("a", note="m")).endswith("Templated(name='a', seed=0, note='m')")
    assert Templated("a", 1) == Templated(name="a", seed=1) != Templated("a", 2)
    for call in (lambda cls: cls(), lambda cls: cls("a", 1, "m", 2),
                 lambda cls: cls("a", seed=1, colour=2), lambda cls: cls("a", 1, seed=2)):
        with pytest.raises(TypeError) as ours:
            call(Templated)
        with pytest.raises(TypeError) as theirs:
            call(Plain)
        assert str(ours.value).split("__init__()")[1] == str(theirs.value).split(
            "__init__()")[1]
    with pytest.raises(FrozenInstanceError):
        Templated("a").seed = 2  # type: ignore[misc]
    value = Checked(1)
    value.high = 3
    assert (value.low, value.high) == (1, 3)
    with pytest.raises(ValueError, match="5 > 2"):
        Checked(5, 2)
    assert records._from_template(records.fields(Templated), {}, frozen=True,
                                  post_init=False) is not None
    assert records._from_template(records.fields(ViaRecord), {}, frozen=True,
                                  post_init=False) is None  # a default_factory: compiled
