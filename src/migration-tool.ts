import { checkEnvName, failHere } from './checks';
import { MigratedServiceError } from './errors';

/**
 * Options for a migration tool of your own.
 */
export interface CustomMigrationToolOptions {
  /** A short name, used in messages and docs (e.g. `my-migrator`). */
  readonly name: string;

  /** The command that applies all pending migrations and exits 0 on success. */
  readonly command: string[];

  /**
   * A command that exits non-zero while migrations are pending and 0 when the schema is current.
   * Needed for `Waiter.schemaCheck()`.
   *
   * @default - none: `Waiter.schemaCheck()` is refused for this tool
   */
  readonly checkCommand?: string[];

  /**
   * Whether the tool writes to its HOME directory (npm/npx-based tools do). Under the read-only
   * root filesystem the library then sets `HOME=/tmp` on an emptyDir.
   *
   * @default false
   */
  readonly needsWritableHome?: boolean;

  /**
   * A command that clears the lock the tool leaves behind when it is killed mid-run (a lock row or
   * table), for `clearStaleToolLock`. It must exit 0 when there is no lock.
   *
   * @default - none: the tool leaves no lock behind
   */
  readonly unlockCommand?: string[];
}

/**
 * Whether a migration cancelled by the lock timeout may run again: `safe`, or why not.
 *
 * @internal
 */
export type LockTimeoutRetryFact = 'safe' | { readonly refused: string };

/** What the library knows of a tool. */
interface ToolFacts {
  readonly name: string;
  readonly command: string[];
  readonly check?: string[];
  /** @default false */
  readonly needsWritableHome?: boolean;
  readonly stockImage?: string;
  readonly unlockCommand?: string[];
  /** Indices of the check command's arguments the library wrote. @default - none */
  readonly ownCheckArgs?: number[];
  /** Why the tool's PostgreSQL client does not read PGOPTIONS. @default - it does */
  readonly sessionOptionsUnsupported?: string;
  /** @default - depends on the user's migrations: no retry unless asked for */
  readonly lockTimeoutRetry?: LockTimeoutRetryFact;
}

/** Options for presets whose commands take a migrations directory. */
export interface MigrationDirOptions {
  /**
   * The migrations directory inside the migration image. Atlas takes a URL: a bare path such as
   * `/migrations` is passed as `file:///migrations`.
   *
   * @default - the tool's own convention, listed in docs/migration-tools.md
   */
  readonly dir?: string;

  /**
   * The environment variable holding the database URL. Kubernetes expands `$(NAME)` in the
   * command from the container's environment, so no shell is needed in the image.
   *
   * @default "DATABASE_URL"
   */
  readonly urlEnv?: string;
}

/** Options for goose. */
export interface GooseOptions extends MigrationDirOptions {
  /**
   * The goose driver (`postgres`, `mysql`, `sqlite3`, `clickhouse`, …).
   *
   * @default "postgres"
   */
  readonly driver?: string;
}

/** Options for Alembic. */
export interface AlembicOptions {
  /**
   * Whether the migration image's Alembic has `alembic current --check-heads`, which Alembic
   * added in 1.17.1. Older Alembic rejects the flag (`alembic: error: unrecognized arguments:
   * --check-heads`, exit 2), so the check would fail forever and no pod would start. Set `false`
   * for Alembic < 1.17.1 (Debian 12 ships 1.8.1): the check then runs Alembic's
   * own "is the database at head" recipe with `python -c`, through your `env.py` (any Alembic
   * ≥ 1.0; needs `python` on PATH, as python images have).
   *
   * @default true
   */
  readonly checkHeadsFlag?: boolean;
}

/** Options for TypeORM. */
export interface TypeOrmOptions {
  /**
   * The compiled DataSource file, relative to the image's working directory.
   *
   * @default "dist/data-source.js"
   */
  readonly dataSource?: string;
}

/**
 * A database migration tool: the command that applies migrations and, where the tool has one, the
 * command that fails while migrations are pending.
 *
 * The migration runs in the migration image (the service image unless `migration.image` is set),
 * always tagged with `imageTag`. A tool's stock image (`flyway/flyway`, `migrate/migrate`, …) is
 * the base you build that image from, with your migrations inside: see docs/migration-tools.md.
 */
export class MigrationTool {
  /**
   * Prisma: `npx prisma migrate deploy`; check `npx prisma migrate status`, which exits 1 while migrations
   * are pending from Prisma 4.3.0 on. Runs in the app image, which must hold the Prisma CLI and its engines.
   */
  public static prisma(): MigrationTool {
    return new MigrationTool({
      name: 'prisma',
      command: ['npx', 'prisma', 'migrate', 'deploy'],
      check: ['npx', 'prisma', 'migrate', 'status'],
      needsWritableHome: true,
      sessionOptionsUnsupported: 'its schema engine has a PostgreSQL client of its own that does not read PGOPTIONS',
      lockTimeoutRetry: { refused: 'a failed migration must be marked with `prisma migrate resolve` before `migrate deploy` runs it again' },
    });
  }

