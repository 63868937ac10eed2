-- First start of the postgres service (docker-compose.yml): the image creates POSTGRES_DB (marsad, the crawl
-- state); Airflow's metadata database is created here, as `marsad stack up` creates both (src/marsad/stack/_postgres.py).
CREATE DATABASE airflow;
