# Migration image for MigrationTool.sqitch(): `sqitch deploy` (no check command).
#   docker build -f sqitch.Dockerfile -t registry.example.com/myapp-migration:$IMAGE_TAG .
FROM sqitch/sqitch:v1.5.2

# The image works in /repo: sqitch.conf, sqitch.plan and the deploy/revert/verify scripts.
COPY sqitch.conf sqitch.plan /repo/
COPY deploy/ /repo/deploy/
COPY revert/ /repo/revert/
COPY verify/ /repo/verify/

# The stock image's USER is the name "sqitch" (UID 1024): use the number (or set
# migration.runAsUser: 1024) so the kubelet can verify runAsNonRoot.
USER 1024:1024

# sqitch deploys to SQITCH_TARGET (a target URI such as db:pg://app@db:5432/app) with the
# password in SQITCH_PASSWORD: put both in the Secret shared through envFrom.
