"""The backup drill: take a real backup, prove it landed intact, apply retention (steps, runner, Airflow tasks)."""
