"""SMT2020 loader: HVLM loads into typed objects; malformed files name file, line and column."""

from __future__ import annotations

from pathlib import Path

import pytest

from fabnet.errors import FabModelError
from fabnet.fab import FabModel, load_smt2020

HVLM = Path(__file__).resolve().parents[2] / ".." / "shared" / "smt2020" / "HVLM"
needs_hvlm = pytest.mark.skipif(not HVLM.is_dir(), reason=f"SMT2020 HVLM data not found at {HVLM}")

TOOLS = (
    "STNFAM\tSTN\tRULE\tFWLRANK\tWAKERESRANK\tBATCHCRITF\tBATCHPER\tLTIME\tLTUNITS\tULTIME\t"
    "ULTUNITS\tSTNCAP\tSTNQTY\tSTNGRP\tSTNFAMSTEP_ACTLIST\tSTNFAMLOC\tPRERULERWL\tSETUPGRP\n"
    "F1\tF1\trule_HotLotFIRST\trank_HP;rank_RSETUP;rank_FIFO\t\t\t\t0\tmin\t0\tmin\t\t1.0\tG1\t\tFab\tno\t\n"
)
PART = "PARTGRP\tPARTFAM\tPART\tROUTEFILE\tROUTE\nSaleable\tproduct_1\tpart_1\troute_1.txt\tr_1\n"
ROUTE_HEAD = (
    "ROUTE\tSTEP\tDESC\tSTNFAM\tPDIST\tPTIME\tPTIME2\tPTUNITS\tPTPER\tBATCHMN\tBATCHMX\tSETUP\t"
    "WHEN\tSTIME\tSTUNITS\tSVESTN\tFORSTEP\tBatchInterval\tBatchIntUnits\tPartInterval\t"
    "PartIntUnits\tRWKSTEP\tREWORK\tRWKTYPE\tStepPercent\tSTEP_CQT\tCQT\tCQTUNITS\tIGNORE\n"
)
ROUTE = ROUTE_HEAD + (
    "r_1\t1\t001_A\tF1\tconstant\t60\t\tmin\tper_lot\n"
    "r_1\t2\t002_A\tF1\tconstant\t30\t\tmin\tper_lot\n"
)
ORDER = (
    "LOT\tPART\tPRIOR\tPIECES\tSTART\tRDIST\tREPEAT\tRUNITS\tRPT#\tLOTSPERRPT\tDUE\tORDER\tHOTLOT\n"
    "Lot_1\tpart_1\t10\t25\t01/01/18 00:00:00\tconstant\t120\tmin\t100000\t1\t01/01/18 03:00:00\tO\tno\n"
)


def write_tiny(d: Path, **override: str) -> Path:
    """A one-tool, two-step fab (files may be overridden by name)."""
    d.mkdir(parents=True, exist_ok=True)
    files = {"tool.txt.1l": TOOLS, "part.txt": PART, "route_1.txt": ROUTE, "order.txt": ORDER}
    files.update(override)
    for name, text in files.items():
        (d / name).write_text(text)
    return d


def test_tiny_model_loads_with_warnings_for_absent_files(tmp_path: Path) -> None:
    m = load_smt2020(write_tiny(tmp_path / "tiny"))
    assert isinstance(m, FabModel)
    assert [f.name for f in m.families] == ["F1"]
    assert m.routes["r_1"].steps[1].ptime.mean == 30.0
    assert m.releases[0].due_offset_min == pytest.approx(180.0)
    assert any("attach.txt absent" in w for w in m.warnings)
    assert any("WIP.txt absent" in w for w in m.warnings)


def _error(tmp_path: Path, **override: str) -> FabModelError:
    with pytest.raises(FabModelError) as exc:
        load_smt2020(write_tiny(tmp_path / "bad", **override))
    return exc.value


def test_bad_number_names_file_line_column(tmp_path: Path) -> None:
    bad = ROUTE.replace("\t30\t", "\tthirty\t")
    e = _error(tmp_path, **{"route_1.txt": bad})
    p = e.problems[0]
    assert (p.file, p.line, p.column, p.field) == ("route_1.txt", 3, 6, "PTIME")
    assert "not a number" in p.message
    assert "route_1.txt:3:6" in e.format()


def test_unknown_family_and_missing_file(tmp_path: Path) -> None:
    bad = ROUTE.replace("002_A\tF1", "002_A\tF9")
    e = _error(tmp_path, **{"route_1.txt": bad})
    assert any(p.field == "STNFAM" and p.line == 3 and "F9" in p.message for p in e.problems)
    d = write_tiny(tmp_path / "nopart")
    (d / "part.txt").unlink()
    with pytest.raises(FabModelError, match=r"part\.txt.*missing"):
        load_smt2020(d)


def test_missing_header_column_and_bad_timestamp_and_unit(tmp_path: Path) -> None:
    e = _error(tmp_path, **{"order.txt": ORDER.replace("REPEAT", "RPT")})
    assert any(p.file == "order.txt" and p.line == 1 and "REPEAT" in p.message for p in e.problems)
    e = _error(tmp_path, **{"order.txt": ORDER.replace("01/01/18 03:00:00", "2018-01-01")})
    assert any(p.field == "DUE" and p.line == 2 and p.column == 11 for p in e.problems)
    e = _error(
        tmp_path, **{"route_1.txt": ROUTE.replace("\tmin\tper_lot\n", "\tfortnight\tper_lot\n", 1)}
    )
    assert any(p.field == "PTUNITS" and "fortnight" in p.message for p in e.problems)


def test_route_reference_out_of_range(tmp_path: Path) -> None:
    bad = ROUTE_HEAD + "r_1\t1\t001_A\tF1\tconstant\t60\t\tmin\tper_lot" + "\t" * 13 + "9\t1\tlot\n"
    e = _error(tmp_path, **{"route_1.txt": bad})
    assert any(p.field == "RWKSTEP" and p.line == 2 for p in e.problems)


def test_not_a_directory(tmp_path: Path) -> None:
    with pytest.raises(FabModelError, match="not a directory"):
        load_smt2020(tmp_path / "nothing")


@needs_hvlm
def test_hvlm_loads_everything() -> None:
    m = load_smt2020(HVLM)
    assert len(m.families) == 106
    assert m.n_tools == 1043 + 400
    assert {k: len(r.steps) for k, r in m.routes.items()} == {"r_3": 583, "r_4": 343}
    assert len(m.wip) == 2255
    assert len(m.attachments) == 303
    assert sum(1 for a in m.attachments if a.cal_type == "down") == 11
    assert len(m.setups) == 13 and len(m.min_runs) == 9
    r3 = m.routes["r_3"]
    assert sum(s.per == "batch" for s in r3.steps) == 17
    assert sum(s.rework_pct > 0 for s in r3.steps) == 7
    assert sum(s.save_tool for s in r3.steps) == 11
    assert sum(s.sample_pct < 100 for s in r3.steps) == 95
    assert {w.stream for w in m.wip} == {"Lot_3", "Lot_4", "HotLot_3", "HotLot_4", "SuperHotLot_3"}
    assert sum(f.cascading for f in m.families) == 45
    # features not modelled are reported, not dropped
    assert any("queue-time windows" in w for w in m.warnings)
