"""The SMT2020 file formats, shared by the reader (:mod:`fabnet.fab.smt2020`) and the writer
(:mod:`fabnet.fab.generate`): every file's column header exactly as in the testbed, and the
columns the reader requires in it (a file without one of them is reported and not read).
FORMAT.md §2 describes each column.
"""

from __future__ import annotations

__all__ = ["HEADERS", "REQUIRED", "ROUTE_HEADER", "ROUTE_REQUIRED", "required_columns"]

#: Column headers of every SMT2020 file, exactly as in the testbed.
HEADERS: dict[str, tuple[str, ...]] = {
    "tool.txt.1l": (
        "STNFAM", "STN", "RULE", "FWLRANK", "WAKERESRANK", "BATCHCRITF", "BATCHPER",
        "LTIME", "LTUNITS", "ULTIME", "ULTUNITS", "STNCAP", "STNQTY", "STNGRP",
        "STNFAMSTEP_ACTLIST", "STNFAMLOC", "PRERULERWL", "SETUPGRP",
    ),
    "part.txt": ("PARTGRP", "PARTFAM", "PART", "ROUTEFILE", "ROUTE"),
    "order.txt": (
        "LOT", "PART", "PRIOR", "PIECES", "START", "RDIST", "REPEAT", "RUNITS", "RPT#",
        "LOTSPERRPT", "DUE", "ORDER", "HOTLOT",
    ),
    "WIP.txt": (
        "LOT", "PART", "PRIOR", "PIECES", "START", "CURSTEP", "DUE", "ORDER", "HOTLOT", "TRACE",
    ),
    "setup.txt": ("CURSETUP", "NEWSETUP", "STIME", "STUNITS", "IGNORE"),
    "setupgrp.txt": ("SETUPGRP", "SETUP", "MINRUN", "IGNORE"),
    "downcal.txt": (
        "DOWNCALNAME", "DOWNCALTYPE", "MTTFDIST", "MTTF", "MTTFUNITS", "MTTRDIST", "MTTR",
        "MTTRUNITS", "IGNORE",
    ),
    "pmcal.txt": (
        "PMCALNAME", "PMCALTYPE", "MTBPM", "MTBPMUNITS", "MTTRDIST", "MTTR", "MTTR2",
        "MTTRUNITS", "IGNORE",
    ),
    "attach.txt": ("CALNAME", "CALTYPE", "RESTYPE", "RESNAME", "FOADIST", "FOA", "FOAUNITS"),
    "fromto.txt": ("FROMLOC", "TOLOC", "DDIST", "DTIME", "DTIME2", "DUNITS"),
}  # fmt: skip

#: Column header of every ``route_N.txt``.
ROUTE_HEADER: tuple[str, ...] = (
    "ROUTE", "STEP", "DESC", "STNFAM", "PDIST", "PTIME", "PTIME2", "PTUNITS", "PTPER",
    "BATCHMN", "BATCHMX", "SETUP", "WHEN", "STIME", "STUNITS", "SVESTN", "FORSTEP",
    "BatchInterval", "BatchIntUnits", "PartInterval", "PartIntUnits", "RWKSTEP", "REWORK",
    "RWKTYPE", "StepPercent", "STEP_CQT", "CQT", "CQTUNITS", "IGNORE",
)  # fmt: skip

#: Columns the reader requires, per file (a route file: :data:`ROUTE_REQUIRED`).
REQUIRED: dict[str, tuple[str, ...]] = {
    "tool.txt.1l": ("STNFAM", "STNQTY", "STNGRP"),
    "part.txt": ("PART", "ROUTEFILE", "ROUTE"),
    "order.txt": ("LOT", "PART", "PRIOR", "PIECES", "START", "REPEAT", "DUE"),
    "WIP.txt": ("LOT", "PART", "PRIOR", "PIECES", "CURSTEP", "DUE"),
    "setup.txt": ("CURSETUP", "NEWSETUP", "STIME"),
    "setupgrp.txt": ("SETUPGRP", "SETUP", "MINRUN"),
    "downcal.txt": ("DOWNCALNAME", "MTTF", "MTTR"),
    "pmcal.txt": ("PMCALNAME", "PMCALTYPE", "MTBPM", "MTTR"),
    "attach.txt": ("CALNAME", "CALTYPE", "RESTYPE", "RESNAME"),
    "fromto.txt": ("FROMLOC", "TOLOC", "DTIME"),
}

#: Columns the reader requires in every ``route_N.txt``.
ROUTE_REQUIRED: tuple[str, ...] = ("ROUTE", "STEP", "DESC", "STNFAM", "PTIME", "PTPER")


def required_columns(name: str) -> tuple[str, ...]:
    """Columns the reader requires in file ``name`` (``tool.txt`` is read as
    ``tool.txt.1l``; any other name not listed is a route file)."""
    if name == "tool.txt":
        name = "tool.txt.1l"
    return REQUIRED.get(name, ROUTE_REQUIRED)
