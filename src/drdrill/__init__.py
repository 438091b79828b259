"""drdrill: disaster-recovery drills for MySQL/MariaDB, run as Airflow DAGs.

The package is layered; a module imports its own layer or a lower one, never a higher one
(``tests/unit/test_layers.py`` reads the imports and fails on an upward one):

1. core vocabulary: ``errors``, ``findings``, ``durations``, ``sizes``, ``endpoints``, ``ports``,
   ``toolenv``, ``daemon``, ``locations``, ``history``
2. ``servers``: local mariadbd instances, identity, replication, GTID positions, topology, faults
3. ``storage``: the object store, streaming pipeline, layout, manifest, catalog, retention, binlogs
4. ``engines``: one module per backup tool, registered once
5. ``config``: the drills YAML, validated
6. ``checks``: source facts, checksums, the Great Expectations suites
7. ``scorecard``: the DR scorecard's queries over the history, its JSON API and page (no Airflow import)
8. ``report``: the DR report of a period (numbers, HTML page, where it goes; no Airflow import)
9. ``airflow``: adapters only (connections, notifier, assets, approval, DAG defaults, runtime)
10. ``drills``: one home per drill kind (steps, Airflow task bodies, the in-process runner); a kind
   builds on earlier kinds only (backup, archive, restore, PITR, failover); and dr_report's form and task bodies
11. ``dags``: the DAG builders, one module per drill kind, ``dr_report``, and ``all_dags()`` for a DAG file
12. ``sandbox`` and ``cli``: the composition roots for the local sandbox and the shell

Only the adapters, the drills' ``tasks`` modules and ``dags`` import Airflow; Airflow connections are resolved
there (or in the CLI) and what they resolve to is passed down as plain values.
"""

from __future__ import annotations

__version__ = "0.1.0"
