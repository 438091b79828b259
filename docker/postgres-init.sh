#!/bin/bash
# Run by the postgres image once, when it initializes its data volume: the drill history's own login and database
# (settings.history_url in docker/drills.yaml). The password comes on stdin, never in argv.
set -euo pipefail
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" <<SQL
CREATE ROLE drdrill_history LOGIN PASSWORD '${DRDRILL_HISTORY_PASSWORD}';
CREATE DATABASE drdrill_history OWNER drdrill_history;
SQL
