# Migration image for MigrationTool.dbmate(): `dbmate --wait up`, check `dbmate status --exit-code`.
#   docker build -f dbmate.Dockerfile -t registry.example.com/myapp-migration:$IMAGE_TAG .
FROM ghcr.io/amacneil/dbmate:2

COPY db/migrations/ /db/migrations/

# dbmate reads DATABASE_URL itself. Without these it looks for ./db/migrations relative to the
# working directory, and after migrating it runs pg_dump/mysqldump to rewrite db/schema.sql,
# which a read-only root filesystem cannot take.
ENV DBMATE_MIGRATIONS_DIR=/db/migrations \
    DBMATE_NO_DUMP_SCHEMA=true

# The stock image runs as root: run as a numeric non-root user (or set migration.runAsUser).
USER 10001:10001
