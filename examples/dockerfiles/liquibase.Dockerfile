# Migration image for MigrationTool.liquibase(): `liquibase update` (no check command).
#   docker build -f liquibase.Dockerfile -t registry.example.com/myapp-migration:$IMAGE_TAG .
FROM liquibase/liquibase:4.31

COPY changelog/ /liquibase/changelog/

# The Job runs `liquibase` directly, not the image's docker-entrypoint.sh, so the search path
# and changelog the entrypoint would add must come from the environment.
ENV LIQUIBASE_SEARCH_PATH=/liquibase/changelog \
    LIQUIBASE_COMMAND_CHANGELOG_FILE=db.changelog-master.yaml

# The stock image's USER is the name "liquibase" (UID 1001); the kubelet cannot check a name
# against runAsNonRoot. Use the number (or set migration.runAsUser: 1001).
USER 1001:1001

# The JDBC URL and credentials come from LIQUIBASE_COMMAND_URL, LIQUIBASE_COMMAND_USERNAME and
# LIQUIBASE_COMMAND_PASSWORD in the Secret shared through envFrom.
