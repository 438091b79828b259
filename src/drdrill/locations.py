"""Where drdrill finds the user's project: the drills YAML and the directory ``{root}`` stands for.

Never derived from where this package is installed: an installed wheel lives in site-packages.
The project is the directory that holds Airflow's DAGs folder (Airflow's and Astro's convention:
``dags/`` and ``include/`` side by side), and ``$DRDRILL_CONFIG`` overrides the config's place.
"""

from __future__ import annotations

import os
from pathlib import Path

CONFIG_ENV_VAR = "DRDRILL_CONFIG"
DAGS_FOLDER_ENV_VAR = "AIRFLOW__CORE__DAGS_FOLDER"
CONFIG_RELATIVE_PATH = Path("include") / "drills.yaml"


def project_root() -> Path:
    """The project directory: the DAGs folder's parent, else the working directory, else ``$AIRFLOW_HOME``.

    1. ``$AIRFLOW__CORE__DAGS_FOLDER`` set: its parent (``<project>/dags`` → ``<project>``).
    2. The working directory when it holds ``include/drills.yaml`` (running ``drdrill`` in a project).
    3. ``$AIRFLOW_HOME`` (default ``~/airflow``), whose ``dags/`` is Airflow's default DAGs folder.
    """
    dags_folder = os.environ.get(DAGS_FOLDER_ENV_VAR, "").strip()
    if dags_folder:
        return Path(dags_folder).expanduser().resolve().parent
    here = Path.cwd()
    if (here / CONFIG_RELATIVE_PATH).is_file():
        return here
    return Path(os.environ.get("AIRFLOW_HOME") or "~/airflow").expanduser().resolve()


def default_config_path() -> Path:
    """``$DRDRILL_CONFIG`` if set, else ``<project root>/include/drills.yaml``."""
    from_env = os.environ.get(CONFIG_ENV_VAR, "").strip()
    if from_env:
        return Path(from_env).expanduser()
    return project_root() / CONFIG_RELATIVE_PATH
