"""What a drill run may leave on a machine: its scratch servers' processes."""

from __future__ import annotations

from pathlib import Path


def scratch_processes(work_dir: Path) -> list[str]:
    """mariadbd processes whose option file lives in a scratch server of this work dir (or its short link)."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            cmdline = (entry / "cmdline").read_bytes().decode(errors="replace")
        except (FileNotFoundError, ProcessLookupError, NotADirectoryError, PermissionError):
            continue
        if "mariadbd" in cmdline and str(work_dir / "scratch") in resolved_defaults(cmdline):
            found.append(f"{entry.name} {cmdline.replace(chr(0), ' ')}")
    return found


def resolved_defaults(cmdline: str) -> str:
    """The resolved path of a command line's --defaults-file (empty without one)."""
    for part in cmdline.split("\0"):
        if part.startswith("--defaults-file="):
            return str(Path(part.split("=", 1)[1]).resolve())
    return ""
