"""files/jsoncomments: configs with comments read as commentjson reads them, without it."""

from __future__ import annotations

import json
import random
import subprocess
import sys
from pathlib import Path
from typing import Any

import commentjson
import pytest

from mle_toolbox.files.jsoncomments import uncomment

REPO = Path(__file__).resolve().parent.parent

CASES = [
    '// Base config, as in mle-toolbox\n{\n  "train_config": {"lrate": 0.1,  # step\n'
    '    "layers": [64, 64,],\n  },\n}\n',
    '{"url": "http://host/a#b", "hash": "#", "slashes": "//"} # end',
    '{"quote": "say \\"//\\" then # more"} // after',
    '{"backslash": "\\\\"} // "a quote in a comment',
    '[1, // one\n 2 # two\n, 3]',
    "[1,2,]", "[,]", "{,}", '{"a": {"b": 1,}, "c": [],}',
    "[1,\n// a comma in a comment,\n]",
    '{"a": 1, "a": 2}', "  \n// only a comment before\n[true, null, -1.5e3]",
    # refused by both:
    '{\n "a": 1,,\n}\n', '{"a":,}', "[1 2]", '{"a": 1} x', "/* block */ {}", "[1, /]",
    '{"a": "tab\there"}', "", "// nothing else",
]


def _read(text: str, how: Any) -> tuple[str, object]:
    try:
        return "ok", how(text)
    except Exception:  # both parsers refuse with errors of several types
        return "refused", None


@pytest.mark.parametrize("text", CASES)
def test_reads_what_commentjson_reads_and_refuses_what_it_refuses(text: str) -> None:
    assert _read(text, lambda t: json.loads(uncomment(t))) == _read(text, commentjson.loads)


def test_random_texts_read_as_commentjson_reads_them() -> None:
    # 3,000 texts of JSON pieces, comments, stray slashes and quotes; about one in ten
    # is valid. A difference found here once was "[,]" (commentjson reads it as []).
    pieces = ["{", "}", "[", "]", ",", ":", '"a"', '"x#y"', '"//"', '"\\\\"', '"\\""', "1",
              "2.5", "true", "null", " ", "\n", "# c\n", "// c\n", "//", "#", "/", '"']
    rng = random.Random(18)
    read = 0
    for _ in range(3000):
        text = "".join(rng.choice(pieces) for _ in range(rng.randint(1, 12)))
        want = _read(text, commentjson.loads)
        assert _read(text, lambda t: json.loads(uncomment(t))) == want, text
        read += want[0] == "ok"
    assert read > 150  # the comparison covered accepted texts, not only refusals


def test_positions_are_kept_so_errors_point_into_the_file() -> None:
    text = '{\n  "a": 1, # one\n  "b": [2,], // two\n  "c": \n}\n'
    plain = uncomment(text)
    assert len(plain) == len(text)
    assert [i for i, c in enumerate(plain) if c == "\n"] == [
        i for i, c in enumerate(text) if c == "\n"]
    with pytest.raises(json.JSONDecodeError) as err:
        json.loads(plain)
    assert (err.value.lineno, err.value.colno) == (5, 1)  # the "}" after "c":


def test_text_without_comments_or_trailing_commas_is_returned_unchanged() -> None:
    plain = '{"k": "v"}'
    assert uncomment(plain) is plain  # nothing to look for: not even copied
    text = '{"a": [1, 2], "b": "c/d#e", "f": {}}'
    assert uncomment(text) == text


def test_a_job_reads_a_commented_config_without_commentjson(tmp_path: Path) -> None:
    config = tmp_path / "c.json"
    config.write_text('// lr sweep\n{"train_config": {"lrate": 0.3,}, # fast\n'
                      ' "log_config": {}}\n')
    code = ("import sys\nfrom mle_toolbox.job.job_config import load_config\n"
            f"print(load_config({str(config)!r})['train_config'])\n"
            "print(sorted(m for m in ('commentjson', 'lark', 'json', 're') if m in sys.modules))")
    # -S: this machine's site .pth files import re at start-up; a job's own imports count.
    done = subprocess.run([sys.executable, "-S", "-c", code], capture_output=True, text=True,
                          cwd=REPO, check=True)
    assert done.stdout.splitlines() == ["{'lrate': 0.3}", "[]"]
