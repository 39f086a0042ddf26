/**
 * Synth-time checks of props, shared by every part that validates input: each fails with a
 * `MigratedServiceError` that names the prop, the value and the fix.
 */
import { Duration } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
import { MigratedServiceError } from './errors';
import { NAME_LABEL, VERSION_LABEL } from './facts';
import { isLabelValue } from './version-key';

/**
 * Fail with a `MigratedServiceError` naming the prop of the MigratedService at `path`.
 *
 * @internal
 */
export type Fail = (prop: string, value: unknown, fix: string) => never;

/** @internal */
export function failFor(path: string): Fail {
  return (prop, value, fix) => {
    throw new MigratedServiceError(`${prop} of MigratedService "${path}"`, value, fix);
  };
}

/**
 * Fail without a service's path: for values made before any service (a `MigrationTool`) and for
 * helpers that annotate an object of the app outside any service (`Delivery.helmPreInstall`).
 *
 * @internal
 */
export const failHere: Fail = (prop, value, fix) => {
  throw new MigratedServiceError(prop, value, fix);
};

/** A repository reference without tag or digest: `[host[:port]/]path`, lowercase path components. */
const REPOSITORY = /^(?:(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*(?::[0-9]+)?|\[[0-9a-fA-F:]+\](?::[0-9]+)?)\/)?[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*)*$/;

/** @internal */
export function checkRepository(prop: string, image: unknown, fail: Fail): void {
  if (typeof image !== 'string' || image.trim() === '') {
    fail(prop, image, 'pass the image repository without a tag, e.g. "registry.example.com/myapp"');
  }
  const value = image as string;
  const lastSegment = value.slice(value.lastIndexOf('/') + 1);
  if (value.includes('@')) {
    fail(prop, value, `it contains a digest; pass the repository "${value.split('@')[0]}" and put the digest in imageTag`);
  }
  if (lastSegment.includes(':')) {
    const [repo, tag] = [value.slice(0, value.lastIndexOf(':')), value.slice(value.lastIndexOf(':') + 1)];
    fail(prop, value, `it contains a tag; pass the repository "${repo}" and the tag "${tag}" as imageTag`);
  }
  if (value.length > 255 || !REPOSITORY.test(value)) {
    fail(prop, value, 'it is not a valid image repository: [host[:port]/]path with lowercase path components of ' +
      '[a-z0-9] separated by ".", "_", "__" or "-", e.g. "registry.example.com/team/myapp"');
  }
}

/** @internal */
export function checkStrings(prop: string, value: unknown, fail: Fail): void {
  if (!Array.isArray(value) || value.some(v => typeof v !== 'string')) {
    fail(prop, value, 'pass a list of strings, e.g. ["--verbose"]');
  }
}

/** @internal */
export function checkInt(prop: string, value: number | undefined, min: number, max: number, fail: Fail): void {
  if (value === undefined) return;
  if (!Number.isInteger(value) || value < min || value > max) {
    fail(prop, value, `it must be a whole number from ${min} to ${max}`);
  }
}

/** @internal */
export function checkDuration(prop: string, value: Duration | undefined, fail: Fail): void {
  if (value === undefined) return;
  const seconds = value.toSeconds({ integral: false });
  if (!Number.isInteger(seconds) || seconds < 1) {
    fail(prop, `${seconds}s`, 'it must be a whole number of seconds, at least 1, e.g. Duration.minutes(10)');
  }
}

/** Kubernetes accepts env var names of this shape (a C identifier plus "-" and "."). */
const ENV_NAME = /^[-._a-zA-Z][-._a-zA-Z0-9]*$/;

/** @internal */
export function checkEnvName(prop: string, name: unknown, fail: Fail): void {
  if (typeof name !== 'string' || !ENV_NAME.test(name)) {
    fail(prop, name, 'an environment variable name is letters, digits, "_", "-" and ".", not starting with a digit, e.g. "DATABASE_URL"');
  }
}

/** @internal */
export function checkEnvNames(env: { [name: string]: kplus.EnvValue } | undefined, fail: Fail): void {
  for (const name of Object.keys(env ?? {})) checkEnvName('envVariables key', name, fail);
}

const LABEL_KEY = /^(?:[a-z0-9]([-a-z0-9]*[a-z0-9])?(?:\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;

/** @internal */
export function checkLabels(labels: { [key: string]: string } | undefined, fail: Fail): void {
  for (const [k, v] of Object.entries(labels ?? {})) {
    const prefix = k.includes('/') ? k.slice(0, k.indexOf('/')) : '';
    if (!LABEL_KEY.test(k) || prefix.length > 253) {
      fail('labels key', k, 'a label key is an optional DNS prefix and "/" and a name of at most 63 characters ' +
        '([A-Za-z0-9][-A-Za-z0-9_.]*[A-Za-z0-9]), e.g. "team" or "example.com/team"');
    }
    if (typeof v !== 'string' || !isLabelValue(v)) {
      fail(`labels["${k}"]`, v, 'a label value is at most 63 characters of [A-Za-z0-9_.-], starting and ending alphanumeric');
    }
    if (k === NAME_LABEL || k === VERSION_LABEL) {
      fail('labels key', k, 'this label is set by MigratedService from name and imageTag; set those props instead');
    }
  }
}


/**
 * An image reference given for a helper container (a waiter, the lock): unset (the default image)
 * or a non-blank string without whitespace; the registry decides the rest.
 *
 * @internal
 */
export function checkImageReference(prop: string, image: unknown, fix: string, fail: Fail): void {
  // A blank reference also contains whitespace.
  if (image !== undefined && (typeof image !== 'string' || image === '' || /\s/.test(image))) {
    fail(prop, image, fix);
  }
}
