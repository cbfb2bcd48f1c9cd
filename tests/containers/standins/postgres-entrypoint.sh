#!/bin/sh
# The official PostgreSQL image's entrypoint, in short: as root, own the data directory and
# become the postgres user; on the first start (an empty volume) make the cluster with
# POSTGRES_USER (default postgres) and POSTGRES_PASSWORD, create POSTGRES_DB (default: the
# user's name), and accept password logins (scram-sha-256) from the network. While it is
# being made the server listens on no TCP port, so a client that reaches 5432 finds it ready.
set -e
self=/usr/local/bin/docker-entrypoint.sh
if [ "${1#-}" != "$1" ]; then
    set -- postgres "$@"
fi
if [ "$1" = 'postgres' ] && [ "$(id -u)" = '0' ]; then
    mkdir -p "$PGDATA"
    chown postgres:postgres "$PGDATA"
    chmod 700 "$PGDATA"
    exec setpriv --reuid=postgres --regid=postgres --init-groups "$self" "$@"
fi
if [ "$1" = 'postgres' ] && [ ! -s "$PGDATA/PG_VERSION" ]; then
    if [ -z "$POSTGRES_PASSWORD" ]; then
        echo "Database is uninitialized and superuser password is not specified." >&2
        echo "You must specify POSTGRES_PASSWORD to a non-empty value." >&2
        exit 1
    fi
    user=${POSTGRES_USER:-postgres}
    db=${POSTGRES_DB:-$user}
    pwfile=$(mktemp)
    printf '%s\n' "$POSTGRES_PASSWORD" >"$pwfile"
    initdb --username="$user" --pwfile="$pwfile" --auth-local=trust \
        --auth-host=scram-sha-256 --encoding=UTF8 >/dev/null
    rm -f "$pwfile"
    printf '\nhost all all all scram-sha-256\n' >>"$PGDATA/pg_hba.conf"
    printf "\nlisten_addresses = '*'\n" >>"$PGDATA/postgresql.conf"
    pg_ctl -D "$PGDATA" -o "-c listen_addresses=''" -w start >/dev/null
    if [ "$db" != 'postgres' ]; then
        psql -v ON_ERROR_STOP=1 --username="$user" --dbname=postgres --quiet \
            --command="CREATE DATABASE \"$db\""
    fi
    pg_ctl -D "$PGDATA" -m fast -w stop >/dev/null
    echo "PostgreSQL init process complete; ready for start up."
fi
exec "$@"
