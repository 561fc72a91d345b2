#!/bin/sh
# The image's entrypoint: the first argument picks the role; the rest are its options.
#   webserver | scheduler | worker | notifier | triggerer  -> loom <role> [options]
#   migrate                                    -> loom db upgrade
#   wait-for-migrations                        -> loom db check until it passes
#                                                 (LOOM_MIGRATION_WAIT seconds, 300)
#   anything else                              -> run as given (loom dags list, sh, ...)
set -eu

wait_for_migrations() {
  deadline=$(( $(date +%s) + ${LOOM_MIGRATION_WAIT:-300} ))
  until loom db check; do
    if [ "$(date +%s)" -ge "$deadline" ]; then
      echo "loom-entrypoint: the database is still not migrated; giving up" >&2
      exit 1
    fi
    echo "loom-entrypoint: waiting for the migration (loom db upgrade)" >&2
    sleep 5
  done
}

role=${1:-webserver}
[ "$#" -gt 0 ] && shift
case "$role" in
  webserver | scheduler | worker | notifier | triggerer) exec loom "$role" "$@" ;;
  migrate) exec loom db upgrade "$@" ;;
  wait-for-migrations) wait_for_migrations ;;
  *) exec "$role" "$@" ;;
esac
