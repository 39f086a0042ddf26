## The check a migration Job makes before it runs (under the migration lock, so nothing writes the
## history meanwhile): has this tag's step already succeeded? If so it writes why to the skip file,
## and the migrate container says it and exits 0 without running the tool. It always leaves the
## history it read for the record container. POSIX sh only.
##
## Environment: MIGRATION_HISTORY (the ConfigMap), MIGRATION_TAG, MIGRATION_STEP (`migrated` or
## `contracted`).
set -u
hist=$MIGRATION_HISTORY
tag=$MIGRATION_TAG
step=$MIGRATION_STEP
#@ include kubectl-setup.sh

#@ include read-history.sh

read_history
printf '%s\n' "$history" >@@READ_FILE@@
split_history
at='' job='' newest=''
while IFS='|' read -r _ event etag when detail; do
  [ "$event" = migrated ] && newest=$etag
  [ "$event" = "$step" ] && [ "$etag" = "$tag" ] && at=$when job=$detail
done <<EOF
$log
EOF
if [ -z "$at" ]; then
  echo "migration history: $step $tag not recorded; running it"
  exit 0
fi
if [ "$step" = contracted ]; then
  why="the post-rollout migration of $tag ran at $at (Job $job); not running it again"
elif [ -n "$newest" ] && [ "$newest" != "$tag" ]; then
  why="$tag migrated at $at; the schema has since been migrated by $newest; not running $tag's migration again"
else
  why="$tag migrated at $at (Job $job); not running its migration again"
fi
echo "migration history: $why"
printf '%s\n' "$why" >@@SKIP_FILE@@
