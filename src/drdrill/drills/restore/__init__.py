"""The restore drill: restore a backup into a scratch server, validate it with Great Expectations, measure RTO/RPO.

``steps`` (the steps and their list), ``window`` (the recoverable window it records), ``form`` (the trigger
form), ``details`` (what a run records), ``runner`` (all steps in one process, for the CLI) and ``tasks``
(the Airflow task bodies: the only module here that uses Airflow and resolves connections).
"""
