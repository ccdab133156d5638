"""Command line: ``mle run``, ``cancel``, ``eval``, ``init``, ``resume``, ``status``, ``ls``,
``show``, ``report``, ``monitor``, ``protocol``, ``project``, ``retrieve`` and ``sync``
(``mle COMMAND --help`` lists the flags of each).

Only the parsers live here (the shared flags, their types and checks: cli_flags.py);
each command's module is imported when it runs. Never prompts and never reads stdin.
Exit codes: 0 all jobs completed, 1 some job failed, 2 bad input or unusable
experiment directory (and ``mle`` without a command), 130 interrupted.
"""

from __future__ import annotations

import argparse
import gc
import importlib
import os
import signal
import sys
from collections.abc import Callable, Sequence
from types import FrameType

from . import __version__
from .backends import BACKEND_NAMES, DEFAULT_BACKEND
from .cli_flags import (
    _positive,
    _seconds,
    add_resume_flags,
    add_upstream_run_flags,
    check_flag_combinations,
)
from .errors import (
    ConfigError,
    DiskFullError,
    Interrupted,
    MleError,
    PreloadNeededError,
    interrupt_name,
    interrupt_signal,
    is_disk_full,
)

EXIT_INTERRUPTED = 130
EXIT_BROKEN_PIPE = 141  # 128 + SIGPIPE, what a shell reports for `mle ls | head -1`


def _terminal_columns() -> int:
    """``shutil.get_terminal_size().columns``, worked out as shutil does ($COLUMNS, else
    the terminal of stdout, else 80), without importing shutil."""
    try:
        columns = int(os.environ.get("COLUMNS", "0"))
    except ValueError:
        columns = 0
    if columns <= 0:
        try:
            columns = os.get_terminal_size(sys.__stdout__.fileno()).columns  # type: ignore[union-attr]
        except (AttributeError, ValueError, OSError):
            columns = 0
    return columns if columns > 0 else 80


class _HelpFormatter(argparse.HelpFormatter):
    """argparse's formatter, the same width, found without ``import shutil`` (argparse's
    own way: shutil with bz2, lzma and zlib, ~4 ms of every launch; argparse builds a
    formatter for every argument it is given)."""

    def __init__(self, prog: str, indent_increment: int = 2, max_help_position: int = 24,
                 width: int | None = None) -> None:
        super().__init__(prog, indent_increment, max_help_position,
                         _terminal_columns() - 2 if width is None else width)


def build_parser(*, only_run: bool = False) -> argparse.ArgumentParser:
    """The argparse parser of ``mle``.

    ``only_run``: only the ``run`` subcommand (enough to parse ``mle run ...``, with the
    same help and error messages): every launch skips building a dozen other parsers.
    """
    parser = argparse.ArgumentParser(
        prog="mle", description="Launch ML experiment sweeps: configs x seeds x searches.",
        formatter_class=_HelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"mle_toolbox {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    run = sub.add_parser("run", help="run the jobs of a meta YAML",
                         description="Expand a meta YAML into jobs and run them.",
                         formatter_class=_HelpFormatter)
    run.add_argument("meta", metavar="META", help="meta YAML of the experiment")
    run.add_argument("--dry-run", action="store_true",
                     help="print the plan (jobs, commands, resources, files) and write nothing")
    run.add_argument("--max-running", type=_positive, metavar="N",
                     help="at most N jobs at once (default: cores // num_logical_cores "
                     "locally; max_running_jobs from the YAML)")
    run.add_argument("--backend", metavar="NAME",
                     help=f"where jobs run: {', '.join(BACKEND_NAMES)} (default: "
                     f"resource_to_run or {DEFAULT_BACKEND})")
    run.add_argument("--all", action="store_true", help="with --dry-run: list every job")
    add_resume_flags(run)
    run.add_argument("-p", "--purpose", metavar="TEXT", nargs="+",
                     help="why this experiment runs, one or more words; kept in the "
                     "experiment history")
    run.add_argument("--no-report", action="store_true",
                     help="do not write report.md/.html at the end (mle report does it later)")
    run.add_argument("--detach", action="store_true",
                     help="submit every job, record it and return (cluster backends)")
    add_upstream_run_flags(run)
    if only_run:
        return parser
    cancel = sub.add_parser("cancel", help="stop an experiment's queued and running jobs",
                            description="Cancel the queued and running jobs (job table; "
                            "Grid Engine and Slurm arrays by name) of an experiment directory.")
    cancel.add_argument("exp_dir", metavar="EXP_DIR", help="the experiment directory")
    cancel.add_argument("--force", action="store_true",
                        help="kill at once (qdel -f, scancel --signal=KILL)")
    _add_eval_parser(sub)
    _add_init_parser(sub)
    add_reliability_commands(sub)
    _add_results_parsers(sub)
    return parser


