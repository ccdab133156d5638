"""mle-toolbox 0.3.5's ``mle_toolbox.utils``: the names its train.py scripts and notebooks
import, each loaded on first use (PEP 562), so ``import mle_toolbox.utils`` stays light.

Where each name lives (and how it maps onto this tool) is listed in README.md,
"mle_toolbox.utils compatibility".
"""

from __future__ import annotations

TYPE_CHECKING = False  # typing's flag without importing typing
if TYPE_CHECKING:
    from typing import Any

    from ..results.hyper_log import HyperLog, load_hyper_log
    from ..results.upstream import combine_experiments, load_config, load_result_logs
    from .helpers import (
        ask_for_binary_input,
        ask_for_resource_to_run,
        get_os_env_ready,
        print_framed,
    )
    from .job_side import (
        get_extra_cmd_line_input,
        load_experiment_config,
        load_job_config,
        parse_experiment_args,
    )
    from .pickles import load_pkl_object, save_pkl_object
    from .protocol_data import compose_protocol_data
    from .seeding import set_random_seeds
    from .toolbox_config import (
        check_single_job_args,
        determine_resource,
        load_mle_toolbox_config,
        mle_config,
        setup_proxy_server,
    )

    get_jax_os_ready = get_os_env_ready

_HERE = "mle_toolbox.utils."
# name -> (module, attribute): imported when first asked for.
_LAZY = {
    "HyperLog": ("mle_toolbox.results.hyper_log", "HyperLog"),
    "load_hyper_log": ("mle_toolbox.results.hyper_log", "load_hyper_log"),
    "load_config": ("mle_toolbox.results.upstream", "load_config"),
    "load_result_logs": ("mle_toolbox.results.upstream", "load_result_logs"),
    "combine_experiments": ("mle_toolbox.results.upstream", "combine_experiments"),
    "parse_experiment_args": (_HERE + "job_side", "parse_experiment_args"),
    "get_extra_cmd_line_input": (_HERE + "job_side", "get_extra_cmd_line_input"),
    "load_job_config": (_HERE + "job_side", "load_job_config"),
    "load_experiment_config": (_HERE + "job_side", "load_experiment_config"),
    "set_random_seeds": (_HERE + "seeding", "set_random_seeds"),
    "load_pkl_object": (_HERE + "pickles", "load_pkl_object"),
    "save_pkl_object": (_HERE + "pickles", "save_pkl_object"),
    "print_framed": (_HERE + "helpers", "print_framed"),
    "get_os_env_ready": (_HERE + "helpers", "get_os_env_ready"),
    # mle-toolbox kept the old name of get_os_env_ready as an alias
    "get_jax_os_ready": (_HERE + "helpers", "get_os_env_ready"),
    "ask_for_binary_input": (_HERE + "helpers", "ask_for_binary_input"),
    "ask_for_resource_to_run": (_HERE + "helpers", "ask_for_resource_to_run"),
    "compose_protocol_data": (_HERE + "protocol_data", "compose_protocol_data"),
    "mle_config": (_HERE + "toolbox_config", "mle_config"),
    "load_mle_toolbox_config": (_HERE + "toolbox_config", "load_mle_toolbox_config"),
    "determine_resource": (_HERE + "toolbox_config", "determine_resource"),
    "setup_proxy_server": (_HERE + "toolbox_config", "setup_proxy_server"),
    "check_single_job_args": (_HERE + "toolbox_config", "check_single_job_args"),
}

__all__ = ["HyperLog", "ask_for_binary_input", "ask_for_resource_to_run",
           "check_single_job_args", "combine_experiments", "compose_protocol_data",
           "determine_resource", "get_extra_cmd_line_input", "get_jax_os_ready",
           "get_os_env_ready", "load_config", "load_experiment_config", "load_hyper_log",
           "load_job_config", "load_mle_toolbox_config", "load_pkl_object", "load_result_logs",
           "mle_config", "parse_experiment_args", "print_framed", "save_pkl_object",
           "set_random_seeds", "setup_proxy_server"]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        module_name, attribute = _LAZY[name]
        value = getattr(__import__(module_name, None, None, [attribute], 0), attribute)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'mle_toolbox.utils' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *_LAZY])
