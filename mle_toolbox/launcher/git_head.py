"""The HEAD commit of a plain git checkout, read from its files without starting git.

Every launch records the commit of the training script's repository in the history;
``git rev-parse --verify HEAD`` costs a fork and exec of git per launch. The common
case (a ``.git`` folder owned by us, HEAD on a branch with a loose ref file, or a
detached HEAD) is read here; anything else (a linked worktree, packed or reftable refs,
an unborn branch, ``GIT_*`` variables, a bare repository, another owner, a mount point
on the way up) answers :data:`ASK_GIT`, and the caller runs git as before, so the
recorded value never differs from git's.
"""

from __future__ import annotations

import os
from pathlib import Path

from ..lazy_pattern import compile_on_first_use

TYPE_CHECKING = False  # typing's flag without importing typing on mle run's path (issue 18)
if TYPE_CHECKING:
    from typing import Final

ASK_GIT: Final = "ask git"  # the files do not settle it: run git rev-parse
_OBJECT_ID = compile_on_first_use(r"[0-9a-f]{40}|[0-9a-f]{64}")  # sha1 or sha256 repositories
_BRANCH = compile_on_first_use(r"refs/heads/[^\s\\]+")
# GIT_* variables that cannot change which repository or HEAD git finds (transport,
# identities, editors, tracing); any other one sends the question to git.
_HARMLESS = ("GIT_SSL_", "GIT_SSH", "GIT_HTTP_", "GIT_PROXY_", "GIT_ASKPASS",
             "GIT_TERMINAL_PROMPT", "GIT_AUTHOR_", "GIT_COMMITTER_", "GIT_EDITOR",
             "GIT_PAGER", "GIT_TRACE")


def on_path(name: str) -> bool:
    """``shutil.which(name) is not None``, without importing shutil (and with it bz2,
    lzma and zlib, ~4 ms) at every launch: an executable file ``name`` in a PATH folder
    (PATH unset: the system's default; empty: nowhere)."""
    path = os.environ.get("PATH")
    if path is None:
        path = os.confstr("CS_PATH") or os.defpath
    for folder in path.split(os.pathsep) if path else ():
        candidate = os.path.join(folder, name)
        if os.access(candidate, os.F_OK | os.X_OK) and not os.path.isdir(candidate):
            return True
    return False


def head_commit(folder: Path) -> str | None:
    """HEAD's commit of the repository holding ``folder``; None when ``folder`` is in no
    repository; :data:`ASK_GIT` when only git can tell."""
    if any(name.startswith("GIT_") and not name.startswith(_HARMLESS) for name in os.environ):
        return ASK_GIT  # GIT_DIR, GIT_CEILING_DIRECTORIES, GIT_CONFIG_*, ... change the answer
    try:
        return _head_commit(folder)
    except (OSError, UnicodeError, ValueError):
        return ASK_GIT


def _head_commit(folder: Path) -> str | None:
    start = folder.resolve(strict=True)  # git -C follows symlinks to the physical folder
    if not start.is_dir():
        return ASK_GIT
    device = start.stat().st_dev
    for candidate in (start, *start.parents):
        if candidate.stat().st_dev != device:
            return ASK_GIT  # git stops at a mount point unless told otherwise
        git_dir = candidate / ".git"
        if os.path.lexists(git_dir):
            return _read_head(git_dir, worktree=candidate)
        if (candidate / "HEAD").is_file():
            return ASK_GIT  # maybe a bare repository
    return None


def _read_head(git_dir: Path, *, worktree: Path) -> str:
    if git_dir.is_symlink() or not git_dir.is_dir() or (git_dir / "commondir").exists():
        return ASK_GIT  # a linked worktree's .git file, or a shared repository
    uid = os.geteuid()
    if git_dir.stat().st_uid != uid or worktree.stat().st_uid != uid:
        return ASK_GIT  # git's safe.directory check may refuse someone else's repository
    head = (git_dir / "HEAD").read_text(encoding="ascii").strip()
    if _OBJECT_ID.fullmatch(head):
        return head  # detached HEAD
    ref = head.removeprefix("ref: ")
    if ref == head or not _BRANCH.fullmatch(ref) or ".." in ref:
        return ASK_GIT
    ref_file = git_dir / ref
    if not ref_file.is_file():
        return ASK_GIT  # packed refs, reftable or an unborn branch
    commit = ref_file.read_text(encoding="ascii").strip()
    return commit if _OBJECT_ID.fullmatch(commit) else ASK_GIT
