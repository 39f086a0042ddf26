# Migration image for MigrationTool.golangMigrate(): `migrate -path /migrations
# -database $(DATABASE_URL) up` (no check command).
#   docker build -f golang-migrate.Dockerfile -t registry.example.com/myapp-migration:$IMAGE_TAG .
FROM migrate/migrate:v4.18.3

COPY migrations/ /migrations/

# The stock image runs as root: run as a numeric non-root user (or set migration.runAsUser).
USER 10001:10001
