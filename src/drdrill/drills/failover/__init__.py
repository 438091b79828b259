"""The failover drill: break the primary, promote the replica, measure, put the topology back, prove it.

``steps`` is the step list (the runner, the DAG's tasks, the bench and the tests share it); ``path`` the one
interface of a run's steps, implemented by ``self_managed`` (a primary and its replica: drdrill promotes) and
``managed`` (RDS/Aurora: AWS promotes), chosen once per run from the target's fault; ``runner`` runs the
steps in one process (``drdrill failover``); ``tasks`` holds the DAG's task bodies and is the only module here
that uses Airflow or resolves its connections.
"""
