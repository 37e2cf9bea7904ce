#!/bin/sh
# Temporal's schema in PostgreSQL (what the deprecated auto-setup image used to do), idempotent.
set -eu
until nc -z postgresql 5432; do sleep 1; done
for db in temporal temporal_visibility; do
  schema=$([ "$db" = temporal ] && echo temporal || echo visibility)
  temporal-sql-tool --plugin postgres12 --ep postgresql -u temporal --pw temporal -p 5432 --db "$db" create || true
  temporal-sql-tool --plugin postgres12 --ep postgresql -u temporal --pw temporal -p 5432 --db "$db" setup-schema -v 0.0 || true
  temporal-sql-tool --plugin postgres12 --ep postgresql -u temporal --pw temporal -p 5432 --db "$db" update-schema -d "/etc/temporal/schema/postgresql/v12/$schema/versioned"
done
