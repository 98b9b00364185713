#!/bin/sh
# Entry point of the compose service `postgres-replica`: a hot standby of `postgres`.
# First start (empty PGDATA): pg_basebackup from the primary as `replicator` (created by db-init),
# streaming the WAL it needs (-X stream), creating the physical slot `replica_1` (-C -S) so the
# primary keeps WAL the standby has not received yet, and writing standby.signal plus
# primary_conninfo (-R). Later starts: the data directory is already a standby. Then the image's own
# entrypoint runs postgres as usual (hot_standby is on by default).
set -eu
: "${PRIMARY_HOST:?}" "${REPLICATION_DB_PASSWORD:?}" "${PGDATA:?}"

if [ ! -s "$PGDATA/PG_VERSION" ]; then
  mkdir -p "$PGDATA"
  chown postgres:postgres "$PGDATA"
  chmod 700 "$PGDATA"
  # a slot left by an earlier replica whose volume was removed would make -C fail: drop it first
  export PGPASSWORD="$REPLICATION_DB_PASSWORD"
  until pg_isready -h "$PRIMARY_HOST" -U replicator -d postgres -q; do sleep 1; done
  psql "host=$PRIMARY_HOST user=replicator replication=true" -qc "DROP_REPLICATION_SLOT replica_1" 2>/dev/null || true
  gosu postgres pg_basebackup -h "$PRIMARY_HOST" -U replicator -D "$PGDATA" -X stream -C -S replica_1 -R --checkpoint=fast
  unset PGPASSWORD
  echo "base backup of $PRIMARY_HOST taken; starting as a standby"
fi
exec docker-entrypoint.sh postgres