  /**
   * Alembic: `alembic upgrade head`; check `alembic current --check-heads`, which needs
   * Alembic ≥ 1.17.1. For older Alembic pass `{ checkHeadsFlag: false }`.
   */
  public static alembic(options: AlembicOptions = {}): MigrationTool {
    const check = (options.checkHeadsFlag ?? true)
      ? ['alembic', 'current', '--check-heads']
      : ['python', '-c', ALEMBIC_AT_HEAD];
    return new MigrationTool({ name: 'alembic', command: ['alembic', 'upgrade', 'head'], check, lockTimeoutRetry: 'safe' });
  }

  /** Flyway: `flyway migrate`; check `flyway validate` (fails on pending migrations). Base image `flyway/flyway`. */
  public static flyway(): MigrationTool {
    return new MigrationTool({
      name: 'flyway',
      command: ['flyway', 'migrate'],
      check: ['flyway', 'validate'],
      stockImage: 'flyway/flyway',
      sessionOptionsUnsupported: 'it connects with pgjdbc, which does not read PGOPTIONS (Flyway\'s initSql and pgjdbc\'s "options" URL parameter do)',
      lockTimeoutRetry: 'safe',
    });
  }

  /**
   * Liquibase: `liquibase update`. No check command (status only prints). Base image `liquibase/liquibase`.
   * Its lock row survives a killed run: `liquibase release-locks` clears it (`clearStaleToolLock`).
   */
  public static liquibase(): MigrationTool {
    return new MigrationTool({
      name: 'liquibase',
      command: ['liquibase', 'update'],
      stockImage: 'liquibase/liquibase',
      unlockCommand: ['liquibase', 'release-locks'],
      sessionOptionsUnsupported: 'it connects with pgjdbc, which does not read PGOPTIONS (pgjdbc\'s "options" URL parameter does)',
      lockTimeoutRetry: 'safe',
    });
  }

  /**
   * Atlas: `atlas migrate apply --url $(DATABASE_URL) --dir file://migrations`; the check compares
   * `atlas migrate status --format '{{ .Status }}'` with `OK` in `sh` (use an image with a shell,
   * such as `arigaio/atlas:latest-alpine`, for `Waiter.schemaCheck()`).
   */
  public static atlas(options: MigrationDirOptions = {}): MigrationTool {
    const url = `$(${urlEnv('atlas', options.urlEnv)})`;
    const given = option('atlas', 'dir', options.dir, 'file://migrations');
    // Atlas parses --dir as a URL; a bare path would fail at run time, not at synth.
    const dir = given.includes('://') ? given : `file://${given}`;
    return new MigrationTool({
      name: 'atlas',
      command: ['atlas', 'migrate', 'apply', '--url', url, '--dir', dir],
      // `$$(` keeps Kubernetes from treating the shell substitution as a variable reference.
      check: ['sh', '-c', 'test "$$(atlas migrate status --url "$1" --dir "$2" --format \'{{ .Status }}\')" = OK',
        'atlas-check', url, dir],
      stockImage: 'arigaio/atlas',
      // The script is ours (its Go template is Atlas's, escaped for Helm); dir is the user's.
      ownCheckArgs: [2],
      lockTimeoutRetry: 'safe',
    });
  }

  /** golang-migrate: `migrate -path /migrations -database $(DATABASE_URL) up`. No check. Base image `migrate/migrate`. */
  public static golangMigrate(options: MigrationDirOptions = {}): MigrationTool {
    return new MigrationTool({
      name: 'golang-migrate',
      command: ['migrate', '-path', option('golangMigrate', 'dir', options.dir, '/migrations'), '-database', `$(${urlEnv('golangMigrate', options.urlEnv)})`, 'up'],
      stockImage: 'migrate/migrate',
      lockTimeoutRetry: { refused: 'a failed migration marks the version dirty, and `up` refuses to run until `migrate force`' },
    });
  }

  /** goose: `goose -dir migrations postgres $(DATABASE_URL) up`. No check in the CLI. */
  public static goose(options: GooseOptions = {}): MigrationTool {
    return new MigrationTool({
      name: 'goose',
      command: ['goose', '-dir', option('goose', 'dir', options.dir, 'migrations'), option('goose', 'driver', options.driver, 'postgres'),
        `$(${urlEnv('goose', options.urlEnv)})`, 'up'],
      lockTimeoutRetry: 'safe',
    });
  }

