"""``drdrill dags install DIR``: the one DAG file that serves drdrill's DAGs from an Airflow DAGs folder.

The file only calls :func:`drdrill.dags.all_dags`, so the DAGs follow the installed package and the drills YAML
(``$DRDRILL_CONFIG``). Its text names "airflow" and "dag": Airflow's DAG discovery safe mode skips any file that
does not. A file of that name that drdrill did not write is never overwritten.
"""

from __future__ import annotations

import os
from pathlib import Path

from drdrill.errors import DrdrillError

FILE_NAME = "drdrill_dags.py"
HEADER = "# Airflow DAG file written by `drdrill dags install`"
CONTENT = (f"{HEADER}: every drdrill DAG for the targets in $DRDRILL_CONFIG.\n"
           "from drdrill.dags import all_dags; DAGS = all_dags()\n")


def install_dag_file(dags_folder: Path) -> dict[str, str]:
    """Write the DAG file into ``dags_folder``: ``created``, ``updated`` (an older one of ours) or ``unchanged``."""
    folder = Path(dags_folder).expanduser()
    if not folder.is_dir():
        raise DrdrillError(f"{folder} is not a directory.",
                           "Give Airflow's DAGs folder (`airflow config get-value core dags_folder`), created first.")
    path = folder / FILE_NAME
    if path.exists():
        text = path.read_text(encoding="utf-8", errors="replace")
        if text == CONTENT:
            return {"file": str(path), "action": "unchanged"}
        if not text.startswith(HEADER):
            raise DrdrillError(f"{path} exists and was not written by drdrill; it is left as it is.",
                               "Move it away, or install into another DAGs folder.")
        action = "updated"
    else:
        action = "created"
    partial = path.with_name(f".{FILE_NAME}.{os.getpid()}.tmp")  # the DAG processor never sees half a file
    partial.write_text(CONTENT, encoding="utf-8")
    partial.replace(path)
    return {"file": str(path), "action": action}
