"""mle-toolbox's small helpers: ``print_framed``, ``get_os_env_ready`` and its two prompts.

``ask_for_binary_input`` prompts as mle-toolbox did (a Y/N question with a deadline).
``ask_for_resource_to_run`` is not offered: mle_toolbox never asks where to run, it is told
(``mle run --backend`` or ``resource_to_run`` in the meta YAML); calling it raises
``NotOfferedError`` saying so.
"""

from __future__ import annotations

import os
import sys

from ..errors import MleError

_DEVICE_TYPES = ("cpu", "gpu", "tpu")
_MAX_ASKS = 10  # a Y/N question re-asked after this many unclear answers takes the default


class NotOfferedError(MleError):
    """An mle-toolbox helper this tool does not provide; the message names what to use."""

    exit_code = 2


def print_framed(str_to_print: str, line_width: int = 85, frame_str: str = "=") -> None:
    """Print ``str_to_print`` centred in a ``line_width`` line of ``frame_str``:
    ``====  text  ====`` (the left side takes the odd character)."""
    spare = line_width - len(str_to_print)
    left = -(-spare // 2) - 2  # ceil(spare / 2) - 2, as mle-toolbox rounds
    right = spare // 2 - 2
    print(left * frame_str + "  " + str_to_print + "  " + right * frame_str)


def get_os_env_ready(num_devices: int = 1, mem_prealloc_bool: bool = False,
                     mem_prealloc_frac: float = 0.9, device_type: str = "cpu") -> None:
    """Set the environment variables JAX/XLA (and CUDA) read, before jax is imported.

    ``cpu``: ``num_devices`` XLA host devices and no visible GPU; ``gpu``: the first
    ``num_devices`` GPUs visible, XLA's preallocation on or off and its memory fraction;
    ``tpu``: jax's Colab TPU setup (needs jax).
    """
    if device_type not in _DEVICE_TYPES:
        raise ValueError(f"get_os_env_ready: device_type must be one of "
                         f"{', '.join(_DEVICE_TYPES)}, got {device_type!r}")
    if device_type == "cpu":
        os.environ["XLA_FLAGS"] = f"--xla_force_host_platform_device_count={num_devices}"
        os.environ["CUDA_VISIBLE_DEVICES"] = ""
        print(f"get_os_env_ready: XLA set up for {num_devices} CPU device(s)")
    elif device_type == "gpu":
        os.environ["CUDA_VISIBLE_DEVICES"] = ",".join(str(i) for i in range(num_devices))
        os.environ["XLA_PYTHON_CLIENT_PREALLOCATE"] = "True" if mem_prealloc_bool else "False"
        os.environ["XLA_PYTHON_CLIENT_MEM_FRACTION"] = f"{mem_prealloc_frac}"
        print(f"get_os_env_ready: XLA set up for {num_devices} GPU(s)")
    else:
        try:
            from jax.tools import colab_tpu  # type: ignore[import-not-found, unused-ignore]
        except ImportError as err:
            raise ModuleNotFoundError("get_os_env_ready(device_type='tpu') runs jax's Colab "
                                      "TPU setup: install jax (pip install jax)") from err
        colab_tpu.setup_tpu()


def ask_for_binary_input(question: str, default_answer: str = "N", *,
                         timeout_s: float = 60.0) -> bool:
    """Ask ``question [Y/N]`` on stdout and read the answer from stdin: True for y / Y.

    No answer within ``timeout_s`` seconds, stdin closed or not readable, or unclear
    answers ``_MAX_ASKS`` times: ``default_answer`` decides.
    """
    import select
    import time

    print(f"{time.strftime('%m/%d/%Y %I:%M:%S %p')} {question} [Y/N]", end=" ", flush=True)
    answer = default_answer
    for _ in range(_MAX_ASKS):
        try:
            ready, _, _ = select.select([sys.stdin], [], [], timeout_s)
        except (OSError, ValueError, TypeError):  # no real stdin (a notebook, pytest)
            break
        line = sys.stdin.readline() if ready else ""
        if not ready or not line:  # no answer in time, or stdin closed
            break
        if line.strip() in ("y", "n", "Y", "N"):
            answer = line.strip()
            break
        print("Please answer Y or N:", end=" ", flush=True)
    return answer in ("Y", "y")


def ask_for_resource_to_run() -> str:
    """Not offered: mle_toolbox never prompts for where to run. Raises ``NotOfferedError``."""
    raise NotOfferedError(
        "ask_for_resource_to_run() is not offered: mle_toolbox never asks where to run. "
        "Choose the backend with `mle run meta.yaml --backend local|sge|sge-drmaa|slurm` "
        "or meta_job_args.resource_to_run (local, sge-cluster, slurm-cluster) in the "
        "meta YAML; determine_resource() tells which scheduler this machine has")
