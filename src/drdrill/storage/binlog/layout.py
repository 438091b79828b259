"""Key names of a target's binlog archive: one folder per server key with the objects, index entries and fork records."""

from __future__ import annotations

from dataclasses import dataclass

from drdrill.storage.layout import TargetLayout, target_root

OBJECT_SUFFIX = ".zst"
INDEX_SUFFIX = ".json"


@dataclass(frozen=True)
class BinlogLayout:
    """Key names of a target's binlog archive under a bucket prefix."""

    prefix: str
    target: str

    @classmethod
    def of(cls, layout: BinlogLayout | TargetLayout) -> BinlogLayout:
        """The binlog layout of a target layout (or the layout itself)."""
        return layout if isinstance(layout, BinlogLayout) else cls(layout.prefix, layout.target)

    @property
    def root(self) -> str:
        """The folder with one sub-folder per server key."""
        return f"{target_root(self.prefix, self.target)}binlog/"

    def server_root(self, key: str) -> str:
        """The folder of one server's archived files."""
        return f"{self.root}{key}/"

    def index_root(self, key: str) -> str:
        """The folder of one server's index entries."""
        return f"{self.server_root(key)}index/"

    def object_key(self, key: str, file: str) -> str:
        """The compressed binlog file."""
        return f"{self.server_root(key)}{file}{OBJECT_SUFFIX}"

    def index_key(self, key: str, file: str) -> str:
        """The index entry; its presence is what makes the object count."""
        return f"{self.index_root(key)}{file}{INDEX_SUFFIX}"

    def fork_root(self, key: str) -> str:
        """The folder of one server's fork records."""
        return f"{self.server_root(key)}forks/"

    def fork_key(self, key: str, first_file: str) -> str:
        """The fork record of the history that restarts at ``first_file``."""
        return f"{self.fork_root(key)}{first_file}{INDEX_SUFFIX}"
