"""drdrill: disaster-recovery drills for MySQL/MariaDB, run as Airflow DAGs.

The library lives below this package; only ``drdrill.airflow`` imports Airflow.
"""

from __future__ import annotations

__version__ = "0.1.0"
