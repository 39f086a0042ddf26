import { IConstruct } from 'constructs';
import { MigratedServiceError } from './errors';
import { VersionKey } from './version-key';

/** Options for `ImageTag.fromEnv()`. */
export interface ImageTagFromEnvOptions {
  /**
   * The environment variable that holds the tag.
   *
   * @default "IMAGE_TAG"
   */
  readonly variable?: string;

  /**
   * The tag to use when the variable is not set at all, e.g. so an example synthesizes on a
   * laptop. A variable set to the empty string is still an error: in CI that is a bug (an unset
   * upstream variable), not a request for the fallback.
   *
   * @default - none: synth fails when the variable is not set
   */
  readonly fallback?: string;
}

/** Options for `ImageTag.fromContext()`. */
export interface ImageTagFromContextOptions {
  /**
   * The context key that holds the tag.
   *
   * @default "imageTag"
   */
  readonly key?: string;

  /**
   * The tag to use when the key is not set.
   *
   * @default - none: synth fails when the key is not set
   */
  readonly fallback?: string;
}

/** Options for `ImageTag.fromEnvOrContext()`. */
export interface ImageTagFromEnvOrContextOptions {
  /**
   * The environment variable that holds the tag; it wins over the context.
   *
   * @default "IMAGE_TAG"
   */
  readonly variable?: string;

  /**
   * The context key read when the variable is not set.
   *
   * @default "imageTag"
   */
  readonly key?: string;

  /**
   * The tag to use when neither is set.
   *
   * @default - none: synth fails when neither is set
   */
  readonly fallback?: string;
}

/**
 * Where the one image tag of a release comes from. Each method returns the tag, validated like
 * `imageTag` (an OCI tag or a `sha256:` digest), or fails synth saying how to set it.
 *
 * `cdk8s synth` has no flag for context values (unlike `cdk deploy -c`): in CI pass the tag in the
 * environment (`IMAGE_TAG=v1.2.3 npx cdk8s synth`); context is for apps that set it in code
 * (`app.node.setContext('imageTag', …)`, e.g. from a per-environment config).
 */
export class ImageTag {
  /** The variable `fromEnv()` reads by default. */
  public static readonly DEFAULT_VARIABLE = 'IMAGE_TAG';
  /** The context key `fromContext()` reads by default. */
  public static readonly DEFAULT_CONTEXT_KEY = 'imageTag';

  /**
   * The tag from an environment variable (default `IMAGE_TAG`).
   */
  public static fromEnv(options: ImageTagFromEnvOptions = {}): string {
    const variable = checkSourceName('variable of ImageTag.fromEnv', options.variable ?? ImageTag.DEFAULT_VARIABLE);
    const value = process.env[variable];
    if (value === undefined) {
      return fallbackOr(options.fallback, `environment variable ${variable}`,
        `it is not set. Run synth with the tag CI built the images with, e.g. "${variable}=v1.2.3 npx cdk8s synth"`);
    }
    if (value === '') {
      throw new MigratedServiceError(`environment variable ${variable}`, value,
        `it is set but empty (often an unset CI variable: ${variable}=$SOMETHING_UNSET). ` +
        `Set it to the tag CI built the images with, e.g. "${variable}=v1.2.3 npx cdk8s synth"`);
    }
    return validate(value, `environment variable ${variable}`);
  }

  /**
   * The tag from the construct context (default key `imageTag`), e.g. set with
   * `app.node.setContext('imageTag', 'v1.2.3')` before any chart is added.
   */
  public static fromContext(scope: IConstruct, options: ImageTagFromContextOptions = {}): string {
    const key = checkSourceName('key of ImageTag.fromContext', options.key ?? ImageTag.DEFAULT_CONTEXT_KEY);
    const value = scope.node.tryGetContext(key);
    if (value === undefined) {
      return fallbackOr(options.fallback, `context key "${key}"`,
        `it is not set. Set it before adding charts: app.node.setContext("${key}", "v1.2.3") ` +
        '(cdk8s synth has no -c flag; in CI prefer ImageTag.fromEnv() and IMAGE_TAG=v1.2.3 npx cdk8s synth)');
    }
    return validate(value, `context key "${key}"`);
  }

  /**
   * The tag from the environment variable if it is set, else from the context, else the fallback.
   */
  public static fromEnvOrContext(scope: IConstruct, options: ImageTagFromEnvOrContextOptions = {}): string {
    const variable = checkSourceName('variable of ImageTag.fromEnvOrContext', options.variable ?? ImageTag.DEFAULT_VARIABLE);
    const key = checkSourceName('key of ImageTag.fromEnvOrContext', options.key ?? ImageTag.DEFAULT_CONTEXT_KEY);
    if (process.env[variable] !== undefined) {
      return ImageTag.fromEnv({ variable });
    }
    if (scope.node.tryGetContext(key) !== undefined) {
      return ImageTag.fromContext(scope, { key });
    }
    return fallbackOr(options.fallback, `environment variable ${variable} and context key "${key}"`,
      `neither is set. Run "${variable}=v1.2.3 npx cdk8s synth", or set app.node.setContext("${key}", "v1.2.3")`);
  }

  private constructor() {}
}

function checkSourceName(prop: string, name: string): string {
  if (typeof name !== 'string' || name.trim() === '') {
    throw new MigratedServiceError(prop, name, `pass a non-empty name, e.g. "${ImageTag.DEFAULT_VARIABLE}"`);
  }
  return name;
}

function fallbackOr(fallback: string | undefined, source: string, problemAndFix: string): string {
  if (fallback === undefined) {
    throw new MigratedServiceError(source, undefined, problemAndFix);
  }
  return validate(fallback, `fallback for ${source}`);
}

/** Validate with VersionKey so a bad tag fails here, naming where it came from. */
function validate(value: unknown, source: string): string {
  if (typeof value !== 'string') {
    throw new MigratedServiceError(source, value, 'the tag must be a string, e.g. "v1.2.3"');
  }
  return VersionKey.of(value, source).value;
}
