"""The kernel's event queue (a calendar queue) takes events in exactly (time, seq) order.

Checked against :mod:`heapq` on (time, seq) over long random runs with many equal times,
changes of event density (so the bucket width is re-set and every event re-filed) and gaps
longer than a whole cycle of buckets (so the earliest event is found by the full search).
"""

from __future__ import annotations

import heapq

import numpy as np
import pytest

from fabnet.fab import engine as E


def _queue(n_events: int, n_buckets: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    ht, hi = E.queue_arrays(n_events, n_buckets)
    st = np.zeros(E.N_ST, dtype=np.int64)
    E.init_queue(ht, hi, st, n_buckets)
    return ht, hi, st


def _pop(ht: np.ndarray, hi: np.ndarray, st: np.ndarray) -> tuple[float, int, int]:
    h = int(E._top(ht, hi, st))
    assert h >= 0
    t, seq, ident = float(ht[h]), int(hi[h, E.Q_SEQ]), int(hi[h, E.Q_PAY]) >> E._TYPE_BITS
    E._pop(ht, hi, st, h)
    return t, seq, ident


@pytest.mark.parametrize("n_buckets", [8, 64, 4096])
def test_same_order_as_a_heap_on_time_and_seq(n_buckets: int) -> None:
    rng = np.random.default_rng(7)
    ht, hi, st = _queue(2_000, n_buckets)
    ref: list[tuple[float, int]] = []
    seq = 0
    for k in range(500):  # initial events, many at equal times
        t = float(rng.integers(0, 50))
        E._push(ht, hi, st, t, 1, k, 0)
        heapq.heappush(ref, (t, seq))
        seq += 1
    n_pops = 0
    for phase, scale in enumerate((1.0, 0.001, 5_000.0, 3.0)):  # dense, denser, sparse, back
        for _ in range(3 * E.QN_ADAPT):
            t, s, ident = _pop(ht, hi, st)
            assert (t, s) == heapq.heappop(ref), f"phase {phase}, pop {n_pops}"
            assert ident == s % 1000  # the payload travels with its event
            n_pops += 1
            for _ in range(int(rng.integers(0, 3)) if len(ref) > 50 else 2):
                # ties: whole multiples of the scale, and zero delays
                dt = float(np.floor(rng.exponential(20.0))) * scale
                E._push(ht, hi, st, t + dt, 1, seq % 1000, 0)
                heapq.heappush(ref, (t + dt, seq))
                seq += 1
    while ref:
        assert _pop(ht, hi, st)[:2] == heapq.heappop(ref)
    assert st[E.ST_HSIZE] == 0 and E._top(ht, hi, st) == -1


def test_a_gap_longer_than_a_cycle_is_found() -> None:
    ht, hi, st = _queue(16, 8)
    for t in (1.0e6, 3.0, 2.5e9, 3.0):
        E._push(ht, hi, st, t, 0, 0, 0)
    assert [_pop(ht, hi, st)[:2] for _ in range(4)] == [(3.0, 1), (3.0, 3), (1.0e6, 0), (2.5e9, 2)]


def test_full_queue_sets_the_error_flag() -> None:
    ht, hi, st = _queue(3, 8)
    for _ in range(4):
        E._push(ht, hi, st, 1.0, 0, 0, 0)
    assert st[E.ST_ERR] == 1 and st[E.ST_HSIZE] == 3
