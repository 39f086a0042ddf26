import { createHash } from 'crypto';
import { MigratedServiceError } from './errors';

/** An OCI tag: up to 128 characters, letters, digits, `_`, `.` and `-`, not starting with `.` or `-`. */
const OCI_TAG = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$/;
/** A content digest. Only sha256 is accepted: it is what registries and Kubernetes use. */
/** The hex part of a `sha256:` digest. */
const SHA256_HEX = /^[a-f0-9]{64}$/;
/** A DNS-1123 label (RFC 1123): what Kubernetes requires of most object names and of the `job-name` label. */
const DNS_1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
/** A Kubernetes label value. */
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

/** The longest DNS-1123 label. */
export const MAX_LABEL_LENGTH = 63;
/** Hex characters of the tag hash appended to a name that had to be changed or cut. */
export const HASH_LENGTH = 10;
/**
 * Fewest tag characters worth keeping readable in a cut name. With less room the prefix itself is
 * cut and hashed together with the tag (only service names longer than 42 characters get there).
 */
const MIN_READABLE_TAG = 1;

/**
 * The one key of a release: an image tag or digest, and everything derived from it.
 *
 * Every name and image reference that must change when the release changes comes from here,
 * so nothing else can make them disagree.
 */
export class VersionKey {
  /**
   * Parse and validate an image tag (`v1.2.3`) or digest (`sha256:<64 hex>`).
   *
   * @param tag the tag or digest
   * @param prop the prop name used in error messages
   */
  public static of(tag: string, prop: string = 'imageTag'): VersionKey {
    if (typeof tag !== 'string' || tag.length === 0) { // undefined and null too, from JavaScript
      throw new MigratedServiceError(prop, tag,
        'it is empty. Pass the tag your CI built the image with, e.g. "v1.2.3" or a digest "sha256:<64 hex>"');
    }
    if (tag.startsWith('sha256:') || tag.startsWith('@sha256:')) {
      const digest = tag.replace(/^@/, '');
      if (!SHA256_HEX.test(digest.slice('sha256:'.length))) {
        throw new MigratedServiceError(prop, tag,
          'it looks like a digest but is not "sha256:" followed by 64 lowercase hex characters');
      }
      return new VersionKey(digest, true);
    }
    if (!OCI_TAG.test(tag)) {
      throw new MigratedServiceError(prop, tag, describeBadTag(tag));
    }
    return new VersionKey(tag, false);
  }

  /** Whether a string is a DNS-1123 label of at most 63 characters. */
  public static isDnsLabel(value: string): boolean {
    return value.length <= MAX_LABEL_LENGTH && DNS_1123_LABEL.test(value);
  }

  /** A short, stable hash of a string, lowercase hex. */
  public static hash(value: string, length: number = HASH_LENGTH): string {
    return createHash('sha256').update(value).digest('hex').slice(0, length);
  }

  /** The tag or digest exactly as given (a leading `@` on a digest dropped). */
  public readonly value: string;

  /** Whether the key is a digest rather than a tag. */
  public readonly isDigest: boolean;

  private constructor(value: string, isDigest: boolean) {
    this.value = value;
    this.isDigest = isDigest;
  }

  /**
   * The image reference for a repository: `repo:tag` or `repo@sha256:…`, the tag kept verbatim.
   */
  public imageFor(repository: string): string {
    return this.isDigest ? `${repository}@${this.value}` : `${repository}:${this.value}`;
  }

