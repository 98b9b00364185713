#!/bin/sh
# One-shot job (compose service `db-init`), idempotent, run on every `docker compose up`:
#  - creates the four service roles when missing, with the same attributes as
#    migrations/default/1763700000000_roles_and_schemas (which then finds them and skips creation);
#  - (re)sets their passwords from env, so rotating a password is an env change plus `up`;
#  - the same for `replicator` (LOGIN REPLICATION only), the streaming replica's role
#    (docker/postgres/replica.sh, docker/postgres/pg_hba.conf);
#  - creates the application database owned by links_admin: Hasura's cli-migrations image applies
#    migrations/ through its `default` source (HASURA_GRAPHQL_DATABASE_URL, role links_admin), and
#    those create schemas, a trusted extension and grants, which the database owner may do.
set -eu
: "${PGHOST:?}" "${PGUSER:?}" "${PGPASSWORD:?}" "${LINKPORT_DB:?}"
: "${CORE_DB_PASSWORD:?}" "${MEDIA_DB_PASSWORD:?}" "${REDIRECT_DB_PASSWORD:?}" "${LINKS_DB_PASSWORD:?}"
: "${REPLICATION_DB_PASSWORD:?}"

psql -v ON_ERROR_STOP=1 --dbname postgres \
  -v core_pw="$CORE_DB_PASSWORD" -v media_pw="$MEDIA_DB_PASSWORD" \
  -v redirect_pw="$REDIRECT_DB_PASSWORD" -v links_pw="$LINKS_DB_PASSWORD" \
  -v replication_pw="$REPLICATION_DB_PASSWORD" \
  -v db="$LINKPORT_DB" <<'SQL'
SELECT format('CREATE ROLE %I LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE', r)
  FROM unnest(ARRAY['core_service', 'media_service', 'redirect_service', 'links_admin']) AS r
 WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = r)
\gexec
ALTER ROLE core_service PASSWORD :'core_pw';
ALTER ROLE media_service PASSWORD :'media_pw';
ALTER ROLE redirect_service PASSWORD :'redirect_pw';
ALTER ROLE links_admin PASSWORD :'links_pw';
SELECT 'CREATE ROLE replicator LOGIN REPLICATION NOSUPERUSER NOCREATEDB NOCREATEROLE'
 WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'replicator')
\gexec
ALTER ROLE replicator PASSWORD :'replication_pw';
SELECT format('CREATE DATABASE %I OWNER links_admin', :'db')
 WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = :'db')
\gexec
SQL
echo "roles and database ready"
