"""Import boundaries of the plan read-out: checked in a fresh interpreter."""

from __future__ import annotations

import subprocess
import sys


def _loaded_after(statement: str, modules: list[str]) -> list[str]:
    code = f"import sys; {statement}; print(' '.join(m for m in {modules!r} if m in sys.modules))"
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return r.stdout.split()


def test_report_and_cli_read_a_plan_without_linopy() -> None:
    """The report and the CLI take the cost categories and table columns from
    fabnet.plan.tables, which loads neither linopy nor the planner."""
    statement = "import fabnet.report.plan, fabnet.cli.plan, fabnet.plan.tables"
    assert _loaded_after(statement, ["linopy", "fabnet.plan.solution"]) == []


def test_diagnosis_reads_the_solution_data_without_importing_the_tables() -> None:
    """No circle: the diagnosis takes the read-out data (fabnet.plan.readout) and does not
    import fabnet.plan.solution, which imports the diagnosis."""
    assert _loaded_after("import fabnet.plan.diagnosis", ["fabnet.plan.solution"]) == []
