#!/bin/sh
# Minimal entrypoint for the holdfast redis test image: like the official
# one, give /data to the redis user and drop root before starting the server.
set -eu

# "docker run image --port 7000" or "docker run image my.conf": redis-server args
case "${1:-}" in -* | *.conf) set -- redis-server "$@" ;; esac

if [ "${1:-}" = redis-server ] && [ "$(id -u)" = 0 ]; then
	chown -R redis:redis /data
	exec gosu redis "$@"
fi

exec "$@"
