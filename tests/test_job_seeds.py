"""MLExperiment seeds numpy and torch as mle-toolbox 0.3.5 does, even when the script
imports them after making the experiment, without importing either itself."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np

CONFIG = '{"train_config": {"lr": 0.1}, "log_config": {"time_to_track": ["step"], ' \
         '"what_to_track": ["loss"]}}'

# A fake torch package: records what was seeded and the cuDNN flags set.
FAKE_TORCH = '''
import types
seeded = []
backends = types.SimpleNamespace(cudnn=types.SimpleNamespace(deterministic=False,
                                                             benchmark=True))
def manual_seed(seed):
    seeded.append(seed)
'''


def _run(tmp_path: Path, body: str, *, seed: int = 3, fake_torch: str | None = None,
         ) -> subprocess.CompletedProcess[str]:
    (tmp_path / "c.json").write_text(CONFIG)
    if fake_torch is not None:
        (tmp_path / "fake" / "torch").mkdir(parents=True, exist_ok=True)
        (tmp_path / "fake" / "torch" / "__init__.py").write_text(fake_torch)
    script = tmp_path / "train.py"
    script.write_text(textwrap.dedent(body))
    path = [str(tmp_path / "fake")] if fake_torch is not None else []
    env_path = ":".join([*path, str(Path(__file__).resolve().parent.parent)])
    return subprocess.run(
        [sys.executable, str(script), "-config", "c.json", "-seed", str(seed),
         "-exp_dir", "out"], cwd=tmp_path, capture_output=True, text=True, timeout=120,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": env_path}, check=False)


LATE_NUMPY = """
    import json, sys
    from mle_toolbox import MLExperiment

    mle = MLExperiment()
    assert "numpy" not in sys.modules  # the experiment did not import numpy
    import numpy as np

    print(json.dumps(np.random.rand(3).tolist()))
    mle.log.update({"step": 0}, {"loss": 1.0}, save=True)
"""


def _expected(seed: int) -> list[float]:
    rng = np.random.RandomState(seed)
    return [float(v) for v in rng.rand(3)]


def test_numpy_imported_after_the_experiment_draws_as_if_seeded(tmp_path: Path) -> None:
    first = _run(tmp_path, LATE_NUMPY, seed=3)
    assert first.returncode == 0, first.stderr
    assert json.loads(first.stdout) == _expected(3)
    other = _run(tmp_path, LATE_NUMPY, seed=4)
    assert other.returncode == 0, other.stderr
    assert json.loads(other.stdout) == _expected(4) != _expected(3)


def test_numpy_imported_before_the_experiment_is_seeded_at_once(tmp_path: Path) -> None:
    done = _run(tmp_path, """
        import json, sys
        import numpy as np
        from mle_toolbox import MLExperiment

        np.random.seed(99)
        mle = MLExperiment()
        from mle_toolbox.job.seeds import SeedOnImport
        # numpy was seeded now; only torch is left to seed on import
        print(json.dumps({"draws": np.random.rand(3).tolist(),
                          "pending": [sorted(f.pending) for f in sys.meta_path
                                      if isinstance(f, SeedOnImport)]}))
    """, seed=7)
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert out == {"draws": _expected(7), "pending": [["torch"]]}


def test_torch_imported_later_is_seeded_with_deterministic_cudnn(tmp_path: Path) -> None:
    done = _run(tmp_path, """
        import json, sys
        import numpy
        from mle_toolbox import MLExperiment

        mle = MLExperiment()
        import torch

        from mle_toolbox.job.seeds import SeedOnImport
        print(json.dumps({"seeded": torch.seeded,
                          "deterministic": torch.backends.cudnn.deterministic,
                          "benchmark": torch.backends.cudnn.benchmark,
                          "finders_left": sum(isinstance(f, SeedOnImport)
                                              for f in sys.meta_path)}))
    """, seed=5, fake_torch=FAKE_TORCH)
    assert done.returncode == 0, done.stderr
    # seeded once, on import; the finder left sys.meta_path with nothing left to seed
    assert json.loads(done.stdout) == {"seeded": [5], "deterministic": True,
                                       "benchmark": False, "finders_left": 0}


def test_a_library_that_cannot_be_seeded_still_imports_and_says_why(tmp_path: Path) -> None:
    done = _run(tmp_path, """
        from mle_toolbox import MLExperiment

        mle = MLExperiment()
        import torch

        print(torch.version)
    """, seed=2, fake_torch="version = 'fake'\n")  # no backends, no manual_seed
    assert done.returncode == 0, done.stderr
    assert done.stdout == "fake\n"
    assert "MLExperiment: could not seed torch with 2: " in done.stderr


def test_a_library_that_is_not_installed_fails_to_import_as_usual(tmp_path: Path) -> None:
    done = _run(tmp_path, """
        import sys
        from mle_toolbox import MLExperiment

        mle = MLExperiment()
        sys.path = [p for p in sys.path if "site-packages" not in p]
        try:
            import torch
        except ModuleNotFoundError as err:
            print(err.name)
    """, seed=1)
    assert done.returncode == 0, done.stderr
    assert done.stdout == "torch\n"


def test_a_second_experiment_in_one_process_seeds_with_its_own_seed(tmp_path: Path) -> None:
    done = _run(tmp_path, """
        import json, sys
        from mle_toolbox import MLExperiment
        from mle_toolbox.job.seeds import SeedOnImport

        MLExperiment(seed_id=11, argv=["-config", "c.json", "-exp_dir", "a"])
        MLExperiment(seed_id=12, argv=["-config", "c.json", "-exp_dir", "b"])
        assert sum(isinstance(f, SeedOnImport) for f in sys.meta_path) == 1
        import numpy as np

        print(json.dumps(np.random.rand(3).tolist()))
    """)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == _expected(12)
