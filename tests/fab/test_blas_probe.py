"""numba's BLAS probe (which imports scipy.linalg, 0.2-0.3 s) is skipped by the fab CLI only:
a library user's process keeps numba's BLAS support, and scipy.linalg imports afterwards."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HVLM = Path(__file__).resolve().parents[2] / ".." / "shared" / "smt2020" / "HVLM"


def _python(code: str) -> str:
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=300, check=True
    )
    return done.stdout.strip()


def test_a_library_process_keeps_numba_blas() -> None:
    code = (
        "import numpy as np, numba\n"
        "import fabnet.fab.engine\n"
        "f = numba.njit(lambda a: np.dot(a, a))\n"
        "print(f(np.ones(3)))\n"
    )
    assert _python(code) == "3.0"


def test_the_fab_cli_loads_the_kernel_without_scipy_linalg() -> None:
    code = (
        "import sys\n"
        "import fabnet.cli.fab\n"
        "from pathlib import Path\n"
        "from fabnet.fab import SimOptions, load_smt2020, simulate\n"
        f"simulate(load_smt2020(Path({str(HVLM)!r})), SimOptions(days=0.1), seed=0)\n"
        "before = 'scipy.linalg' in sys.modules\n"
        "import scipy.linalg\n"
        "print(before, float(scipy.linalg.det([[2.0, 0.0], [0.0, 3.0]])))\n"
    )
    assert _python(code) == "False 6.0"
