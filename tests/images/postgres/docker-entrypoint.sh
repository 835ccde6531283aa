#!/bin/sh
# Minimal entrypoint for the holdfast postgres test image: same observable
# behaviour as the official image's (init an empty $PGDATA, keep an existing
# one, run the server as the postgres user), written from scratch.
set -eu

# "docker run image -c foo=bar" means: postgres with these options
case "${1:-}" in -*) set -- postgres "$@" ;; esac

if [ "${1:-}" = postgres ] && [ "$(id -u)" = 0 ]; then
	mkdir -p "$PGDATA" /var/run/postgresql
	chown postgres:postgres "$PGDATA" /var/run/postgresql
	chmod 700 "$PGDATA"
	exec gosu postgres "$0" "$@"
fi

if [ "${1:-}" = postgres ]; then
	if [ -s "$PGDATA/PG_VERSION" ]; then
		echo "PostgreSQL Database directory appears to contain a database; Skipping initialization"
	else
		user="${POSTGRES_USER:-postgres}"
		db="${POSTGRES_DB:-$user}"
		password="${POSTGRES_PASSWORD:-}"
		if [ -n "${POSTGRES_HOST_AUTH_METHOD:-}" ]; then
			method="$POSTGRES_HOST_AUTH_METHOD"
		elif [ -n "$password" ]; then
			method=scram-sha-256
		else
			method=trust
			echo "WARNING: no POSTGRES_PASSWORD set, network connections are trusted" >&2
		fi
		pwfile=
		if [ -n "$password" ]; then
			pwfile="$(mktemp)"
			printf '%s\n' "$password" >"$pwfile"
		fi
		# shellcheck disable=SC2086
		initdb -D "$PGDATA" --username="$user" --encoding=UTF8 --locale=C.UTF-8 \
			--auth-local=trust --auth-host="$method" ${pwfile:+--pwfile="$pwfile"} \
			${POSTGRES_INITDB_ARGS:-}
		[ -z "$pwfile" ] || rm -f "$pwfile"
		printf "\nlisten_addresses = '*'\n" >>"$PGDATA/postgresql.conf"
		printf "\nhost all all all %s\n" "$method" >>"$PGDATA/pg_hba.conf"

		if [ "$db" != postgres ] || [ -n "$(ls -A /docker-entrypoint-initdb.d 2>/dev/null)" ]; then
			# temporary server on a private socket only, so nobody sees it "ready"
			sock="$(mktemp -d)"
			pg_ctl -D "$PGDATA" -w -o "-c listen_addresses='' -c unix_socket_directories=$sock" start
			export PGHOST="$sock" PGUSER="$user"
			if [ "$db" != postgres ]; then
				echo 'CREATE DATABASE :"db";' | psql -v ON_ERROR_STOP=1 -d postgres -v db="$db"
			fi
			for f in /docker-entrypoint-initdb.d/*; do
				# shellcheck disable=SC1090  # init scripts are sourced, as upstream does
				case "$f" in
				*.sh) echo "running $f"; . "$f" ;;
				*.sql) echo "running $f"; psql -v ON_ERROR_STOP=1 -d "$db" -f "$f" ;;
				*.sql.gz) echo "running $f"; gunzip -c "$f" | psql -v ON_ERROR_STOP=1 -d "$db" ;;
				esac
			done
			pg_ctl -D "$PGDATA" -m fast -w stop
			rm -rf "$sock"
			unset PGHOST PGUSER
		fi
		echo "PostgreSQL init process complete; ready for start up."
	fi
fi

exec "$@"
