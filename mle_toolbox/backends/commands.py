"""Running scheduler commands (qsub, qstat, sbatch, ...): argv lists, deadlines, bounded retries.

Every call has a timeout; retries are bounded with exponential back-off and happen
only for errors a caller names as transient.
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable, Sequence

from ..errors import BackendUnavailable, CommandError
from ..records import record

COMMAND_TIMEOUT_S = 60.0


@record
class Output:
    """What a finished command printed."""

    argv: tuple[str, ...]
    returncode: int
    stdout: str
    stderr: str

    def error(self, note: str = "") -> CommandError:
        """A CommandError describing this output."""
        return CommandError(argv=self.argv, returncode=self.returncode, stdout=self.stdout,
                            stderr=self.stderr, note=note)


# A runner takes argv and returns its Output; tests substitute recorded outputs.
Runner = Callable[[Sequence[str]], Output]


def run_command(argv: Sequence[str], *, timeout: float = COMMAND_TIMEOUT_S,
                cwd: str | None = None) -> Output:
    """Run ``argv`` (never through a shell) and capture its output."""
    args = tuple(argv)
    try:
        # Own session: a Ctrl+C in the terminal reaches the launcher, which decides what
        # to do (detach or cancel), not a qsub in flight.
        done = subprocess.run(args, capture_output=True, text=True, timeout=timeout, cwd=cwd,
                              stdin=subprocess.DEVNULL, check=False, start_new_session=True)
    except FileNotFoundError as err:
        raise BackendUnavailable(f"{args[0]} not found on PATH; is the scheduler's client "
                                 "installed and its environment loaded?") from err
    except subprocess.TimeoutExpired as err:
        raise CommandError(argv=args, returncode=None, stdout=_text(err.stdout),
                           stderr=_text(err.stderr), note=f"no answer within {timeout:.0f}s"
                           ) from err
    return Output(argv=args, returncode=done.returncode, stdout=done.stdout, stderr=done.stderr)


def _text(data: bytes | str | None) -> str:
    if data is None:
        return ""
    return data.decode(errors="replace") if isinstance(data, bytes) else data


@record
class RetryPolicy:
    """At most ``attempts`` tries; sleeps ``first_delay`` seconds, doubling each time."""

    attempts: int = 4
    first_delay: float = 1.0
    max_delay: float = 8.0


def is_transient(output: Output, markers: Sequence[str]) -> bool:
    """True when a failed command's output contains one of the transient ``markers``."""
    text = f"{output.stdout}\n{output.stderr}"
    return output.returncode != 0 and any(marker in text for marker in markers)


def run_in_chunks(head: Sequence[str], ids: Sequence[str], *, chunk: int, run: Runner,
                  gone: Sequence[str]) -> None:
    """``head + ids`` in chunks of ``chunk`` ids (qdel, scancel): a long list never
    exceeds the argument limit. A failure is fine when every line of its output
    contains one of the ``gone`` markers (the job had already ended)."""
    for start in range(0, len(ids), chunk):
        output = run([*head, *ids[start:start + chunk]])
        if output.returncode != 0 and not _every_line_has(output, gone):
            raise output.error(f"{head[0]} failed")


def _every_line_has(output: Output, markers: Sequence[str]) -> bool:
    lines = [ln for ln in f"{output.stdout}\n{output.stderr}".splitlines() if ln.strip()]
    return all(any(marker in ln for marker in markers) for ln in lines)


def run_with_retry(
    attempt: Callable[[], Output], *, transient: Callable[[Output], bool],
    before_retry: Callable[[], Output | None] | None = None,
    policy: RetryPolicy = RetryPolicy(), sleep: Callable[[float], None] = time.sleep,
) -> Output:
    """Call ``attempt`` until it succeeds, fails for good, or the tries run out.

    ``before_retry`` runs before every retry and may return a successful Output
    found another way (e.g. the job of a "failed" qsub is in the queue after all),
    which ends the retries without submitting twice.
    """
    delay = policy.first_delay
    output = attempt()
    for _ in range(policy.attempts - 1):
        if output.returncode == 0 or not transient(output):
            return output
        sleep(delay)
        delay = min(delay * 2, policy.max_delay)
        found = before_retry() if before_retry is not None else None
        if found is not None:
            return found
        output = attempt()
    return output
