"""A small file system of its own (tmpfs, mounted by the test as root) to fill up: a server's disk running full.

Each mount point is unique to the run (``mkdtemp``) and is unmounted and removed afterwards, whatever happened.
"""

from __future__ import annotations

import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

FILLER = "disk-filler"


@contextmanager
def small_disk(size_mb: int, prefix: str = "drd-disk-") -> Iterator[Path]:
    """A fresh tmpfs of ``size_mb`` MiB below /tmp (short paths: sockets live there); unmounted afterwards."""
    mount_point = Path(tempfile.mkdtemp(prefix=prefix))
    try:
        subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size_mb}m,mode=0700", "tmpfs", str(mount_point)],
                       check=True, capture_output=True, text=True)
    except subprocess.CalledProcessError as exc:
        mount_point.rmdir()
        raise RuntimeError(f"mount -t tmpfs on {mount_point} failed (the tests run as root): {exc.stderr}") from exc
    try:
        yield mount_point
    finally:
        if subprocess.run(["umount", str(mount_point)], capture_output=True).returncode != 0:
            subprocess.run(["umount", "-l", str(mount_point)], check=True)  # a process still holds a file open
        mount_point.rmdir()


def fill(disk: Path) -> int:
    """Write one file until the file system has no byte left (ENOSPC); returns the bytes written."""
    written = 0
    with open(disk / FILLER, "wb", buffering=0) as filler:
        block = b"\0" * 65536
        try:
            while True:
                written += filler.write(block)
        except OSError:
            pass
    return written


def free(disk: Path) -> None:
    """Remove what ``fill`` wrote."""
    (disk / FILLER).unlink(missing_ok=True)
