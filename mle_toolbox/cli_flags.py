"""The flags ``mle run`` shares with other commands, their value types, and the check
of flag combinations.

``mle run`` and ``mle resume`` share the flags about earlier jobs, retries and Ctrl+C
(``add_resume_flags``); ``mle run`` also takes mle-toolbox 0.3.x's flags
(``add_upstream_run_flags``, read by launcher/upstream_flags.py); every numeric flag
parses through the types here, which give argparse's one-line errors. Apart from
cli.py, which builds the parser of each command and dispatches: these are the flags'
own rules, checked before any command runs (``check_flag_combinations``).
"""

from __future__ import annotations

import argparse

from .errors import ConfigError

MAX_RETRIES = 100  # the same bound as meta.MAX_RETRIES (cli stays free of heavy imports)


def _whole_number(text: str, *, minimum: int, maximum: int | None = None) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if maximum is not None and not minimum <= value <= maximum:
        raise argparse.ArgumentTypeError(f"must be {minimum} .. {maximum}, got {value}")
    if value < minimum:
        raise argparse.ArgumentTypeError(f"must be at least {minimum}, got {value}")
    return value


def _positive(text: str) -> int:
    return _whole_number(text, minimum=1)


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected seconds, got {text!r}") from None
    if not 0.1 <= value <= 3600:
        raise argparse.ArgumentTypeError(f"must be 0.1 .. 3600, got {text}")
    return value


def _retry_count(text: str) -> int:
    return _whole_number(text, minimum=0, maximum=MAX_RETRIES)


def add_upstream_run_flags(run: argparse.ArgumentParser) -> None:
    """The ``mle run`` flags of mle-toolbox 0.3.x (launcher/upstream_flags.py reads them)."""
    group = run.add_argument_group("mle-toolbox 0.3.x flags")
    group.add_argument("-resource", "--resource_to_run", metavar="NAME",
                       help="where jobs run: local, sge-cluster, slurm-cluster (or a "
                       "--backend name); overrides resource_to_run of the YAML")
    group.add_argument("-train_fname", "--base_train_fname", metavar="FILE",
                       help="train script instead of the YAML's (relative to the working "
                       "directory)")
    group.add_argument("-train_config", "--base_train_config", metavar="FILE",
                       help="base config instead of the YAML's")
    group.add_argument("-exp_dir", "--experiment_dir", metavar="DIR",
                       help="experiment directory instead of the YAML's")
    group.add_argument("-d", "--debug", action="store_true",
                       help="launcher.log at debug level")
    group.add_argument("-np", "--no_protocol", action="store_true",
                       help="do not record this launch in the experiment history")
    for short, long, what in _NO_EFFECT_FLAGS:
        group.add_argument(short, long, action="store_true", help=f"{what}: no effect here")


# 0.3.x flags accepted for unchanged command lines; what they did upstream.
_NO_EFFECT_FLAGS = (
    ("-nw", "--no_welcome", "skip the welcome banner (mle prints none)"),
    ("-del", "--keep_after_upload", "delete results after a Google Cloud upload"),
    ("-reconnect", "--remote_reconnect", "reconnect to a remote (ssh) launch"),
)


def add_resume_flags(parser: argparse.ArgumentParser) -> None:
    """Flags of ``mle run`` and ``mle resume`` about earlier jobs, retries and Ctrl+C."""
    parser.add_argument("--rerun-failed", action="store_true",
                        help="run jobs that failed earlier again (default: keep them failed)")
    parser.add_argument("--force", action="store_true",
                        help="start over: cancel live jobs, rerun every job")
    parser.add_argument("--keep-stale", action="store_true",
                        help="keep results of jobs that completed with an older version of "
                        "the training script (default: run them again)")
    parser.add_argument("--max-retries", type=_retry_count, metavar="N",
                        help="rerun a failed job up to N times (default: max_retries "
                        "from the YAML, else 0)")
    parser.add_argument("--cancel-on-interrupt", action="store_true",
                        help="Ctrl+C cancels cluster jobs (default: the first Ctrl+C "
                        "detaches, a second one cancels)")


# Flags that change what a launch does; a dry run would silently ignore them.
_LAUNCH_ONLY = ("detach", "force", "rerun_failed", "max_retries", "cancel_on_interrupt",
                "purpose", "no_report", "keep_stale")


def check_flag_combinations(args: argparse.Namespace) -> None:
    """Refuse flags that contradict each other or would be silently ignored."""
    def given(name: str) -> bool:
        return getattr(args, name, None) not in (None, False)

    for name in ("rerun_failed", "keep_stale"):
        if given("force") and given(name):
            raise ConfigError("has no effect with --force, which reruns every job; give one "
                              "of them", key=f"--{name.replace('_', '-')}")
    if given("dry_run"):
        ignored = [f"--{name.replace('_', '-')}" for name in _LAUNCH_ONLY if given(name)]
        if ignored:
            raise ConfigError(f"a dry run starts nothing; {', '.join(ignored)} would be "
                              "ignored", key="--dry-run")
    elif given("all"):
        raise ConfigError("lists the jobs of a dry run; add --dry-run", key="--all")
