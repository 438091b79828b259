"""The DR report of a period: its numbers read from the drill history (``numbers``), one self-contained HTML page
with inline SVG charts (``page``), and where it is stored and what Slack is told (``publish``).

The ``dr_report`` DAG's tasks (``drdrill.drills.report``) and ``drdrill report`` call these; nothing here imports
Airflow or resolves a connection.
"""
