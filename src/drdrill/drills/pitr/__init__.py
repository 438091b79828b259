"""The point-in-time-recovery drill: a base backup plus archived binlogs replayed to a second, checked on both sides.

It builds on the restore drill (fetch, scratch server, base restore, teardown). ``steps``, ``form``,
``details``, ``runner`` and ``tasks`` (the Airflow task bodies: the only module here that uses Airflow and
resolves connections), as in ``drdrill.drills.restore``.
"""
