"""Tables spread over validation lanes: the biggest first, each to the least loaded lane, the same way every time."""

from __future__ import annotations

import pytest

from drdrill.checks.lanes import assign_lanes

pytestmark = pytest.mark.unit


def test_the_biggest_tables_go_to_different_lanes_and_small_ones_fill_the_lighter_lane() -> None:
    weights = {"shop.orders": 900, "shop.customers": 500, "shop.items": 300, "shop.notes": 150, "shop.tags": 10}
    lanes = assign_lanes(weights, 2)
    assert lanes["shop.orders"] != lanes["shop.customers"]
    loads = [sum(w for name, w in weights.items() if lanes[name] == lane) for lane in (0, 1)]
    assert sorted(loads) == [910, 950]
    assert assign_lanes(weights, 2) == lanes  # deterministic


def test_one_lane_holds_everything_and_empty_tables_still_count() -> None:
    assert set(assign_lanes({"a": 5, "b": 0, "c": 7}, 1).values()) == {0}
    assert sorted(assign_lanes({"a": 0, "b": 0, "c": 0}, 3).values()) == [0, 1, 2]
    assert assign_lanes({}, 4) == {}
    with pytest.raises(ValueError, match="at least one lane"):
        assign_lanes({"a": 1}, 0)
