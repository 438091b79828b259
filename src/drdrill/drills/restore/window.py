"""The recoverable window as a restore record carries it: how far back point-in-time recovery can reach now."""

from __future__ import annotations

from drdrill.config import Target
from drdrill.drills.layouts import layout_for
from drdrill.errors import DrdrillError
from drdrill.storage.binlog.window import recoverable_window
from drdrill.storage.objectstore import ObjectStore
from drdrill.storage.seal import SigningKey


def window_details(target: Target, store: ObjectStore, *, signing_key: SigningKey | None) -> dict[str, str | None]:
    """The window's start and end for drill records; both None when there is none or it cannot be read."""
    try:
        window = recoverable_window(store, layout_for(target), signing_key=signing_key)
    except DrdrillError:  # an unreadable archive index: the window is unknown, not empty
        window = None
    return {"pitr_window_start": window[0].isoformat() if window else None,
            "pitr_window_end": window[1].isoformat() if window else None}