def _add_init_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    init = sub.add_parser("init", help="create a new experiment project",
                          description="Write train.py, eval.py, a commented base config and "
                          "meta YAMLs (multi-seed sweep, grid search) into DIR.")
    init.add_argument("dir", metavar="DIR", nargs="?", default=".",
                      help="project folder, created if missing (default: .)")
    init.add_argument("--force", action="store_true", help="overwrite existing files")


def _add_eval_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    evaluate = sub.add_parser(
        "eval", help="evaluate the saved models of a finished experiment",
        description="Run the evaluation script (post_process_args.process_fname, or "
        "--script) on the checkpoint of every finished job, without retraining. Metrics go "
        "to EXP_DIR/<run_id>/eval/ and into summary.json.")
    evaluate.add_argument("exp_dir", metavar="EXP_DIR", help="the experiment directory")
    evaluate.add_argument("--checkpoint", metavar="NAME",
                          help="final (default), best, last, step_<k> or a file name")
    evaluate.add_argument("--script", metavar="FILE", help="evaluation script to run "
                          "(default: post_process_args.process_fname of the meta YAML)")
    evaluate.add_argument("--timeout", type=_positive, metavar="SECONDS",
                          help="stop an evaluation after this long (default: "
                          "post_process_args.time_per_job, or 600)")
    evaluate.add_argument("--max-running", type=_positive, metavar="N",
                          help="at most N evaluations at once (default: the number of cores)")


def add_reliability_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """``mle resume`` and ``mle status``."""
    resume = sub.add_parser("resume", help="continue an experiment: skip completed jobs, "
                            "re-attach to live ones, run the rest",
                            description="Relaunch the meta YAML an experiment directory was "
                            "made from (same as running mle run on it again).")
    resume.add_argument("exp_dir", metavar="EXP_DIR", help="the experiment directory")
    resume.add_argument("--backend", metavar="NAME",
                        help="where jobs run (default: the backend of the last launch)")
    resume.add_argument("--max-running", type=_positive, metavar="N",
                        help="at most N jobs at once")
    add_resume_flags(resume)
    status = sub.add_parser("status", help="per-state counts and failed jobs of an experiment",
                            description="Show the state of every job of an experiment from "
                            "its job files, its job table and one scheduler query.")
    status.add_argument("exp_dir", metavar="EXP_DIR", nargs="?", default=".",
                        help="the experiment directory (default: .)")


def _add_results_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    from .commands.history_view import HISTORY_HELP, add_parsers

    add_parsers(sub)
    report = sub.add_parser("report", help="write report.md/.html/.pdf with tables and figures",
                            description="Write report.md, report.html and report.pdf (tables, "
                            "best run, failed jobs, PNG figures) into an experiment directory: "
                            "EXP_DIR, or a history entry by -e_id ID / --use_last_id.")
    report.add_argument("exp_dir", metavar="EXP_DIR", nargs="?", help="the experiment directory")
    report.add_argument("-e_id", "--experiment_id", metavar="ID",
                        help="the experiment with this history id (mle protocol lists them; "
                        "e-id-3 also works)")
    report.add_argument("-use_last", "--use_last_id", action="store_true",
                        help="the experiment launched last (in the history)")
    report.add_argument("--no-figures", action="store_true", help="tables only")
    report.add_argument("--no-pdf", action="store_true", help="Markdown and HTML only")
    report.add_argument("--project", metavar="DIR", help=HISTORY_HELP)
    _add_monitor_parsers(sub, history_help=HISTORY_HELP)


