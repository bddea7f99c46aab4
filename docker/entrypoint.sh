#!/bin/sh
# One image, four commands: the app (or the one-shot migration) is the first argument.
set -eu
cd "$(dirname "$0")/.."

usage() {
  echo "usage: entrypoint.sh api-gateway | session-worker | webhook-dispatcher | migrate" >&2
  exit 64
}

[ "$#" -ge 1 ] || usage
command="$1"
shift
case "$command" in
  api-gateway | session-worker | webhook-dispatcher)
    exec node "apps/$command/dist/main.js" "$@"
    ;;
  migrate)
    # Refuses to fall back to an embedded database: in a container DATABASE_URL must be given.
    if [ -z "${DATABASE_URL:-}" ]; then
      echo "migrate: DATABASE_URL is required" >&2
      exit 78
    fi
    exec node tools/cli/dist/migrate.js deploy
    ;;
  *)
    usage
    ;;
esac
