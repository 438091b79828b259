# drdrill's Airflow image: the official Airflow image plus the MariaDB server and tools every drill runs, and drdrill.
#
# NEVER BUILT: there is no Docker engine on the machine this was written on (tests/unit/test_docker_compose.py
# checks what it can without one). Expect to fix small things the first time it is built.
#
# Build from the project root (docker-compose.yaml does this for you):
#   docker build -f docker/airflow.Dockerfile -t drdrill-airflow:3.3.2 .
#
# drdrill is installed as a package (from src/): its plugin through the package's entry point, its DAGs by the file
# `drdrill dags install` writes. Its config is $DRDRILL_CONFIG (set in docker-compose.yaml).
FROM apache/airflow:3.3.2-python3.11

# The MariaDB version of docker-compose.yaml's servers (mariadb:<this>): mariabackup must match the server.
ARG MARIADB_VERSION=10.11.19

USER root
# The tools the engines run, and a MariaDB server for the restore and PITR drills' scratch servers (mariadbd,
# mariadb-install-db: a drill's `recover` task starts one inside the worker that runs it). The image is Debian 12
# based: MariaDB 10.11 and mydumper 0.10 (gzip only). The build stops when Debian's MariaDB is not the servers'.
RUN apt-get update \
    && apt-get install -y --no-install-recommends \
        mariadb-server mariadb-client mariadb-backup mydumper zstd tar procps \
    && apt-get clean \
    && rm -rf /var/lib/apt/lists/* \
    && mariadbd --version | grep -q -- " ${MARIADB_VERSION}-MariaDB" \
    || { echo "Debian ships $(mariadbd --version); docker-compose.yaml's servers are ${MARIADB_VERSION}:" \
              "set the mariadb image tag and MARIADB_VERSION to the same version" >&2; exit 1; }
# mariadbd and mariadb-install-db live in /usr/sbin
ENV PATH="${PATH}:/usr/sbin"

USER airflow
COPY --chown=airflow:root pyproject.toml constraints.txt README.md /opt/drdrill/
COPY --chown=airflow:root src /opt/drdrill/src
# drdrill and its dependencies, pinned by the project's tested constraints; Airflow itself stays at the
# image's version (pip would otherwise be free to move it). If a pin differs from the wheel the image
# ships (mysqlclient is the likely one), pip builds it from source: then add
# "build-essential pkg-config libmariadb-dev" to the apt-get line above.
RUN pip install --no-cache-dir "apache-airflow==${AIRFLOW_VERSION}" /opt/drdrill -c /opt/drdrill/constraints.txt

# The DAGs: the one file that serves every drill DAG of the configured targets (drdrill.dags.all_dags()).
RUN mkdir -p /opt/airflow/dags && drdrill dags install /opt/airflow/dags

# drdrill's directories: work dir (downloads, scratch servers), the streamer's spool, the failover drill's control
# volume. Created here so the named volumes mounted on them start out owned by the airflow user.
RUN mkdir -p /opt/airflow/work /opt/airflow/spool /opt/airflow/control