def _add_monitor_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser], *,
                         history_help: str) -> None:
    monitor = sub.add_parser(
        "monitor", help="live dashboard of experiments, jobs and the cluster",
        description="Show every running and recent experiment of the history (jobs by "
        "state, ETA, best objective), the selected one's metrics, curves and failed jobs, "
        "and the load of this machine and of the scheduler. Keys: q quit, j/k select. "
        "Reads only; never changes an experiment.")
    monitor.add_argument("exp_dir", metavar="EXP_DIR", nargs="?",
                         help="show this experiment in detail (default: the newest)")
    monitor.add_argument("--once", action="store_true",
                         help="print the screen once as plain text and exit")
    monitor.add_argument("--interval", type=_seconds, default=2.0, metavar="SECONDS",
                         help="refresh every SECONDS (default: 2)")
    monitor.add_argument("--project", metavar="DIR", help=history_help)
    protocol = sub.add_parser("protocol", help="the experiment history, newest first",
                              description="List the launches recorded in the experiment "
                              "history, newest first (the columns of mle ls).")
    protocol.add_argument("--tail", type=_positive, default=30, metavar="N",
                          help="the newest N launches (default: 30)")
    protocol.add_argument("--all", action="store_true", help="every launch")
    protocol.add_argument("--json", action="store_true", help="print JSON for scripts")
    protocol.add_argument("--project", metavar="DIR", help=history_help)
    project = sub.add_parser("project", help="create a new experiment project (= mle init)",
                             description="mle-toolbox's name for mle init: write train.py, "
                             "eval.py, a base config and meta YAMLs into NAME.")
    project.add_argument("name", metavar="NAME", nargs="?", help="project folder to create")
    project.add_argument("-name", "--project_name", metavar="NAME",
                         help="the same as NAME (mle-toolbox's flag)")
    project.add_argument("--force", action="store_true", help="overwrite existing files")
    retrieve = sub.add_parser("retrieve", help="(mle-toolbox) copy results from a remote "
                              "host: not needed here, says what to use")
    for flags in (("-e_id", "--experiment_id"), ("-dir_name", "--local_dir_name")):
        retrieve.add_argument(*flags, metavar="VALUE")
    for flags in (("-all_new", "--retrieve_all_new"), ("-local", "--retrieve_local")):
        retrieve.add_argument(*flags, action="store_true")
    sub.add_parser("sync", aliases=["sync-gcs"], help="(mle-toolbox) sync results with a "
                   "Google Cloud Storage bucket: not supported, says what to use")


def _signal_to_interrupt(signum: int, frame: FrameType | None) -> None:
    raise Interrupted(signum)


# Each command's module is imported only when it runs: ``mle --help`` stays fast.
_COMMANDS: dict[str, tuple[str, str]] = {
    "run": ("commands.run", "run_command"),
    "cancel": ("commands.cancel", "cancel_command"),
    "init": ("commands.init", "init_command"),
    "eval": ("commands.eval", "eval_command"),
    "resume": ("commands.resume", "resume_command"),
    "status": ("commands.status", "status_command"),
    "ls": ("commands.history_view", "ls_command"),
    "show": ("commands.history_view", "show_command"),
    "report": ("commands.report", "report_command"),
    "monitor": ("commands.monitor", "monitor_command"),
    "protocol": ("commands.protocol", "protocol_command"),
    "project": ("commands.project", "project_command"),
    "retrieve": ("commands.project", "retrieve_command"),
    "sync": ("commands.project", "sync_command"),
    "sync-gcs": ("commands.project", "sync_command"),
}


