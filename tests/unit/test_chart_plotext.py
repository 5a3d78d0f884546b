"""The chart's faster stand-in for plotext's `hd_group` gives plotext's own result."""

from __future__ import annotations

import math
import random

import plotext._utility as plotext_utility
import pytest

from mlflow_tui.widgets.chart import _PLOTEXT_HD_GROUP, _faster_plotext, _hd_group


def _dots(rng: random.Random, n: int, spread: int) -> tuple[list[int], list[int]]:
    x = [rng.randint(-3, spread) for _ in range(n)]
    y = [rng.randint(-3, spread // 2) for _ in range(n)]
    return x, y


@pytest.mark.parametrize("factors", [(2, 4), (2, 3), (2, 2)])  # braille, fhd, hd
@pytest.mark.parametrize("seed", range(5))
def test_hd_group_is_plotexts(factors: tuple[int, int], seed: int):
    assert _PLOTEXT_HD_GROUP is not None
    rng = random.Random(seed)
    x, y = _dots(rng, rng.randint(1, 3000), rng.choice((8, 60, 400)))
    xf, yf = [factors[0]] * len(x), [factors[1]] * len(x)
    got = _hd_group(x, y, xf, yf)
    want = _PLOTEXT_HD_GROUP(list(x), list(y), list(xf), list(yf))
    assert [list(part) for part in got] == [list(part) for part in want]
    assert len(got[0]) < len(x) or len(x) < 10  # dots do share cells: a real grouping


def test_other_input_goes_to_plotext():
    assert _PLOTEXT_HD_GROUP is not None
    x, y = [0, 1, 2, 3], [0.0, 1.5, 2.0, math.nan]  # not integer dots
    xf, yf = [2, 2, 2, 2], [4, 4, 4, 4]
    assert _hd_group(x, y, xf, yf) == _PLOTEXT_HD_GROUP(x, y, xf, yf)
    mixed = ([0, 1, 5], [0, 2, 7], [2, 2, 1], [4, 4, 1])  # dots of different sizes
    assert _hd_group(*mixed) == _PLOTEXT_HD_GROUP(*mixed)


def test_stand_in_only_while_the_chart_builds():
    assert plotext_utility.hd_group is _PLOTEXT_HD_GROUP
    with _faster_plotext():
        assert plotext_utility.hd_group is _hd_group
    assert plotext_utility.hd_group is _PLOTEXT_HD_GROUP
    with pytest.raises(RuntimeError), _faster_plotext():
        raise RuntimeError("a failed build")
    assert plotext_utility.hd_group is _PLOTEXT_HD_GROUP
