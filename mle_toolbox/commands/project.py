"""mle-toolbox's other command names: ``mle project``, ``mle retrieve``, ``mle sync``.

``mle project NAME`` (or ``-name NAME``, upstream's flag) is ``mle init NAME``: upstream
cloned a template repository; ours ships the template, so no network is needed.
``retrieve`` and ``sync`` copied results from a remote host or a GCS bucket; here
experiments are written where they run, so both say in one line what to use instead
and exit 2.
"""

from __future__ import annotations

import argparse

from ..errors import ConfigError
from .init import init_command

DEFAULT_NAME = "mle-project"  # upstream's default folder name

RETRIEVE_INSTEAD = (
    "mle retrieve is not needed: mle_toolbox writes results into the experiment directory "
    "where the jobs run (a folder on the cluster's shared file system); copy it with "
    "rsync -a HOST:EXP_DIR . and read it with mle report EXP_DIR")
SYNC_INSTEAD = (
    "mle sync (Google Cloud Storage) is not supported: mle_toolbox keeps results in the "
    "experiment directory; copy one to a bucket with gcloud storage rsync -r EXP_DIR "
    "gs://BUCKET/EXP_DIR")


def project_command(args: argparse.Namespace) -> int:
    """Carry out ``mle project [NAME | -name NAME] [--force]``: the same as ``mle init``."""
    if args.name is not None and args.project_name is not None \
            and args.name != args.project_name:
        raise ConfigError(f"two names given ({args.name!r} and {args.project_name!r}); "
                          "give one", key="--project_name")
    name = args.name or args.project_name or DEFAULT_NAME
    return init_command(argparse.Namespace(dir=name, force=args.force))


def retrieve_command(args: argparse.Namespace) -> int:
    """``mle retrieve``: one line on what to use instead; exit 2."""
    raise ConfigError(RETRIEVE_INSTEAD)


def sync_command(args: argparse.Namespace) -> int:
    """``mle sync`` / ``mle sync-gcs``: one line on what to use instead; exit 2."""
    raise ConfigError(SYNC_INSTEAD)
