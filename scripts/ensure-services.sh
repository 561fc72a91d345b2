#!/usr/bin/env bash
# Make sure PostgreSQL, Redis and RabbitMQ answer on 127.0.0.1; start an installed one
# that is stopped. Never installs a server: a machine without one fails the tests that
# need it (in CI) or skips them (elsewhere).
set -uo pipefail

reachable() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

wait_for() {
  local name=$1 port=$2
  for _ in $(seq 1 60); do
    reachable "$port" && { echo "services: $name is up on 127.0.0.1:$port"; return 0; }
    sleep 1
  done
  echo "services: $name did not come up on 127.0.0.1:$port" >&2
  return 1
}

ensure() {
  local name=$1 port=$2 probe=$3 start=$4
  if reachable "$port"; then echo "services: $name is up on 127.0.0.1:$port"; return 0; fi
  if ! command -v "$probe" >/dev/null 2>&1; then
    echo "services: $name is not installed here (no $probe)" >&2
    return 0
  fi
  echo "services: starting $name"
  bash -c "$start" || echo "services: could not start $name" >&2
  wait_for "$name" "$port"
}

ensure PostgreSQL 5432 pg_ctlcluster \
  'pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -1)" main start'
ensure Redis 6379 redis-server \
  'redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no --dir /var/lib/redis --logfile /var/log/redis/ci.log'
ensure RabbitMQ 5672 rabbitmq-server 'rabbitmq-server -detached'
exit 0
