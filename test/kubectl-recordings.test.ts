/**
 * The kubectl recordings that test/waiter-script.test.ts replays were made with the script's own
 * kubectl calls. If a call changes (its jsonpath, say), the recordings are stale: re-record them
 * against a real cluster with test/support/record-kubectl.ts. A fast file of its own, so that
 * mutation testing (which leaves out the slow shell tests) runs it too.
 */
import { getArgs, readRecording as recording, RECORDED_JOB as JOB, watchArgs } from './support/record-kubectl';

describe('the recordings', () => {
  test('GIVEN the recordings WHEN read THEN each was made with the script\'s own calls, and the watch has no {range}', () => {
    for (const name of ['get-not-found', 'get-found', 'get-forbidden', 'get-unauthorized']) {
      expect(recording(name).argv).toEqual(['kubectl', ...getArgs(JOB)]);
    }
    for (const name of ['watch-no-job', 'watch-complete', 'watch-existing-complete', 'watch-existing-running', 'watch-deleted-running',
      'watch-failed-pod-failure-policy', 'watch-failed-backoff-limit', 'watch-failed-deadline', 'watch-forbidden', 'watch-unauthorized']) {
      const { argv } = recording(name);
      const seconds = Number(/(\d+)s$/.exec(argv[argv.length - 1])![1]);
      expect(argv).toEqual(['kubectl', ...watchArgs(JOB, seconds)]);
    }
    // Why: a {range} watch prints its first line, then exits 0 on the next change, silently.
    const range = recording('watch-with-range');
    expect(range.argv.join(' ')).toContain('{range');
    expect(range.code).toBe(0);
    expect(range.timed).toHaveLength(1);
    expect(watchArgs(JOB, 1).join(' ')).not.toContain('{range');
  });
});

