#!/bin/sh
# First start: create the data directory, set root's password (for root@localhost and root@'%', as
# the mysql image does) and create MYSQL_DATABASE; then run the server in the foreground with the
# flags given as the command.
set -eu
datadir=/var/lib/mysql
if [ ! -d "$datadir/mysql" ]; then
  : "${MYSQL_ROOT_PASSWORD:?MYSQL_ROOT_PASSWORD is required on first start}"
  mariadb-install-db --user=mysql --datadir="$datadir" --skip-test-db --auth-root-authentication-method=normal >/dev/null
  mariadbd --user=mysql --datadir="$datadir" --skip-networking --socket=/run/mysqld/init.sock &
  pid=$!
  i=0
  until mariadb-admin --socket=/run/mysqld/init.sock ping --silent 2>/dev/null; do
    i=$((i + 1)); [ "$i" -lt 60 ] || { echo "mariadb did not start" >&2; exit 1; }
    sleep 1
  done
  pw=$(printf '%s' "$MYSQL_ROOT_PASSWORD" | sed "s/'/''/g")
  mariadb --socket=/run/mysqld/init.sock -uroot <<SQL
ALTER USER 'root'@'localhost' IDENTIFIED BY '$pw';
CREATE USER IF NOT EXISTS 'root'@'%' IDENTIFIED BY '$pw';
GRANT ALL PRIVILEGES ON *.* TO 'root'@'%' WITH GRANT OPTION;
${MYSQL_DATABASE:+CREATE DATABASE IF NOT EXISTS \`$MYSQL_DATABASE\`;}
FLUSH PRIVILEGES;
SQL
  kill "$pid"; wait "$pid" || true
fi
exec mariadbd --user=mysql --datadir="$datadir" --bind-address=0.0.0.0 "$@"
