"""The fast YAML path (libyaml) is used only where it cannot crash, and reads like PyYAML's."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from mle_toolbox.config.source import C_PARSER_MAX_DEPTH, load_yaml, nesting_bound

ROOT = Path(__file__).resolve().parent.parent


def _depth(value: Any) -> int:
    """How deep the collections of loaded data nest (a scalar is 0)."""
    if isinstance(value, dict):
        return 1 + max((_depth(v) for v in value.values()), default=0)
    if isinstance(value, list):
        return 1 + max((_depth(v) for v in value), default=0)
    return 0


NESTED_DOCUMENTS = [
    "a: 1\n",
    "- - - - x\n",
    "- a:\n  - b:\n    - c\n",
    "k:\n- a\n- b: {c: [1, [2, [3]]]}\n",
    "a:\n  b:\n    c:\n      d:\n        e: 1\n",
    "? a\n: - b\n  - - c\n",
    "a: [1, {b: [2, {c: 3}]}]\n",
    "-\n  -\n    -\n      - 1\n",
    "x: |\n      text\n        deeper text\n",
    "a:\n- - - b:\n      - - c\n",
]


@pytest.mark.parametrize("text", NESTED_DOCUMENTS)
def test_nesting_bound_is_never_below_the_real_depth(text: str) -> None:
    data = yaml.safe_load(text)
    assert _depth(data) <= nesting_bound(text), (text, _depth(data))


def test_every_shipped_meta_yaml_is_shallow_enough_for_the_fast_parser() -> None:
    metas = sorted([*ROOT.glob("experiments/**/*.yaml"), *ROOT.glob("examples/**/*.yaml")])
    assert len(metas) >= 10
    bounds = {str(p.relative_to(ROOT)): nesting_bound(p.read_text()) for p in metas}
    assert max(bounds.values()) <= C_PARSER_MAX_DEPTH, bounds


@pytest.mark.parametrize("name", sorted(
    str(p.relative_to(ROOT)) for p in [*ROOT.glob("experiments/**/*.yaml"),
                                        *ROOT.glob("examples/**/*.yaml")]))
def test_both_parsers_give_the_same_data_and_lines(name: str) -> None:
    path = ROOT / name
    data, src = load_yaml(path, what="meta YAML")
    assert data == yaml.safe_load(path.read_text())
    loader = yaml.SafeLoader(path.read_text())
    node = loader.get_single_node()
    loader.dispose()
    if node is not None and isinstance(node, yaml.MappingNode):
        first_key = node.value[0][0]
        assert src.lines[(first_key.value,)] == first_key.start_mark.line + 1


@pytest.mark.parametrize("text", [
    "a: " + "[" * 30_000 + "]" * 30_000 + "\n",
    "".join(" " * i + "a:\n" for i in range(3_000)) + " " * 3_000 + "1\n",
], ids=["flow-30000", "block-3000"])
def test_documents_that_crash_libyaml_are_refused_with_a_message(tmp_path: Path,
                                                                 text: str) -> None:
    # libyaml's composer dies with SIGSEGV at this depth; the check must keep it away.
    path = tmp_path / "deep.yaml"
    path.write_text(text)
    code = ("import sys; from pathlib import Path; from mle_toolbox.errors import ConfigError\n"
            "from mle_toolbox.config.source import load_yaml\n"
            "try:\n    load_yaml(Path(sys.argv[1]), what='meta YAML')\n"
            "except ConfigError as err:\n    print(err)\n")
    result = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True,
                            text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip().endswith(
        "deep.yaml: nested too deeply to read (thousands of levels); no config needs that")


def test_a_syntax_error_is_worded_by_the_python_parser(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("a: [1, 2\nb: 3\n")
    with pytest.raises(Exception) as caught:
        load_yaml(path, what="meta YAML")
    expected = yaml.SafeLoader("a: [1, 2\nb: 3\n")
    with pytest.raises(yaml.MarkedYAMLError) as python_error:
        expected.get_single_node()
    expected.dispose()
    assert str(caught.value).endswith(f"YAML syntax error: {python_error.value.problem}")
