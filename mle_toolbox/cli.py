"""Command line: ``mle run META [--dry-run] [--max-running N] [--backend NAME]``, ``mle cancel``,
``mle ls``, ``mle show``, ``mle report``.

Never prompts and never reads stdin. Exit codes: 0 all jobs completed, 1 some job
failed, 2 bad input or unusable experiment directory, 130 interrupted.
"""

from __future__ import annotations

import argparse
import signal
import sys
from collections.abc import Sequence
from types import FrameType

from . import __version__
from .errors import MleError

EXIT_INTERRUPTED = 130


def build_parser() -> argparse.ArgumentParser:
    """The argparse parser of ``mle``."""
    parser = argparse.ArgumentParser(
        prog="mle", description="Launch ML experiment sweeps: configs x seeds x searches.",
    )
    parser.add_argument("--version", action="version", version=f"mle_toolbox {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    run = sub.add_parser("run", help="run the jobs of a meta YAML",
                         description="Expand a meta YAML into jobs and run them.")
    run.add_argument("meta", metavar="META", help="meta YAML of the experiment")
    run.add_argument("--dry-run", action="store_true",
                     help="print the plan (jobs, commands, resources, files) and write nothing")
    run.add_argument("--max-running", type=_positive, metavar="N",
                     help="at most N jobs at once (default: cores // num_logical_cores "
                     "locally; max_running_jobs from the YAML)")
    run.add_argument("--backend", metavar="NAME",
                     help="where jobs run: local, sge, sge-drmaa (default: resource_to_run "
                     "or local)")
    run.add_argument("--all", action="store_true", help="with --dry-run: list every job")
    run.add_argument("--purpose", metavar="TEXT",
                     help="why this experiment runs; kept in the experiment history")
    run.add_argument("--no-report", action="store_true",
                     help="do not write report.md/.html at the end (mle report does it later)")
    cancel = sub.add_parser("cancel", help="remove an experiment's cluster jobs (qdel)",
                            description="Cancel the queued and running Grid Engine jobs "
                            "of an experiment directory.")
    cancel.add_argument("exp_dir", metavar="EXP_DIR", help="the experiment directory")
    cancel.add_argument("--force", action="store_true", help="qdel -f")
    _add_results_parsers(sub)
    return parser


def _add_results_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    from .history_cli import add_parsers

    add_parsers(sub)
    report = sub.add_parser("report", help="write report.md/.html with tables and figures",
                            description="Write report.md and report.html (tables, best run, "
                            "failed jobs, PNG figures) into an experiment directory.")
    report.add_argument("exp_dir", metavar="EXP_DIR", help="the experiment directory")
    report.add_argument("--no-figures", action="store_true", help="tables only")


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _sigterm_to_interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``mle`` console script; returns the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    # A scheduler or a parent may stop us with SIGTERM: clean up like Ctrl+C.
    signal.signal(signal.SIGTERM, _sigterm_to_interrupt)
    try:
        if args.command == "cancel":
            from .cancel import cancel_command

            return cancel_command(args)
        if args.command in ("ls", "show", "report"):
            return _results_command(args)
        from .launch import run_command

        return run_command(args)
    except MleError as err:
        print(f"mle: error: {err}", file=sys.stderr)
        return err.exit_code
    except KeyboardInterrupt:
        print("mle: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED


def _results_command(args: argparse.Namespace) -> int:
    if args.command == "report":
        from .report import report_command

        return report_command(args)
    from .history_cli import ls_command, show_command

    return ls_command(args) if args.command == "ls" else show_command(args)


if __name__ == "__main__":
    sys.exit(main())
