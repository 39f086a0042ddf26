## The kubectl waiter's reading of the history, for a tag: sets `verdict` to `pass` (the tag's
## migration succeeded and nothing holds it), `held` (a newer tag's contract step ran after it and
## no one allowed this rollback; `why` says which) or empty (not recorded: wait for the Job).
## Input: the log on standard input; `$tag`, `$svc` set.
##
## Lines are in order, so a tag migrated after ours is newer, and a contract step of a newer tag
## was run against a schema ours may need.
history_verdict() {
  verdict='' why='' mine='' newer=' ' contract=0 contract_tag='' contract_at='' allowed=0
  while IFS='|' read -r seq event etag when detail; do
    case $event in
      migrated)
        if [ "$etag" = "$tag" ]; then mine=$when newer=' ' contract=0; else [ -n "$mine" ] && newer="$newer$etag "; fi ;;
      contracted)
        case $newer in *" $etag "*) contract=$seq contract_tag=$etag contract_at=$when ;; esac ;;
      allowed)
        [ "$etag" = "$tag" ] && allowed=${detail%% *} ;;
    esac
  done
  [ -n "$mine" ] || return 0
  if [ "$contract" -gt "$allowed" ] 2>/dev/null; then
    verdict=held
    why="rolling back to $tag is held: the post-rollout (contract) migration of $contract_tag ran at $contract_at, after $tag migrated (at $mine), and $tag's code may read what it removed; to allow this rollback: npx cdk8s-migrated-service allow-rollback $svc --to $tag -n <namespace>"
  else
    verdict=pass
    why="$tag migrated at $mine (migration history)"
  fi
}