  /**
   * A DNS-1123 label `<prefix>-<tag>` of at most 63 characters that is distinct for distinct
   * prefixes and tags.
   *
   * When the tag is already a valid label fragment and the name fits, it is used as is. Otherwise
   * (uppercase, `_`, `.`, a digest, or too long) the tag is lowercased, every other character
   * becomes `-`, it is cut to fit and a hash of the full tag is appended, so `v1.2` and `v1-2` still
   * give different names. When even the prefix leaves no room (a long service name), the prefix is
   * cut too and the hash covers the prefix and the tag, so two long names that share their first
   * characters never share a name.
   */
  public nameWithPrefix(prefix: string): string {
    const verbatim = `${prefix}-${this.value}`;
    if (DNS_1123_LABEL.test(this.value) && verbatim.length <= MAX_LABEL_LENGTH) {
      return verbatim;
    }
    const room = MAX_LABEL_LENGTH - prefix.length - HASH_LENGTH - 2;
    if (room < MIN_READABLE_TAG) {
      // No room for the tag: the cut prefix and a hash of prefix and tag. Never the verbatim name,
      // which fits here only when it is not a DNS label (an uppercase or "_" tag, say).
      return `${fitPrefix(prefix)}-${VersionKey.hash(`${prefix}\n${this.value}`)}`;
    }
    const hash = VersionKey.hash(this.value);
    const readable = sanitize(this.value).slice(0, room).replace(/-+$/, '');
    return readable ? `${prefix}-${readable}-${hash}` : `${prefix}-${hash}`;
  }

  /**
   * The tag as a Kubernetes label value (`app.kubernetes.io/version`): verbatim when it is a valid
   * label value, else a sanitized form with a hash. The verbatim tag always goes in an annotation.
   */
  public get labelValue(): string {
    if (isLabelValue(this.value)) {
      return this.value;
    }
    const hash = VersionKey.hash(this.value);
    const readable = this.value.replace(/[^A-Za-z0-9_.-]/g, '-')
      .slice(0, MAX_LABEL_LENGTH - hash.length - 1)
      .replace(/^[^A-Za-z0-9]+/, '')
      .replace(/[^A-Za-z0-9]+$/, '');
    return readable ? `${readable}-${hash}` : hash;
  }
}

/** Lowercase, map every run of non-alphanumerics to one `-`, trim the dash at either end. */
function sanitize(value: string): string {
  return value.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '');
}

function describeBadTag(tag: string): string {
  const allowed = 'an OCI tag is 1-128 characters of [A-Za-z0-9_.-] and must not start with "." or "-"' +
    ' (or pass a digest "sha256:<64 hex>")';
  if (tag.length > 128) {
    return `it is ${tag.length} characters long; ${allowed}`;
  }
  if (tag.includes(':') || tag.includes('/') || tag.includes('@')) {
    return `it looks like a whole image reference; pass only the tag (the part after ":") in imageTag and the repository in image. ${capitalize(allowed)}`;
  }
  const bad = [...new Set(tag.replace(/[A-Za-z0-9_.-]/g, '').split(''))];
  if (bad.length > 0) {
    return `it contains ${bad.map(c => JSON.stringify(c)).join(', ')}; ${allowed}`;
  }
  return `it starts with ${JSON.stringify(tag[0])}; ${allowed}`;
}

function capitalize(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}

/**
 * `name` itself when it is at most 63 characters; otherwise its first characters, a `-` and a hash
 * of `hashInput` (default: the whole name), 63 characters in all. For names derived from a DNS-1123
 * label (`<service>-migration-waiter`), so the result is a DNS-1123 label too.
 *
 * @internal
 */
export function fitName(name: string, hashInput: string = name): string {
  if (name.length <= MAX_LABEL_LENGTH) {
    return name;
  }
  return `${fitPrefix(name)}-${VersionKey.hash(hashInput)}`;
}

/** The first characters of `name` that leave room for `-<hash>` in a label, without trailing dashes. */
function fitPrefix(name: string): string {
  return name.slice(0, MAX_LABEL_LENGTH - HASH_LENGTH - 1).replace(/-+$/, '');
}

/** Whether a string is a valid Kubernetes label value. */
export function isLabelValue(value: string): boolean {
  return value.length <= MAX_LABEL_LENGTH && LABEL_VALUE.test(value);
}
