#!/bin/sh
# One-shot job (compose service `redis-cluster-init`): forms the Redis Cluster of CLUSTER_NODES on
# first start — 3 masters, one replica each (`redis-cli --cluster create … --cluster-replicas 1`,
# Redis docs "Scale with Redis Cluster") — and does nothing once a node already knows the others
# (every later `docker compose up`). Exits 0 when every one of the 16384 slots is served
# (cluster_state:ok), so the services that wait for it start against a working cluster.
# REDISCLI_AUTH carries the password; nodes are given by address (resolved here) and announce their
# service names themselves (cluster-announce-hostname in docker-compose.yml).
set -eu
: "${CLUSTER_NODES:?}" "${REDISCLI_AUTH:?}"
# entries are host or host:port (6379 when absent)
first=${CLUSTER_NODES%% *}
first_host=${first%%:*}
first_port=6379
case "$first" in *:*) first_port=${first##*:} ;; esac
info() { redis-cli -h "$first_host" -p "$first_port" cluster info | tr -d '\r'; }

known=$(info | sed -n 's/^cluster_known_nodes://p')
if [ "${known:-1}" -le 1 ]; then
  addrs=""
  for n in $CLUSTER_NODES; do
    host=${n%%:*}
    port=6379
    case "$n" in *:*) port=${n##*:} ;; esac
    ip=$(getent hosts "$host" | awk '{print $1; exit}')
    [ -n "$ip" ] || { echo "cannot resolve $host" >&2; exit 1; }
    addrs="$addrs $ip:$port"
  done
  # shellcheck disable=SC2086 # one argument per node
  redis-cli --cluster create $addrs --cluster-replicas 1 --cluster-yes
else
  echo "cluster already formed ($known nodes known to $first)"
fi

i=0
until info | grep -q '^cluster_state:ok$'; do
  i=$((i + 1))
  [ "$i" -le 60 ] || { echo "cluster not ok after 60 s" >&2; info >&2; exit 1; }
  sleep 1
done
echo "redis cluster ok"
