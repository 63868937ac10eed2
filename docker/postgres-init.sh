#!/bin/sh
# First start of the postgres service (docker-compose.yml), run by the image's entrypoint as user postgres: the role
# marsad (LOGIN CREATEDB, password from the secret marsad_db_password) and its databases marsad (crawl state) and
# airflow (Airflow's metadata), as `marsad stack up` creates them (src/marsad/stack/_postgres.py). psql's :'pw'
# quotes the password as a literal; the server stores its scram-sha-256 verifier (password_encryption).
set -eu
pw=$(cat /run/secrets/marsad_db_password)
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres -v pw="$pw" <<'SQL'
CREATE ROLE marsad LOGIN CREATEDB PASSWORD :'pw';
CREATE DATABASE marsad OWNER marsad;
CREATE DATABASE airflow OWNER marsad;
SQL
