import { COMPONENT_LABEL, COMPONENTS, CONTAINERS, HISTORY_KEY, MANAGED_BY, MANAGED_BY_LABEL, SKIPPED_ANNOTATION } from '../facts';
import { renderScript } from '../script-file';

/**
 * The files the Job's containers share on the pod's writable /tmp (an emptyDir, mode 0777):
 * the history as the check read it (resourceVersion, then the log), why the run is skipped, and
 * the migrate container's exit code.
 *
 * @internal
 */
export const HISTORY_FILES = {
  read: '/tmp/.migration-history',
  skip: '/tmp/.migration-skip',
  exit: '/tmp/.migration-exit',
  /** The migrate wrapper's own: the running tool's pid, its exit code, whether it hit the lock timeout. */
  toolPid: '/tmp/.migration-tool-pid',
  toolExit: '/tmp/.migration-tool-exit',
  lockTimeout: '/tmp/.migration-lock-timeout',
};

/** What the history scripts render: the files they share and the facts they write. */
const HISTORY_VALUES = {
  READ_FILE: HISTORY_FILES.read,
  SKIP_FILE: HISTORY_FILES.skip,
  EXIT_FILE: HISTORY_FILES.exit,
  TOOL_PID_FILE: HISTORY_FILES.toolPid,
  TOOL_EXIT_FILE: HISTORY_FILES.toolExit,
  LOCK_TIMEOUT_FILE: HISTORY_FILES.lockTimeout,
  HISTORY_KEY,
  MIGRATE_CONTAINER: CONTAINERS.migrate,
  SKIPPED_ANNOTATION,
  MANAGED_BY_LABEL,
  MANAGED_BY,
  COMPONENT_LABEL,
  HISTORY_COMPONENT: COMPONENTS.history,
};

/**
 * The history check before a migration: `sh/check-history.sh`, whose header says what it does.
 *
 * @internal
 */
export const HISTORY_CHECK_SCRIPT = renderScript('check-history.sh', { ...HISTORY_VALUES, SCRIPT: CONTAINERS.historyCheck });

/**
 * The migrate container's wrapper around the tool: `sh/migrate-wrapper.sh`, whose header says what it does.
 *
 * @internal
 */
export const MIGRATE_WRAPPER_SCRIPT = renderScript('migrate-wrapper.sh', HISTORY_VALUES);

/**
 * The record container: `sh/record-history.sh`, whose header says what it does.
 *
 * @internal
 */
export const RECORD_SCRIPT = renderScript('record-history.sh', { ...HISTORY_VALUES, SCRIPT: CONTAINERS.record });

/**
 * The kubectl waiter's reading of the history: `sh/history-verdict.sh`, whose header says what it does.
 *
 * @internal
 */
export const HISTORY_VERDICT = renderScript('history-verdict.sh');
