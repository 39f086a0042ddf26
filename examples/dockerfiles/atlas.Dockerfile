# Migration image for MigrationTool.atlas(): `atlas migrate apply --url $(DATABASE_URL)
# --dir file://migrations`. The alpine variant has the `sh` that the Waiter.schemaCheck()
# check needs; the plain image is distroless.
#   docker build -f atlas.Dockerfile -t registry.example.com/myapp-migration:$IMAGE_TAG .
# Pin a version or digest in production.
FROM arigaio/atlas:latest-alpine

# The default --dir file://migrations is relative to the working directory. Include atlas.sum:
# Atlas refuses a directory whose checksum file is missing or stale.
WORKDIR /
COPY migrations/ /migrations/

# The image keeps its binary at /atlas, which is not on the usual PATH; the preset runs `atlas`.
ENV PATH="${PATH}:/"

# Run as a numeric non-root user (or set migration.runAsUser).
USER 10001:10001
