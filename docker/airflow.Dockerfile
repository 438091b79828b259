# drdrill's Airflow image: the official Airflow image plus the backup tools and drdrill's Python dependencies.
#
# NOT BUILT IN CI: there is no Docker on the machine this was written on. It is a first version;
# expect to fix small things the first time it is built.
#
# Build from the project root (docker-compose.yaml does this for you):
#   docker build -f docker/airflow.Dockerfile -t drdrill-airflow:3.3.2 .
#
# drdrill is installed as a package (from src/); Airflow's plugins folder holds only its plugin
# registration module. Its config is $DRDRILL_CONFIG (set in docker-compose.yaml); "{root}" in the config
# stands for the DAGs folder's parent, /opt/airflow.
FROM apache/airflow:3.3.2-python3.11

USER root
# The tools the engines run. The image is Debian 12 based, so these are MariaDB 10.11 client tools
# and mydumper 0.10 (gzip only). mariadb-backup must match the server's major version and needs the
# server's datadir on the same host, so in docker-compose the physical engine is not usable.
# Restore drills that start scratch servers inside the worker will also need mariadb-server
# (mariadbd, mariadb-install-db); add it here when those drills run in this image.
RUN apt-get update \
    && apt-get install -y --no-install-recommends mariadb-client mariadb-backup mydumper zstd tar \
    && apt-get clean \
    && rm -rf /var/lib/apt/lists/*

USER airflow
COPY --chown=airflow:root pyproject.toml constraints.txt README.md /opt/drdrill/
COPY --chown=airflow:root src /opt/drdrill/src
# drdrill and its dependencies, pinned by the project's tested constraints; Airflow itself stays at the
# image's version (pip would otherwise be free to move it). If a pin differs from the wheel the image
# ships (mysqlclient is the likely one), pip builds it from source: then add
# "build-essential pkg-config libmariadb-dev" to the apt-get line above.
RUN pip install --no-cache-dir "apache-airflow==${AIRFLOW_VERSION}" /opt/drdrill -c /opt/drdrill/constraints.txt

# drdrill's state directory ({root}/.sandbox: work dir, SQLite history). Created here so the named
# volume mounted on it in docker-compose starts out owned by the airflow user.
RUN mkdir -p /opt/airflow/.sandbox/work