  /** dbmate: `dbmate --wait up`; check `dbmate status --exit-code`. Base image `ghcr.io/amacneil/dbmate`. */
  public static dbmate(): MigrationTool {
    return new MigrationTool({
      name: 'dbmate',
      command: ['dbmate', '--wait', 'up'],
      check: ['dbmate', 'status', '--exit-code'],
      stockImage: 'ghcr.io/amacneil/dbmate',
      lockTimeoutRetry: 'safe',
    });
  }

  /**
   * Django: `python manage.py migrate --noinput`; check `python manage.py migrate --check` (Django ≥ 3.1).
   * Runs `python`, as python images name it.
   */
  public static django(): MigrationTool {
    return new MigrationTool({
      name: 'django',
      command: ['python', 'manage.py', 'migrate', '--noinput'],
      check: ['python', 'manage.py', 'migrate', '--check'],
      lockTimeoutRetry: 'safe',
    });
  }

  /** Rails: `bin/rails db:migrate`; check `bin/rails db:abort_if_pending_migrations`. */
  public static rails(): MigrationTool {
    return new MigrationTool({
      name: 'rails',
      command: ['bin/rails', 'db:migrate'],
      check: ['bin/rails', 'db:abort_if_pending_migrations'],
      lockTimeoutRetry: 'safe',
    });
  }

  /**
   * Knex: `npx knex migrate:latest`. No check in the CLI. Its lock row survives a killed run:
   * `npx knex migrate:unlock` clears it (`clearStaleToolLock`).
   */
  public static knex(): MigrationTool {
    return new MigrationTool({
      name: 'knex',
      command: ['npx', 'knex', 'migrate:latest'],
      needsWritableHome: true,
      unlockCommand: ['npx', 'knex', 'migrate:unlock'],
      lockTimeoutRetry: 'safe',
    });
  }

  /** TypeORM: `npx typeorm migration:run -d dist/data-source.js`. No check in the CLI. */
  public static typeorm(options: TypeOrmOptions = {}): MigrationTool {
    return new MigrationTool({
      name: 'typeorm',
      command: ['npx', 'typeorm', 'migration:run', '-d', option('typeorm', 'dataSource', options.dataSource, 'dist/data-source.js')],
      needsWritableHome: true,
      lockTimeoutRetry: 'safe',
    });
  }

  /** Sequelize: `npx sequelize-cli db:migrate`. No check in the CLI. */
  public static sequelize(): MigrationTool {
    return new MigrationTool({
      name: 'sequelize',
      command: ['npx', 'sequelize-cli', 'db:migrate'],
      needsWritableHome: true,
      lockTimeoutRetry: { refused: 'sequelize-cli runs migrations outside transactions, so a cancelled migration keeps its earlier statements and a retry would run them twice' },
    });
  }

  /** sqitch: `sqitch deploy`. No check (`sqitch status` exits 0 with changes pending). Base image `sqitch/sqitch`. */
  public static sqitch(): MigrationTool {
    // Its deploy scripts are transactional only if they say BEGIN/COMMIT (as `sqitch add` writes
    // them): no retry unless asked for.
    return new MigrationTool({ name: 'sqitch', command: ['sqitch', 'deploy'], stockImage: 'sqitch/sqitch' });
  }

  /** A tool of your own. */
  public static custom(options: CustomMigrationToolOptions): MigrationTool {
    if (!options || typeof options.name !== 'string' || !/^[a-z0-9][a-z0-9-]*$/.test(options.name)) {
      throw new MigratedServiceError('MigrationTool.custom name', options?.name,
        'give a short lowercase name of letters, digits and "-", e.g. "my-migrator"');
    }
    checkCommand(`MigrationTool.custom(${options.name}).command`, options.command);
    if (options.checkCommand !== undefined) {
      checkCommand(`MigrationTool.custom(${options.name}).checkCommand`, options.checkCommand);
    }
    if (options.unlockCommand !== undefined) {
      checkCommand(`MigrationTool.custom(${options.name}).unlockCommand`, options.unlockCommand);
    }
    return new MigrationTool({
      name: options.name,
      command: [...options.command],
      check: options.checkCommand ? [...options.checkCommand] : undefined,
      needsWritableHome: options.needsWritableHome ?? false,
      unlockCommand: options.unlockCommand ? [...options.unlockCommand] : undefined,
    });
  }

  /** The tool's name. */
  public readonly name: string;
  /** The command that applies pending migrations. */
  public readonly command: string[];
  /** The command that fails while migrations are pending, if the tool has one. */
  public readonly checkCommand?: string[];
  /** Whether the tool needs a writable HOME. */
  public readonly needsWritableHome: boolean;
  /** The tool's stock image, a base for your migration image, if it has one. */
  public readonly stockImage?: string;
  /** The command that clears the lock a killed run leaves behind, if the tool leaves one. */
  public readonly unlockCommand?: string[];

