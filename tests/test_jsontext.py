"""files/jsontext: the job's JSON without ``import json`` gives json's own results."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest

from mle_toolbox.files import jsontext
from mle_toolbox.files.atomic import dumps_json

REPO = Path(__file__).resolve().parent.parent

TEXTS = [
    '{"train_config": {"lrate": 0.1, "layers": [64, 64]}, "log_config": {}}',
    '  \n\t{"a": 1}\r\n ', "[]", "{}", '"\\u00e9\\ud83d\\ude00 tab\\t"', "-0", "1e400",
    "123456789012345678901234567890", '[1.5e-7, -2E+3, 0.0, true, false, null]',
    '{"nan": NaN, "inf": Infinity, "ninf": -Infinity}', '{"a": {"b": {"c": [[], [{}]]}}}',
    '{"dup": 1, "dup": 2}', '"\\/\\b\\f\\n\\r"',
]
BAD = ["", " ", "{", '{"a": 1,}', '{"a": 1} x', "[1 2]", "nul", "\ufeff{}", '"\x01"',
       '{"a": 1}{"b": 2}', "// comment\n{}", "'single'", "[1,]"]


@pytest.mark.parametrize("text", TEXTS)
def test_loads_gives_jsons_value(text: str) -> None:
    got, want = jsontext.loads(text), json.loads(text)
    assert repr(got) == repr(want)  # repr: NaN is not equal to itself
    assert type(got) is type(want)


@pytest.mark.parametrize("text", BAD)
def test_loads_raises_jsons_own_error(text: str) -> None:
    with pytest.raises(json.JSONDecodeError) as want:
        json.loads(text)
    with pytest.raises(json.JSONDecodeError) as got:
        jsontext.loads(text)
    assert (str(got.value), got.value.pos) == (str(want.value), want.value.pos)


def _default(value: object) -> object:
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    raise TypeError(f"no JSON for {type(value).__name__}")


VALUES = [
    {"state": "running", "start": 1764640000.123456, "host": "node-1", "pid": 42, "seed": 3,
     "config": None, "attempt": 1, "error": "ValueError: \u00e9 \"q\" \n"},
    {"time": {"step": 0, "epoch": 1.0}, "stats": {"loss": 0.25, "acc": [1, 2]}},
    {"paths": ["a/b", "c"], "empty": [], "flag": True, "off": False, "tuple": (1, "x")},
    {}, [], "text", 7, 0.1, None, True, [{"a": [1, {"b": None}]}], {"p": Path("/x/y")},
    {"nested": {"deep": {}}}, {"lst": [[1], []]}, {"big": 10**30, "neg": -0.0, "tiny": 5e-324},
]


@pytest.mark.parametrize("indent", [None, 2, 4])
@pytest.mark.parametrize("value", VALUES, ids=range(len(VALUES)))
def test_dumps_gives_jsons_text(value: object, indent: int | None) -> None:
    want = json.dumps(value, indent=indent, allow_nan=False, default=_default)
    assert jsontext.dumps(value, indent=indent, default=_default) == want


@pytest.mark.parametrize("indent", [None, 2])
def test_dumps_refuses_what_json_refuses(indent: int | None) -> None:
    for bad in ({"x": math.nan}, [math.inf], {"k": object()}, {(1, 2): 3}):
        with pytest.raises((ValueError, TypeError)) as want:
            json.dumps(bad, indent=indent, allow_nan=False, default=_default)
        with pytest.raises(want.type):
            jsontext.dumps(bad, indent=indent, default=_default)


def test_a_failed_dump_leaves_no_marker_behind() -> None:
    # json's circular-reference markers: an encoder reused after a failure would keep the
    # failed call's containers in them. Each call makes its own, as json.dumps does.
    shared: list[object] = [1]
    with pytest.raises(TypeError):
        jsontext.dumps({"a": shared, "b": object()}, indent=None, default=_default)
    assert jsontext.dumps({"a": shared, "again": shared}, indent=None,
                          default=_default) == '{"a": [1], "again": [1]}'
    loop: list[object] = []
    loop.append(loop)
    with pytest.raises(ValueError, match="Circular reference"):
        jsontext.dumps(loop, indent=None, default=_default)


def test_dumps_json_still_writes_nan_as_null() -> None:
    assert dumps_json({"loss": math.nan, "ok": 1.5}, indent=2) == (
        '{\n  "loss": null,\n  "ok": 1.5\n}')


def test_neither_direction_imports_json_or_re(tmp_path: Path) -> None:
    code = ("import sys\nfrom mle_toolbox.files import jsontext\n"
            "v = jsontext.loads('{\"a\": [1, 2.5, \"x\"], \"b\": null}')\n"
            "t = jsontext.dumps({'s': 'running', 'l': [1]}, indent=2, default=str)\n"
            "u = jsontext.dumps(v, indent=None, default=str)\n"
            "print(sorted({'json', 're', 'enum'} & set(sys.modules)), repr(t), u)")
    done = subprocess.run([sys.executable, "-S", "-c", code], capture_output=True, text=True,
                          check=True, timeout=30, cwd=tmp_path,
                          env={**os.environ, "PYTHONPATH": str(REPO)})
    assert done.stdout.strip() == (
        "[] '{\\n  \"s\": \"running\",\\n  \"l\": [\\n    1\\n  ]\\n}' "
        '{"a": [1, 2.5, "x"], "b": null}')


def test_a_scanner_that_cannot_be_made_leaves_json_to_do_it(
        monkeypatch: pytest.MonkeyPatch) -> None:
    # A Python whose C scanner reads its context differently: json then parses, and
    # importing the module does not fail.
    import _json

    def refuse(context: object) -> None:
        raise TypeError("the context changed")

    monkeypatch.setattr(_json, "make_scanner", refuse)
    assert jsontext._scanner() is None
    monkeypatch.setattr(jsontext, "_scan", None)
    assert jsontext.loads(' {"a": [1, 2.5]} ') == {"a": [1, 2.5]}
