#!/bin/sh
# PostgreSQL from Debian's package behind the interface of the official postgres image that
# docker-compose.yml relies on: POSTGRES_USER, POSTGRES_PASSWORD and POSTGRES_DB create the
# role and database on the first start, the data lives in $PGDATA, the server listens on 5432
# with password authentication over the network. For the compose smoke test only.
set -eu
: "${POSTGRES_PASSWORD:?set POSTGRES_PASSWORD}" "${POSTGRES_USER:=postgres}" "${POSTGRES_DB:=$POSTGRES_USER}"

if [ ! -s "$PGDATA/PG_VERSION" ]; then
    pwfile=$(mktemp)
    printf '%s\n' "$POSTGRES_PASSWORD" >"$pwfile"
    initdb --pgdata="$PGDATA" --username="$POSTGRES_USER" --pwfile="$pwfile" \
        --auth-local=trust --auth-host=scram-sha-256 --encoding=UTF8 --locale=C.UTF-8 >/dev/null
    rm -f "$pwfile"
    echo "host all all all scram-sha-256" >>"$PGDATA/pg_hba.conf"
    # Single-user mode, not a temporary server: nothing answers pg_isready (the health check)
    # before the database exists.
    if [ "$POSTGRES_DB" != postgres ]; then
        echo "CREATE DATABASE \"$POSTGRES_DB\" OWNER \"$POSTGRES_USER\"" |
            postgres --single -D "$PGDATA" postgres >/dev/null
    fi
fi

exec postgres -D "$PGDATA" -c listen_addresses='*'
