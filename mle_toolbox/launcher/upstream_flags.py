"""What the ``mle run`` flags of mle-toolbox 0.3.x mean here (cli_flags.add_upstream_run_flags).

``-train_fname``, ``-train_config`` and ``-exp_dir`` replace the YAML's paths,
``-resource`` chooses the backend by its mle-toolbox name, ``-p`` is the purpose text,
``-np`` skips the history row and ``-d`` writes launcher.log at debug level. ``-del``
and ``-reconnect`` (Google Cloud and ssh launches) have nothing to act on here: they
are accepted and named once on stderr, so 0.3.x command lines still run.
"""

from __future__ import annotations

import argparse
import sys

from ..backends import BACKEND_NAMES as BACKENDS
from ..backends import RESOURCE_NAMES as RESOURCES
from ..config.paths import Overrides
from ..errors import ConfigError

_NO_EFFECT = {"keep_after_upload": "-del/--keep_after_upload (Google Cloud uploads)",
              "remote_reconnect": "-reconnect/--remote_reconnect (ssh launches)"}


def overrides(args: argparse.Namespace) -> Overrides:
    """Paths given with -train_fname, -train_config, -exp_dir."""
    return Overrides(train_fname=getattr(args, "base_train_fname", None),
                     train_config=getattr(args, "base_train_config", None),
                     experiment_dir=getattr(args, "experiment_dir", None))


def backend_name(args: argparse.Namespace) -> str | None:
    """--backend or -resource (mle-toolbox names or ours); both given must agree."""
    chosen: str | None = getattr(args, "backend", None)
    resource: str | None = getattr(args, "resource_to_run", None)
    if resource is None:
        return chosen
    name = RESOURCES.get(resource, resource)
    if name not in BACKENDS:
        raise ConfigError(f"expected one of {', '.join(sorted(RESOURCES))} (or "
                          f"{', '.join(BACKENDS)}); got {resource!r}", key="--resource_to_run")
    if chosen is not None and chosen != name:
        raise ConfigError(f"conflicts with --backend {chosen} ({resource!r} is {name}); "
                          "give one", key="--resource_to_run")
    return name


def purpose(args: argparse.Namespace) -> str | None:
    """-p/--purpose takes several words (``-p Test report generation``)."""
    words = getattr(args, "purpose", None)
    if words is None or isinstance(words, str):
        return words
    return " ".join(words)


def note_unused(args: argparse.Namespace) -> None:
    """One line naming the 0.3.x flags that have nothing to act on here."""
    given = [text for name, text in _NO_EFFECT.items() if getattr(args, name, False)]
    if given:
        print(f"mle: note: {', '.join(given)}: accepted for mle-toolbox command lines; "
              "no effect here", file=sys.stderr)
