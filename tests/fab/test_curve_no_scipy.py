"""Issue 10 §4: ``fab curve`` with several seeds runs without ``scipy.stats``.

scipy is only a test extra of fabnet; a plain install has it only because linopy requires it.
The simulator's confidence intervals now use their own Student-t quantiles, so the child
interpreter below, in which importing ``scipy.stats`` fails, must still run the command.
(scipy itself cannot be blocked: the CLI imports linopy, which imports scipy.)"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from fabnet.fab.generate import generate_fab, write_smt2020

# a child interpreter in which importing scipy.stats fails
_NO_SCIPY = """
import importlib.abc, runpy, sys

class _NoScipy(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name == "scipy.stats" or name.startswith("scipy.stats."):
            raise ModuleNotFoundError(f"No module named {name!r} (blocked by the test)")
        return None

sys.meta_path.insert(0, _NoScipy())
sys.argv = ["fabnet", *sys.argv[1:]]
runpy.run_module("fabnet", run_name="__main__")
"""


def test_fab_curve_with_two_seeds_needs_no_scipy_stats(tmp_path: Path) -> None:
    fab = write_smt2020(generate_fab(4, 8, 1, seed=0), tmp_path / "fab")
    args = ["fab", "curve", str(fab), "--loads", "0.5", "--days", "20", "--seeds", "0-1"]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    proc = subprocess.run(
        [sys.executable, "-c", _NO_SCIPY, *args, "--processes", "1", "--json"],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "blocked by the test" not in proc.stderr
    rows = json.loads(proc.stdout)["rows"]
    assert rows and all(r["cycle_time_mean_days_ci95"] > 0 for r in rows)
