# Migration image for MigrationTool.flyway(): `flyway migrate`, check `flyway validate`.
# Build it in CI next to the service image and push it with the SAME tag:
#   docker build -f flyway.Dockerfile -t registry.example.com/myapp-migration:$IMAGE_TAG .
# Pin the base by version or digest; `latest` would change under an unchanged tag.
FROM flyway/flyway:11

# Flyway's default location is filesystem:sql under its install dir, /flyway.
COPY sql/ /flyway/sql/

# The stock image runs as root, which the restricted Pod Security Standard refuses. A numeric
# USER lets the kubelet verify runAsNonRoot; otherwise set migration.runAsUser.
USER 10001:10001

# Flyway reads the JDBC URL and credentials from FLYWAY_URL, FLYWAY_USER and FLYWAY_PASSWORD:
# put them in the Secret shared through envFrom (there is no DATABASE_URL convention here).
