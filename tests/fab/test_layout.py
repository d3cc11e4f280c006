"""The kernel's column layouts (fabnet.fab.layout): each table's columns are distinct and fit
its width, and numba's on-disk cache of the kernel is keyed on them."""

from __future__ import annotations

import pytest

from fabnet.fab import engine, layout

_RNG = {"R_PROC", "R_TRANSPORT", "R_BREAK", "R_PM", "R_SAMPLING", "R_REWORK"}
# table: (name prefix, width constant); a prefix that is a prefix of another one's comes last
_TABLES = {
    "step_i": ("S_", "N_SI"),
    "step_f": ("F_", "N_SF"),
    "fam_i": ("FA_", "N_FAI"),
    "fam_f": ("FF_", "N_FAF"),
    "tool_i": ("T_", "N_TI"),
    "tool_f": ("TF_", "N_TF"),
    "lot_i": ("L_", "N_LI"),
    "lot_f": ("LF_", "N_LF"),
    "job_i": ("J_", "N_JI"),
    "job_f": ("JF_", "N_JF"),
    "bd_i": ("B_", "N_BI"),
    "bd_f": ("BF_", "N_BF"),
    "pm_i": ("P_", "N_PI"),
    "pm_f": ("PF_", "N_PF"),
    "rel_i": ("R_", "N_RI"),
    "rel_f": ("RF_", "N_RF"),
    "st": ("ST_", "N_ST"),
    "stf": ("SF_", "N_SF_STATE"),
    "hi": ("Q_", "N_QI"),
}
# columns that span several slots
_WIDTH = {"L_LENS": 2 * layout.N_LENS, "L_CQ": layout.N_CQ, "LF_CQ": layout.N_CQ}
_CODES = ("N_", "EV_", "K_", "D_", "RC_")


def _constants() -> dict[str, int]:
    return {k: v for k, v in vars(layout).items() if k.isupper()}


def _columns(table: str) -> dict[str, int]:
    prefix, _ = _TABLES[table]
    return {
        k: v
        for k, v in _constants().items()
        if k.startswith(prefix) and not (table == "rel_i" and k in _RNG)
    }


@pytest.mark.parametrize("table", sorted(_TABLES))
def test_columns_are_distinct_and_fit_the_table(table: str) -> None:
    width = getattr(layout, _TABLES[table][1])
    taken: dict[int, str] = {}
    for name, col in _columns(table).items():
        for c in range(col, col + _WIDTH.get(name, 1)):
            assert 0 <= c < width, f"{name} = {col} outside {table}'s {width} columns"
            assert c not in taken, f"{name} and {taken[c]} share column {c} of {table}"
            taken[c] = name


def test_every_constant_belongs_to_a_table_or_a_code() -> None:
    """A new prefix must be added to _TABLES (so the checks above see it)."""
    placed = set(_RNG).union(*(_columns(t) for t in _TABLES))
    stray = [k for k in _constants() if k not in placed and not k.startswith(_CODES)]
    assert not stray
    ev = [v for k, v in _constants().items() if k.startswith("EV_")]
    assert len(set(ev)) == len(ev) and max(ev) < 16  # 4 type bits in an event's payload
    assert sorted(getattr(layout, k) for k in _RNG) == list(range(layout.N_RNG))


def test_kernel_cache_is_keyed_on_the_layout(monkeypatch: pytest.MonkeyPatch) -> None:
    """numba keys its cache on engine.py only; the kernel's key carries the layout's digest,
    so editing layout.py alone recompiles (a stale kernel would read the old columns)."""
    codegen = engine.run.targetctx.codegen()
    for disp in (engine.run, engine._push, engine._sync_avail):
        assert disp._cache._index_key((), codegen)[-1] == engine.layout_digest()
    before = engine.layout_digest()
    monkeypatch.setattr(layout, "N_ST", layout.N_ST + 1)
    assert engine.layout_digest() != before
