"""config/plain_yaml.py reads the plain YAML of most meta YAMLs without PyYAML: whatever
it accepts, it reads as ``yaml.safe_load`` does (values and their exact types) with the
lines PyYAML's nodes give; everything else it leaves to PyYAML (issue 18)."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from mle_toolbox.config import source
from mle_toolbox.config.plain_yaml import read_plain
from mle_toolbox.config.source import load_yaml
from mle_toolbox.errors import ConfigError
from tests.conftest import REPO


def _same(ours: Any, theirs: Any) -> bool:
    """Equal, with the same types all the way down (True == 1 and 1 == 1.0 in Python)."""
    if type(ours) is not type(theirs):
        return False
    if isinstance(ours, dict):
        return list(ours) == list(theirs) and all(_same(ours[k], theirs[k]) for k in ours)
    if isinstance(ours, list):
        return len(ours) == len(theirs) and all(map(_same, ours, theirs))
    return bool(ours == theirs) or repr(ours) == repr(theirs)


def _pyyaml_source(path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Any, source.Source]:
    with monkeypatch.context() as patch:
        patch.setattr(source, "read_plain", lambda text: None)
        return load_yaml(path, what="meta YAML")


def _item_paths(data: Any, path: tuple[str | int, ...] = ()) -> list[tuple[str | int, ...]]:
    if isinstance(data, dict):
        return [p for key, value in data.items() for p in _item_paths(value, (*path, key))]
    if isinstance(data, list):
        return [(*path, index) for index in range(len(data) + 1)]  # one past the end too
    return []


def _check(text: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> bool:
    """Whether read_plain accepted ``text``; if so, that it read it as PyYAML does."""
    parsed = read_plain(text)
    if parsed is None:
        return False
    meta = tmp_path / "meta.yaml"
    meta.write_text(text)
    assert _same(parsed[0], yaml.safe_load(text)), text
    data, ours = load_yaml(meta, what="meta YAML")
    theirs_data, theirs = _pyyaml_source(meta, monkeypatch)
    assert _same(data, theirs_data) and ours.lines == theirs.lines, text
    for path in _item_paths(data):
        assert ours.line(path) == theirs.line(path), (text, path)
    return True


def test_the_repository_s_plain_yaml_files_read_as_pyyaml_reads_them(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    files = sorted(p for p in REPO.glob("*/**/*.yaml") if ".git" not in p.parts)
    accepted = [p for p in files if _check(p.read_text(), tmp_path, monkeypatch)]
    assert len(accepted) >= 10  # most of them are plain
    assert REPO / "templates" / "project" / "meta_seeds.yaml" in accepted


# Values: the plain ones, and what YAML 1.1 reads otherwise (booleans, octal, sexagesimal,
# dates, exponents without a dot, special floats, escapes, anchors, tags, comments glued
# to a word, flow mappings, nested lists): the reader must refuse or read each as PyYAML.
VALUES = ["0", "7", "-3", "12345678901234567890", "-0", "0.5", "-0.0", "3.25", "10.000",
          "1e3", "1.5e+3", "1.", ".5", "012", "0x1F", "0b101", "1_000", "+5", "1:30",
          "190:20:30", "2001-12-14", "2001-12-14t21:59:43.10-05:00", ".inf", "-.inf", ".nan",
          "NaN", "inf", "true", "True", "TRUE", "tRue", "false", "FALSE", "yes", "No", "on",
          "OFF", "y", "n", "null", "Null", "NULL", "~", "nUll", "train.py", "runs/seeds",
          "/abs/path", "_private", "a-b", "e5", "x1.5", "a#b", "a # b", "a b", "a: b",
          "'single'", "'it''s'", "''", "\"double\"", "\"tab\\there\"", "\"\"", "'a # b'",
          "\"a'b\"", "'a\"b'", "'unclosed", "&anchor x", "*alias", "!!str 3", "!!int '3'",
          "[a, b]", "[1, 2.5, -3]", "[]", "[ a , b ]", "[a,b]", "[a, [b]]", "[a, b", "{a: 1}",
          "[a, yes]", "[a, '#']", "[a, b,]", "- x", "|", ">", "<<", "=", "%", "@x", "`x`",
          "\u00e9t\u00e9", "a\tb"]
KEYS = ["a", "b", "num_seeds", "config-fnames", "e1", "yes", "On", "null", "1", "_k", "a b",
        "'q'", "<<", "?"]


PLAIN = {"0", "7", "-3", "12345678901234567890", "-0", "0.5", "-0.0", "3.25", "10.000",
         "true", "True", "FALSE", "null", "Null", "~", "nUll", "tRue", "y", "n", "NaN", "inf",
         "train.py", "runs/seeds", "/abs/path", "_private", "a-b", "e5", "x1.5", "'single'",
         "''", "\"double\"", "\"\"", "\"a'b\"", "'a\"b'", "[a, b]", "[1, 2.5, -3]", "[]",
         "[ a , b ]", "[a,b]"}


def _value(rng: random.Random) -> str:
    """Mostly a plain value (so that many documents are read), sometimes any other."""
    return rng.choice(sorted(PLAIN) if rng.random() < 0.93 else VALUES)


def _key(rng: random.Random) -> str:
    return rng.choice(KEYS[:5] if rng.random() < 0.95 else KEYS)


def _document(rng: random.Random, depth: int = 0, indent: int = 0) -> list[str]:
    lines, step = [], rng.choice([2, 2, 4, 1])
    for _ in range(rng.randint(1, 4)):
        key, pad = _key(rng), " " * indent
        kind = rng.random()
        if kind < 0.55 or depth >= 2:
            comment = rng.choice(["", "", "", "", "  # note", " #x", "#y"])
            lines.append(f"{pad}{key}:{rng.choice([' ', ' ', '  '])}{_value(rng)}{comment}")
        elif kind < 0.75:
            lines.append(f"{pad}{key}:")
            lines.extend(_document(rng, depth + 1, indent + step))
        elif kind < 0.9:
            lines.append(f"{pad}{key}:{rng.choice(['', ' # list'])}")
            item_pad = " " * (indent + rng.choice([0, step]))
            lines.extend(f"{item_pad}- {_value(rng)}" for _ in range(rng.randint(1, 3)))
        elif rng.random() < 0.3:
            lines.append(rng.choice(["", "# comment", "   ", f"{pad}{key}:", "---",
                                     f"{' ' * (indent + 1)}{key}: 1", f"{pad}- stray"]))
    return lines


def test_a_seeded_fuzz_of_documents_reads_as_pyyaml_or_is_left_to_it(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    rng = random.Random(18)
    accepted = refused = 0
    for _ in range(3000):
        text = "\n".join(_document(rng)) + rng.choice(["\n", "", "\n\n"])
        if _check(text, tmp_path, monkeypatch):
            accepted += 1
        else:
            refused += 1
    assert accepted > 300 and refused > 300  # both paths exercised


@pytest.mark.parametrize("text", [
    "a: 1\na: 2\n",  # a duplicate key: PyYAML's path words the error
    "a:\n  b: 1\n c: 2\n",  # an indentation PyYAML refuses
    "a: [b, c\n",  # an unclosed list
])
def test_what_it_refuses_is_still_reported_by_the_pyyaml_path(
        text: str, tmp_path: Path) -> None:
    assert read_plain(text) is None
    meta = tmp_path / "meta.yaml"
    meta.write_text(text)
    with pytest.raises(ConfigError) as caught:
        load_yaml(meta, what="meta YAML")
    assert str(caught.value).startswith(f"{meta.name}: line ") or "meta.yaml" in str(
        caught.value)


def test_a_document_nested_thousands_deep_is_left_to_pyyaml() -> None:
    text = "".join(f"{' ' * level}k:\n" for level in range(5000)) + " " * 5000 + "k: 1\n"
    assert read_plain(text) is None


def test_an_item_s_line_comes_from_the_plain_reader(tmp_path: Path) -> None:
    meta = tmp_path / "meta.yaml"
    meta.write_text("a:\n  xs: [1, 2]\n  ys:\n  - p\n  - q\nb: 3\n")
    data, src = load_yaml(meta, what="meta YAML")
    assert data == {"a": {"xs": [1, 2], "ys": ["p", "q"]}, "b": 3}
    assert src.sequences == {("a", "xs"): (1, 1), ("a", "ys"): (3, 4)}
    assert [src.line(("a", "ys", 1)), src.line(("a", "xs", 0)), src.line(("b",))] == [5, 2, 6]
    assert src.line(("a", "ys", 2)) == 3  # no such item: the list's key


_PROBE = """\
import json, sys
from mle_toolbox.cli import main
code = main(sys.argv[1:])
print(json.dumps({"code": code, "yaml": "yaml" in sys.modules}))
"""


@pytest.mark.parametrize(("extra", "imported"), [("", False), ("  purpose: yes\n", True)])
def test_a_plain_meta_yaml_launches_without_importing_pyyaml(
        tmp_path: Path, extra: str, imported: bool) -> None:
    (tmp_path / "train.py").write_text("import sys\n")
    (tmp_path / "c.json").write_text('{"train_config": {"lrate": 0.1}}')
    (tmp_path / "meta.yaml").write_text(
        "meta_job_args:\n  experiment_type: multiple-configs\n  base_train_fname: train.py\n"
        f"  experiment_dir: out\n{extra}multi_config_args:\n  config_fnames: [c.json]\n"
        "  num_seeds: 2\n")
    site = str(Path(yaml.__file__).resolve().parent.parent)
    done = subprocess.run(
        [sys.executable, "-S", "-c", _PROBE, "run", "meta.yaml", "--dry-run"], cwd=tmp_path,
        capture_output=True, text=True, timeout=120, check=False,
        env={"PATH": os.environ["PATH"], "PYTHONPATH": f"{REPO}{os.pathsep}{site}"})
    assert json.loads(done.stdout.splitlines()[-1]) == {"code": 0, "yaml": imported}, done.stderr
