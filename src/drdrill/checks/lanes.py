"""Tables spread over the lanes a validation runs at once: biggest first, each to the least loaded lane."""

from __future__ import annotations

import heapq
from collections.abc import Mapping


def assign_lanes(weights: Mapping[str, int], lanes: int) -> dict[str, int]:
    """Each name's lane (0 .. ``lanes`` - 1), balancing the sum of the weights (rows, say) per lane; ties keep the
    given order, so the same tables always land in the same lanes."""
    if lanes < 1:
        raise ValueError("a validation runs in at least one lane")
    loads = [(0, lane) for lane in range(lanes)]
    assigned = {}
    for name, weight in sorted(weights.items(), key=lambda item: -item[1]):
        load, lane = heapq.heappop(loads)
        assigned[name] = lane
        heapq.heappush(loads, (load + max(weight, 1), lane))
    return assigned
