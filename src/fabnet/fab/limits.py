"""Size limits of the fab simulator, checked before anything is allocated.

The kernel holds its state in numpy arrays sized from the model and the run (one row per
tool, per lot, per setup pair ...). A typo in a file (``STNQTY 1e9``) or a flag
(``--days 1e9``, ``--seeds 0-100000000``) would otherwise ask for gigabytes and end in a
``MemoryError`` after minutes. Each limit is far above the SMT2020 models (HVLM: 1,443 tools,
400 in its largest family, 57 setups, 926 route steps, 44,012 lots in the 730 days of
the reference protocol) and low enough that the arrays stay within a few hundred MB.
docs/fab-readings.md ("Limits") lists them with the memory each one bounds.
"""

from __future__ import annotations

#: Tools in one family (``STNQTY``) and in the whole fab (kernel rows per tool, ~0.5 kB each).
MAX_TOOLS = 100_000
#: Distinct setup names (the setup-change matrix is their square: 2,000² × 9 B ≈ 36 MB).
MAX_SETUPS = 2_000
#: Distinct locations (``STNFAMLOC``; the transport matrix is their square × 24 B).
MAX_LOCATIONS = 1_000
#: Steps of all routes together (kernel rows per step).
MAX_STEPS = 1_000_000
#: Lots of one run: initial WIP plus every release in the horizon (~0.4 kB of kernel state
#: each, so the limit bounds it near 0.4 GB; HVLM's 730 days release about 41,000).
MAX_LOTS = 1_000_000
#: Simulated days of one run (a century; releases are bounded by :data:`MAX_LOTS` too).
MAX_DAYS = 36_500.0
#: Seeds of one command (each keeps its per-lot table until the summary is made).
MAX_SEEDS = 1_000
#: Worker processes of one command.
MAX_WORKERS = 256
#: Bytes of one SMT2020 file (HVLM's largest, WIP.txt, is 180 kB).
MAX_FILE_BYTES = 64 * 1024 * 1024
#: Largest whole number in a count field of an SMT2020 file (the kernel stores int64).
MAX_COUNT = 1_000_000_000
#: Start rate of a generated fab, lots per day (HVLM starts about 56; tools are sized from it).
MAX_LOTS_PER_DAY = 10_000.0
#: Tool families, route steps and products of a generated fab (``fab generate``; HVLM has
#: 106 families, 583 steps in its longest route and 2 products).
MAX_GENERATED_FAMILIES = 1_000
MAX_GENERATED_STEPS = 10_000
MAX_GENERATED_PRODUCTS = 100
