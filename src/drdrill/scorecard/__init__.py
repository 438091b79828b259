"""The DR scorecard: what the drill history says about each target (``queries``), served as JSON and one HTML page
(``app``) that drdrill's Airflow plugin mounts in the API server."""
