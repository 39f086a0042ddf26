import { checkDuration, checkImageReference, Fail } from '../checks';
import { checkId } from '../pod/security';
import { MigrationRun, resolveRun, RunContext } from '../run/resolve';
import { fitName } from '../version-key';
import { KUBECTL_IMAGE } from '../waiter';
import { PostRolloutOptions } from './options';

/**
 * The post-rollout migration Job, validated and defaulted.
 *
 * @internal
 */
export interface ResolvedPostRollout extends MigrationRun {
  /** `<name>-post-<tag>`, or the stable `<name>-post` for hook targets. */
  readonly jobName: string;
  /** Name of its ServiceAccount, Role and RoleBinding. */
  readonly rbacName: string;
  readonly rolloutTimeoutSeconds: number;
  readonly waiterImage: string;
  readonly waiterRunAsUser?: number;
}

/**
 * Validate `postRollout` and apply its defaults: a migration run (whose defaults are the
 * migration's) plus the wait for the rollout.
 *
 * @param jobName the Job's name, from the service name and the delivery target
 * @internal
 */
export function resolvePostRollout(post: PostRolloutOptions, ctx: Omit<RunContext, 'prop' | 'title' | 'toolExample' | 'commandExample'>,
  serviceName: string, jobName: string): ResolvedPostRollout {
  const fail: Fail = ctx.fail;
  const run = resolveRun(post, {
    ...ctx,
    prop: 'postRollout',
    title: 'post-rollout migration',
    toolExample: 'MigrationTool.flyway({ dir: "/flyway/post" })',
    commandExample: '["npm", "run", "migrate:post"]',
  });
  checkDuration('postRollout.rolloutTimeout', post.rolloutTimeout, fail);
  checkId('postRollout.waiterRunAsUser', post.waiterRunAsUser, fail);
  checkImageReference('postRollout.waiterImage', post.waiterImage,
    'give a full image reference with kubectl and sh, e.g. "registry.example.com/mirror/kubectl:1.34.1"', fail);
  const rolloutTimeoutSeconds = post.rolloutTimeout?.toSeconds() ?? 1800;
  if (post.activeDeadline !== undefined && post.activeDeadline.toSeconds() <= rolloutTimeoutSeconds) {
    fail('postRollout.activeDeadline', `${post.activeDeadline.toSeconds()}s`, 'it counts from the Job\'s start, so it includes the ' +
      `wait for the rollout (postRollout.rolloutTimeout, ${rolloutTimeoutSeconds}s): make it longer than that, or drop it`);
  }
  return {
    ...run,
    jobName,
    rbacName: fitName(`${serviceName}-post-rollout`),
    rolloutTimeoutSeconds,
    waiterImage: post.waiterImage ?? KUBECTL_IMAGE,
    waiterRunAsUser: post.waiterRunAsUser,
  };
}