  /**
   * Why the tool's PostgreSQL client does not read `PGOPTIONS`, where the library sets the
   * migration's `lockTimeout` and `statementTimeout`; undefined when it does.
   *
   * @internal
   */
  public readonly _sessionOptionsUnsupported?: string;

  /**
   * Whether a migration cancelled by the lock timeout may run again at once: `safe` where the tool
   * runs each migration in a transaction (so a retry can never apply half of one twice), a reason
   * where a retry is unsafe or cannot succeed, undefined where it depends on the user's migrations.
   *
   * @internal
   */
  public readonly _lockTimeoutRetry?: LockTimeoutRetryFact;

  /** Indices of the check command's arguments the library wrote (not the user's options). */
  private readonly ownCheckArgs: number[];

  private constructor(facts: ToolFacts) {
    this.name = facts.name;
    this.command = facts.command;
    this.checkCommand = facts.check;
    this.needsWritableHome = facts.needsWritableHome ?? false;
    this.stockImage = facts.stockImage;
    this.unlockCommand = facts.unlockCommand;
    this.ownCheckArgs = facts.ownCheckArgs ?? [];
    this._sessionOptionsUnsupported = facts.sessionOptionsUnsupported;
    this._lockTimeoutRetry = facts.lockTimeoutRetry;
  }

  /**
   * The check command with the library's own arguments written by `ownText` (escaped for Helm);
   * the user's (a custom tool's command, a preset's options) stay as given, so synth still
   * refuses a "{{" in them under Helm.
   *
   * @internal
   */
  public _checkCommandFor(ownText: (text: string) => string): string[] | undefined {
    return this.checkCommand?.map((arg, i) => this.ownCheckArgs.includes(i) ? ownText(arg) : arg);
  }
}

/**
 * Alembic's cookbook check "is the database at head", for Alembic < 1.17.1: runs the project's
 * env.py the way `alembic current` does (same config file: `ALEMBIC_CONFIG` or alembic.ini) and
 * exits 1 with a message unless the database's revisions are exactly the script heads. No `$` in
 * it: Kubernetes would expand `$(...)`.
 */
const ALEMBIC_AT_HEAD = [
  'import os, sys',
  'from alembic.config import Config',
  'from alembic.runtime.environment import EnvironmentContext',
  'from alembic.script import ScriptDirectory',
  "config = Config(os.environ.get('ALEMBIC_CONFIG', 'alembic.ini'))",
  'script = ScriptDirectory.from_config(config)',
  'found = []',
  'def at_head(rev, context):',
  '    found.append(set(context.get_current_heads()))',
  '    return []',
  'with EnvironmentContext(config, script, fn=at_head, dont_mutate=True):',
  '    script.run_env()',
  'heads = set(script.get_heads())',
  "sys.exit(0 if found == [heads] else 'alembic: the database is not at head: current %s, heads %s' % (",
  '    sorted(found[0]) if found else [], sorted(heads)))',
].join('\n');

/** A string option of a preset: the fallback when unset; an empty one is refused (it would pass an empty argument). */
function option(tool: string, prop: string, value: string | undefined, fallback: string): string {
  if (value === undefined) return fallback;
  if (typeof value !== 'string' || value.trim() === '') {
    throw new MigratedServiceError(`MigrationTool.${tool} ${prop}`, value,
      `give a non-empty value or leave it unset for the default "${fallback}"`);
  }
  return value;
}

function urlEnv(tool: string, name: string | undefined): string {
  const value = name ?? 'DATABASE_URL';
  // A tool is a value made before any service: its options fail where they are given.
  checkEnvName(`MigrationTool.${tool} urlEnv`, value, failHere);
  return value;
}

/**
 * A command must be a non-empty list of strings whose first element names a program.
 *
 * @internal
 */
export function checkCommand(prop: string, command: unknown): void {
  if (!Array.isArray(command) || command.length === 0 || command.some(part => typeof part !== 'string')) {
    throw new MigratedServiceError(prop, command,
      'pass the command as a non-empty list of strings, e.g. ["npx", "prisma", "migrate", "deploy"]');
  }
  if (command[0].trim() === '') {
    throw new MigratedServiceError(prop, command, 'the first element must name the program to run');
  }
  if (command.length === 1 && /\s/.test(command[0])) {
    throw new MigratedServiceError(prop, command,
      'it is one string with spaces, which Kubernetes runs as a single program name; split it into a list, ' +
      'e.g. ["sh", "-c", "..."] or ["alembic", "upgrade", "head"]');
  }
}
