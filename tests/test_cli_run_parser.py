"""``mle run`` is parsed by a parser holding only the run subcommand (a launch skips
building the others); it must read every command line exactly as the full parser does."""

from __future__ import annotations

import contextlib
import io

import pytest

from mle_toolbox import cli

ARGVS = [
    ["run", "meta.yaml"],
    ["run", "meta.yaml", "--max-running", "3", "--no-report", "-p", "why", "not"],
    ["run", "meta.yaml", "--dry-run", "--all", "--backend", "slurm"],
    ["run", "meta.yaml", "-resource", "sge-cluster", "-np", "-nw", "--max-retries", "2"],
    ["run", "meta.yaml", "--force", "--cancel-on-interrupt", "--detach", "-d"],
]
BAD = [["run"], ["run", "meta.yaml", "--bogus"], ["run", "meta.yaml", "--max-running", "0"],
       ["run", "meta.yaml", "--max-retries", "101"], ["run", "--help"]]


@pytest.mark.parametrize("argv", ARGVS)
def test_the_run_only_parser_reads_what_the_full_parser_reads(argv: list[str]) -> None:
    assert cli.build_parser(only_run=True).parse_args(argv) == cli.build_parser().parse_args(argv)


def _exit_and_output(only_run: bool, argv: list[str]) -> tuple[object, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err), \
            pytest.raises(SystemExit) as stop:
        cli.build_parser(only_run=only_run).parse_args(argv)
    return stop.value.code, out.getvalue(), err.getvalue()


@pytest.mark.parametrize("argv", BAD)
def test_the_run_only_parser_words_errors_and_help_as_the_full_parser(argv: list[str]) -> None:
    fast = _exit_and_output(True, argv)
    assert fast == _exit_and_output(False, argv)
    assert fast[0] == (0 if "--help" in argv else 2)
    assert (fast[1] + fast[2]).startswith("usage: mle")
