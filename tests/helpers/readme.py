"""The README's fenced shell blocks, so tests run the commands as a user reads them."""

from __future__ import annotations

import re
from pathlib import Path

README = Path(__file__).resolve().parents[2] / "README.md"


def section(heading: str) -> str:
    """The text of README.md's ``## heading`` section, up to the next ``## `` heading."""
    parts = README.read_text().split(f"\n## {heading}\n", 1)
    assert len(parts) == 2, f"README.md has no section '## {heading}'"
    return parts[1].split("\n## ", 1)[0]


def shell_block(heading: str) -> list[str]:
    """The first fenced block under the ``## heading`` of README.md, as commands: continuation lines joined,
    comments and blank lines dropped."""
    block = re.search(r"^```[a-z]*\n(.*?)^```", section(heading), re.S | re.M)
    assert block, f"README.md's section '{heading}' has no fenced block"
    commands, pending = [], ""
    for line in block.group(1).splitlines():
        line = pending + re.sub(r"\s+#\s.*$", "", line).strip() if not line.lstrip().startswith("#") else pending
        if line.endswith("\\"):
            pending = line[:-1] + " "
            continue
        pending = ""
        if line.strip():
            commands.append(line.strip())
    return commands
