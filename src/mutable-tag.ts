/**
 * Tags that registries and CI pipelines conventionally move to a new image: a re-push of one of
 * them keeps the same Job name (`<name>-migrate-<tag>`), so the new image's migration never runs.
 * Compared case-insensitively.
 *
 * @internal
 */
export const MUTABLE_TAGS: ReadonlySet<string> = new Set([
  'latest', 'stable', 'main', 'master', 'edge', 'nightly', 'dev', 'develop', 'development',
  'head', 'trunk', 'next', 'canary', 'beta', 'alpha', 'unstable', 'current', 'release',
  'prod', 'production', 'staging', 'test', 'snapshot',
]);

/**
 * Whether `tag` (not a digest) is one of the conventionally moving tags.
 *
 * @internal
 */
export function isMutableTag(tag: string): boolean {
  return MUTABLE_TAGS.has(tag.toLowerCase());
}