def _dispatch(args: argparse.Namespace) -> int:
    module_name, function_name = _COMMANDS[args.command]
    # Importing a command's modules allocates tens of thousands of objects and leaves no
    # garbage: the collections this would set off are skipped (~5 ms of mle run).
    collecting = gc.isenabled()
    gc.disable()
    try:
        module = importlib.import_module(f".{module_name}", __package__)
    finally:
        if collecting:
            gc.enable()
    command: Callable[[argparse.Namespace], int] = getattr(module, function_name)
    return command(args)


RESTARTED_ENV = "MLE_RESTARTED_WITH_PRELOAD"


def _restart_with_preload(err: PreloadNeededError, *, argv: Sequence[str] | None) -> None:
    """Start this command again with ``err.preload`` in LD_PRELOAD, once.

    Returns (and the error is reported) when already restarted, or when called as a function
    with its own ``argv`` (tests), where replacing the process would be wrong.
    """
    if os.environ.get(RESTARTED_ENV) or argv is not None:
        return
    preload = " ".join(filter(None, [err.preload, os.environ.get("LD_PRELOAD")]))
    env = {**os.environ, "LD_PRELOAD": preload, RESTARTED_ENV: "1"}
    sys.stdout.flush()
    sys.stderr.flush()
    os.execve(sys.executable, [sys.executable, "-m", "mle_toolbox", *sys.argv[1:]], env)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``mle`` console script; returns the exit code."""
    try:
        return _main(argv)
    finally:
        if argv is None:  # this process is the command (not a test calling main): it ends now
            # Everything still alive goes with the process. Frozen, it is not traversed
            # again by the collections of the interpreter's shutdown (~17 ms for mle run);
            # modules are still torn down and atexit handlers still run.
            gc.freeze()


def _main(argv: Sequence[str] | None) -> int:
    words = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser(only_run=words[:1] == ["run"])
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    # A scheduler or a parent may stop us with SIGTERM, a dropped SSH session with SIGHUP:
    # clean up like Ctrl+C (jobs recorded, cluster jobs detached, local ones stopped).
    for signum in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, _signal_to_interrupt)
    # `mle run >&-`: Python gives us no sys.stdout at all; write into the void instead.
    for name in ("stdout", "stderr"):
        if getattr(sys, name) is None:
            setattr(sys, name, open(os.devnull, "w", encoding="utf-8"))  # noqa: SIM115
    try:
        check_flag_combinations(args)
        return _dispatch(args)
    except MleError as err:
        if isinstance(err, PreloadNeededError):
            _restart_with_preload(err, argv=argv)  # returns only when it must not restart
        print(f"mle: error: {err}", file=sys.stderr)
        return err.exit_code
    except KeyboardInterrupt as err:
        what = interrupt_name(err)
        print("mle: interrupted (Ctrl+C)" if what == "Ctrl+C" else f"mle: stopped by {what}",
              file=sys.stderr)
        return 128 + interrupt_signal(err)
    except BrokenPipeError:
        # The reader went away (`mle ls | head`): no traceback; stdout goes nowhere now.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_BROKEN_PIPE
    except OSError as err:
        return _unreadable_or_unwritable(err)


def _unreadable_or_unwritable(err: OSError) -> int:
    """A file or folder we were pointed at cannot be read or written (permissions, a full
    disk): one line that says which, without a traceback."""
    if is_disk_full(err) and err.filename:
        print(f"mle: error: {DiskFullError(err.filename)}", file=sys.stderr)
        return DiskFullError.exit_code
    where = f": {err.filename}" if err.filename else ""
    print(f"mle: error: {err.strerror or err}{where}", file=sys.stderr)
    return ConfigError.exit_code


if __name__ == "__main__":
    sys.exit(main())
