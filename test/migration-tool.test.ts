import { spawnSync } from 'child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { MigrationTool, Waiter } from '../src';
import { all, initContainer, Manifest, one, synthService, toolCommand, validateSchemas } from './support/k8s';

/** The migrate container of the synthesized Job (beside it, the history's record container). */
function migrateContainer(m: Manifest[]): any {
  const containers = one(m, 'Job').spec.template.spec.containers;
  expect(containers.map((c: any) => c.name)).toEqual(['migrate', 'record-migration']);
  return containers[0];
}

function envValue(container: any, name: string): string | undefined {
  return (container.env ?? []).find((e: any) => e.name === name)?.value;
}

/**
 * Kubernetes' expansion of container command/args: `$(NAME)` becomes the variable's value when
 * it is defined (left as written when not), `$$` becomes `$`, any other `$` stays.
 */
function kubernetesExpand(input: string, env: { [name: string]: string }): string {
  let out = '';
  let i = 0;
  while (i < input.length) {
    const c = input[i];
    if (c !== '$' || i + 1 === input.length) {
      out += c;
      i += 1;
    } else if (input[i + 1] === '$') {
      out += '$';
      i += 2;
    } else if (input[i + 1] === '(') {
      const close = input.indexOf(')', i + 2);
      if (close === -1) {
        out += '$(';
        i += 2;
      } else {
        const name = input.slice(i + 2, close);
        out += name in env ? env[name] : input.slice(i, close + 1);
        i = close + 1;
      }
    } else {
      out += c + input[i + 1];
      i += 2;
    }
  }
  return out;
}

/**
 * The FIELD-NOTES table, written out independently of the presets. `$DATABASE_URL` appears in
 * the Kubernetes form `$(DATABASE_URL)`: Kubernetes expands it, and the history's wrapper hands
 * the argv to the tool unchanged (`"$@"`), so no shell expands anything in the apply commands.
 */
interface Preset {
  readonly name: string;
  readonly tool: () => MigrationTool;
  readonly apply: string[];
  readonly check?: string[];
  readonly home: boolean;
  readonly stockImage?: string;
}

const ATLAS_CHECK = ['sh', '-c',
  'test "$$(atlas migrate status --url "$1" --dir "$2" --format \'{{ .Status }}\')" = OK',
  'atlas-check', '$(DATABASE_URL)', 'file://migrations'];

const PRESETS: Preset[] = [
  { name: 'prisma', tool: () => MigrationTool.prisma(), home: true, apply: ['npx', 'prisma', 'migrate', 'deploy'], check: ['npx', 'prisma', 'migrate', 'status'] },
  { name: 'alembic', tool: () => MigrationTool.alembic(), home: false, apply: ['alembic', 'upgrade', 'head'], check: ['alembic', 'current', '--check-heads'] },
  { name: 'flyway', tool: () => MigrationTool.flyway(), home: false, apply: ['flyway', 'migrate'], check: ['flyway', 'validate'], stockImage: 'flyway/flyway' },
  { name: 'liquibase', tool: () => MigrationTool.liquibase(), home: false, apply: ['liquibase', 'update'], stockImage: 'liquibase/liquibase' },
  {
    name: 'atlas',
    tool: () => MigrationTool.atlas(),
    home: false,
    apply: ['atlas', 'migrate', 'apply', '--url', '$(DATABASE_URL)', '--dir', 'file://migrations'],
    check: ATLAS_CHECK,
    stockImage: 'arigaio/atlas',
  },
  {
    name: 'golang-migrate',
    tool: () => MigrationTool.golangMigrate(),
    home: false,
    apply: ['migrate', '-path', '/migrations', '-database', '$(DATABASE_URL)', 'up'],
    stockImage: 'migrate/migrate',
  },
  { name: 'goose', tool: () => MigrationTool.goose(), home: false, apply: ['goose', '-dir', 'migrations', 'postgres', '$(DATABASE_URL)', 'up'] },
  {
    name: 'dbmate',
    tool: () => MigrationTool.dbmate(),
    home: false,
    apply: ['dbmate', '--wait', 'up'],
    check: ['dbmate', 'status', '--exit-code'],
    stockImage: 'ghcr.io/amacneil/dbmate',
  },
  {
    name: 'django',
    tool: () => MigrationTool.django(),
    home: false,
    apply: ['python', 'manage.py', 'migrate', '--noinput'],
    check: ['python', 'manage.py', 'migrate', '--check'],
  },
  { name: 'rails', tool: () => MigrationTool.rails(), home: false, apply: ['bin/rails', 'db:migrate'], check: ['bin/rails', 'db:abort_if_pending_migrations'] },
  { name: 'knex', tool: () => MigrationTool.knex(), home: true, apply: ['npx', 'knex', 'migrate:latest'] },
  { name: 'typeorm', tool: () => MigrationTool.typeorm(), home: true, apply: ['npx', 'typeorm', 'migration:run', '-d', 'dist/data-source.js'] },
  { name: 'sequelize', tool: () => MigrationTool.sequelize(), home: true, apply: ['npx', 'sequelize-cli', 'db:migrate'] },
  { name: 'sqitch', tool: () => MigrationTool.sqitch(), home: false, apply: ['sqitch', 'deploy'], stockImage: 'sqitch/sqitch' },
];

describe('MigrationTool presets, as synthesized into the Job', () => {
  test('the table covers every preset factory of MigrationTool', () => {
    // A preset added without a row here fails this test.
    const factories = Object.getOwnPropertyNames(MigrationTool)
      .filter(k => k !== 'custom' && typeof (MigrationTool as any)[k] === 'function');
    const names = factories.map(k => ((MigrationTool as any)[k]() as MigrationTool).name);
    expect(names.sort()).toEqual(PRESETS.map(p => p.name).sort());
    expect(names).toHaveLength(14);
  });

  describe.each(PRESETS)('$name', preset => {
    test('the migrate container runs the apply command, with no extra args', () => {
      // GIVEN the preset alone
      const m = synthService({ migration: { tool: preset.tool() } });
      // THEN the Job runs exactly the tool's apply command and the manifests are valid
      const c = migrateContainer(m);
      expect(toolCommand(c)).toEqual(preset.apply);
      expect(c.args).toBeUndefined();
      expect(preset.tool().name).toBe(preset.name);
      validateSchemas(m);
    });

    test(`HOME=/tmp is ${preset.home ? 'set (npm/npx writes to HOME)' : 'not set'}`, () => {
      const c = migrateContainer(synthService({ migration: { tool: preset.tool() } }));
      expect(envValue(c, 'HOME')).toBe(preset.home ? '/tmp' : undefined);
      // /tmp is the writable emptyDir HOME points at, for every tool
      expect(c.volumeMounts).toEqual([{ mountPath: '/tmp', name: 'tmp' }]);
    });

    test('the image is the service image tagged with imageTag', () => {
      const c = migrateContainer(synthService({ imageTag: 'v9.8.7', migration: { tool: preset.tool() } }));
      expect(c.image).toBe('registry.example.com/myapp:v9.8.7');
    });

    test('with migration.image, the image is that repository tagged with imageTag', () => {
      const c = migrateContainer(synthService({
        imageTag: 'v9.8.7',
        migration: { tool: preset.tool(), image: 'registry.example.com/myapp-migration' },
      }));
      expect(c.image).toBe('registry.example.com/myapp-migration:v9.8.7');
    });

    test(`stock image is ${preset.stockImage ?? 'none (runs in the app image)'}`, () => {
      expect(preset.tool().stockImage).toBe(preset.stockImage);
    });

    if (preset.check) {
      test('has a check command, which Waiter.schemaCheck() runs in the migration image', () => {
        expect(preset.tool().checkCommand).toEqual(preset.check);
        // WHEN the schema-check waiter gates the Deployment
        const m = synthService({
          migration: { tool: preset.tool(), image: 'registry.example.com/myapp-migration' },
          waiter: Waiter.schemaCheck(),
        });
        // THEN the init container runs the check in the tagged migration image, with HOME as the Job has it
        const init = initContainer(m);
        expect(init.name).toBe('check-migration');
        expect(init.command).toEqual(preset.check);
        expect(init.image).toBe('registry.example.com/myapp-migration:v1.2.3');
        expect(envValue(init, 'HOME')).toBe(preset.home ? '/tmp' : undefined);
      });
    } else {
      test('has no check command, so Waiter.schemaCheck() is a synth-time error naming the tool', () => {
        expect(preset.tool().checkCommand).toBeUndefined();
        expect(() => synthService({ migration: { tool: preset.tool() }, waiter: Waiter.schemaCheck() }))
          .toThrow(`migration tool "${preset.name}" has no command that fails while migrations are pending`);
      });
    }
  });

  test('a digest imageTag pins the service image the migration runs in', () => {
    const digest = `sha256:${'a'.repeat(64)}`;
    const c = migrateContainer(synthService({ imageTag: digest, migration: { tool: MigrationTool.django() } }));
    expect(c.image).toBe(`registry.example.com/myapp@${digest}`);
  });
});

describe('preset options', () => {
  test('atlas: dir and urlEnv reach both the apply and the check command', () => {
    const tool = MigrationTool.atlas({ dir: 'file:///db/migrations', urlEnv: 'PG_URL' });
    const c = migrateContainer(synthService({ migration: { tool } }));
    expect(toolCommand(c)).toEqual(['atlas', 'migrate', 'apply', '--url', '$(PG_URL)', '--dir', 'file:///db/migrations']);
    expect(tool.checkCommand!.slice(3)).toEqual(['atlas-check', '$(PG_URL)', 'file:///db/migrations']);
  });

  test('atlas: a bare directory path is passed as a file:// URL', () => {
    expect(MigrationTool.atlas({ dir: '/migrations' }).command).toEqual(
      ['atlas', 'migrate', 'apply', '--url', '$(DATABASE_URL)', '--dir', 'file:///migrations']);
    expect(MigrationTool.atlas({ dir: 'db/migrations' }).checkCommand!.at(-1)).toBe('file://db/migrations');
  });

  test('golangMigrate: dir and urlEnv', () => {
    const c = migrateContainer(synthService({
      migration: { tool: MigrationTool.golangMigrate({ dir: '/db/migrations', urlEnv: 'PG_URL' }) },
    }));
    expect(toolCommand(c)).toEqual(['migrate', '-path', '/db/migrations', '-database', '$(PG_URL)', 'up']);
  });

  test('goose: dir, driver and urlEnv', () => {
    const c = migrateContainer(synthService({
      migration: { tool: MigrationTool.goose({ dir: 'db/sql', driver: 'mysql', urlEnv: 'MYSQL_DSN' }) },
    }));
    expect(toolCommand(c)).toEqual(['goose', '-dir', 'db/sql', 'mysql', '$(MYSQL_DSN)', 'up']);
  });

  test('typeorm: dataSource', () => {
    const c = migrateContainer(synthService({
      migration: { tool: MigrationTool.typeorm({ dataSource: 'build/db/data-source.js' }) },
    }));
    expect(toolCommand(c)).toEqual(['npx', 'typeorm', 'migration:run', '-d', 'build/db/data-source.js']);
    expect(envValue(c, 'HOME')).toBe('/tmp');
  });

  const urlTools: [string, (urlEnv: string) => MigrationTool][] = [
    ['atlas', urlEnv => MigrationTool.atlas({ urlEnv })],
    ['golangMigrate', urlEnv => MigrationTool.golangMigrate({ urlEnv })],
    ['goose', urlEnv => MigrationTool.goose({ urlEnv })],
  ];
  describe.each(urlTools)('%s: an invalid urlEnv is rejected', (name, make) => {
    test.each(['$(DATABASE_URL)', '1URL', 'DATABASE URL', ''])('%j', bad => {
      expect(() => make(bad)).toThrow(`Invalid MigrationTool.${name} urlEnv ${JSON.stringify(bad)}`);
      expect(() => make(bad)).toThrow('an environment variable name is letters, digits, "_", "-" and "."');
    });
    // The one rule of envVariables: Kubernetes expands $(DATABASE-URL) as it does $(DATABASE_URL).
    test('"DATABASE-URL", a name envVariables accepts, is taken', () => {
      expect(make('DATABASE-URL').command.join(' ')).toContain('$(DATABASE-URL)');
    });
  });

  test.each([
    ['atlas dir', () => MigrationTool.atlas({ dir: '' }), 'Invalid MigrationTool.atlas dir ""'],
    ['golangMigrate dir', () => MigrationTool.golangMigrate({ dir: ' ' }), 'Invalid MigrationTool.golangMigrate dir " "'],
    ['goose dir', () => MigrationTool.goose({ dir: '' }), 'Invalid MigrationTool.goose dir ""'],
    ['goose driver', () => MigrationTool.goose({ driver: '' }), 'Invalid MigrationTool.goose driver ""'],
    ['typeorm dataSource', () => MigrationTool.typeorm({ dataSource: '' }), 'Invalid MigrationTool.typeorm dataSource ""'],
  ])('an empty %s is rejected (it would pass an empty argument)', (_name, make, message) => {
    expect(make).toThrow(message);
  });

  test('a preset option that is not a string is rejected the same way, with the default in the advice', () => {
    expect(() => MigrationTool.atlas({ dir: 42 as any })).toThrow(
      'Invalid MigrationTool.atlas dir 42: give a non-empty value or leave it unset for the default "file://migrations"');
    expect(() => MigrationTool.goose({ driver: '' })).toThrow('leave it unset for the default "postgres"');
  });
});

describe('Alembic before 1.17.1: alembic({ checkHeadsFlag: false })', () => {
  const tool = MigrationTool.alembic({ checkHeadsFlag: false });
  const script = tool.checkCommand![2];

  test('the apply command is unchanged; the check runs Alembic\'s at-head recipe with python -c', () => {
    expect(tool.command).toEqual(['alembic', 'upgrade', 'head']);
    expect(tool.checkCommand!.slice(0, 2)).toEqual(['python', '-c']);
    expect(tool.checkCommand).toHaveLength(3);
    expect(MigrationTool.alembic({ checkHeadsFlag: true }).checkCommand).toEqual(['alembic', 'current', '--check-heads']);
  });

  test('Kubernetes leaves the script as written (no $ for the kubelet to expand)', () => {
    const init = initContainer(synthService({ migration: { tool }, waiter: Waiter.schemaCheck() }));
    expect(init.command).toEqual(tool.checkCommand);
    expect(kubernetesExpand(script, { DATABASE_URL: 'x' })).toBe(script);
    expect(script).not.toContain('$');
  });

  // A stub `alembic` package that plays what Alembic 1.8.1 did against PostgreSQL in the tool tier
  // (test/tools/alembic.test.ts): env.py calls fn(rev, context) once, with the database's revisions.
  const python = ['python3', 'python'].find(p => spawnSync(p, ['-c', 'import sys; sys.exit(sys.version_info < (3, 6))']).status === 0);
  (python ? describe : describe.skip)('run with python and a stub alembic', () => {
    let dir: string;
    beforeAll(() => {
      dir = mkdtempSync(join(tmpdir(), 'alembic-stub-'));
      const files: { [f: string]: string } = {
        'alembic/__init__.py': '',
        'alembic/config.py': 'import os\nclass Config:\n    def __init__(self, f):\n        open(os.environ["STUB_SEEN"], "w").write(f)\n',
        'alembic/script.py': 'import os\nclass ScriptDirectory:\n    @staticmethod\n    def from_config(c):\n        return ScriptDirectory()\n' +
          '    def get_heads(self):\n        return os.environ["STUB_HEADS"].split()\n' +
          '    def run_env(self):\n        import alembic.runtime.environment as e\n        e.current.fn(None, e.current)\n',
        'alembic/runtime/__init__.py': '',
        'alembic/runtime/environment.py': 'import os\ncurrent = None\nclass EnvironmentContext:\n' +
          '    def __init__(self, config, script, fn, dont_mutate):\n        assert dont_mutate\n        self.fn = fn\n' +
          '    def get_current_heads(self):\n        return tuple(os.environ["STUB_CURRENT"].split())\n' +
          '    def __enter__(self):\n        global current\n        current = self\n' +
          '    def __exit__(self, *a):\n        return False\n',
      };
      for (const [f, content] of Object.entries(files)) {
        mkdirSync(join(dir, f, '..'), { recursive: true });
        writeFileSync(join(dir, f), content);
      }
    });
    afterAll(() => rmSync(dir, { recursive: true, force: true }));

    function check(current: string, heads: string, config?: string): { code: number | null; stderr: string; seen: string } {
      const seen = join(dir, 'seen');
      const r = spawnSync(python!, ['-c', script], {
        env: {
          PYTHONPATH: dir,
          PATH: process.env.PATH,
          STUB_CURRENT: current,
          STUB_HEADS: heads,
          STUB_SEEN: seen,
          ...(config ? { ALEMBIC_CONFIG: config } : {}),
        },
        encoding: 'utf-8',
      });
      return { code: r.status, stderr: r.stderr, seen: readFileSync(seen, 'utf-8') };
    }

    test('nothing applied: exit 1, naming current and heads (as Alembic printed it in the tool tier)', () => {
      const r = check('', '0002');
      expect(r.code).toBe(1);
      expect(r.stderr.trim()).toBe("alembic: the database is not at head: current [], heads ['0002']");
    });

    test('behind head: exit 1', () => {
      expect(check('0002', '0003').code).toBe(1);
    });

    test('at head: exit 0; with branches, every head must be applied', () => {
      expect(check('0002', '0002').code).toBe(0);
      expect(check('a1 b1', 'b1 a1').code).toBe(0);
      expect(check('a1', 'a1 b1').code).toBe(1);
    });

    test('reads ALEMBIC_CONFIG when set, alembic.ini otherwise (as the alembic CLI does)', () => {
      expect(check('1', '1').seen).toBe('alembic.ini');
      expect(check('1', '1', 'conf/migrations.ini').seen).toBe('conf/migrations.ini');
    });
  });
});

describe('migration.command and migration.args', () => {
  test('an explicit command overrides the preset; the tool still decides HOME', () => {
    const c = migrateContainer(synthService({
      migration: { tool: MigrationTool.prisma(), command: ['npm', 'run', 'db:deploy'] },
    }));
    expect(toolCommand(c)).toEqual(['npm', 'run', 'db:deploy']);
    expect(envValue(c, 'HOME')).toBe('/tmp');
  });

  test('a command without a tool runs as given, without HOME', () => {
    const c = migrateContainer(synthService({ migration: { command: ['/app/migrate', '--all'] } }));
    expect(toolCommand(c)).toEqual(['/app/migrate', '--all']);
    expect(envValue(c, 'HOME')).toBeUndefined();
  });

  test('args are appended as container args, the command unchanged', () => {
    const c = migrateContainer(synthService({
      migration: { tool: MigrationTool.flyway(), args: ['-outOfOrder=true', '-X'] },
    }));
    expect(toolCommand(c)).toEqual(['flyway', 'migrate']);
    expect(c.args).toEqual(['-outOfOrder=true', '-X']);
  });

  test('neither tool nor command is a synth-time error naming migration', () => {
    expect(() => synthService({ migration: {} }))
      .toThrow(/^Invalid migration of MigratedService "test\/myapp" .*set migration\.tool .* or migration\.command/);
  });

  test('a one-string command with spaces is rejected with advice to split it', () => {
    expect(() => synthService({ migration: { command: ['npx prisma migrate deploy'] } }))
      .toThrow(/^Invalid migration\.command of MigratedService "test\/myapp" \["npx prisma migrate deploy"\]: .*split it into a list/);
  });

  test('an empty command is rejected', () => {
    expect(() => synthService({ migration: { command: [] } }))
      .toThrow(/^Invalid migration\.command .*non-empty list of strings/);
  });

  test('a blank program name is rejected', () => {
    expect(() => synthService({ migration: { command: [' ', 'up'] } }))
      .toThrow(/^Invalid migration\.command .*the first element must name the program to run/);
  });

  test('args that are not strings are rejected naming migration.args', () => {
    expect(() => synthService({ migration: { tool: MigrationTool.flyway(), args: [42 as any] } }))
      .toThrow(/^Invalid migration\.args /);
  });
});

describe('MigrationTool.custom', () => {
  test.each(['My Tool', 'UPPER', '-leading-dash', '', 'dots.not.allowed'])('rejects the name %j', name => {
    expect(() => MigrationTool.custom({ name, command: ['migrate'] }))
      .toThrow(`Invalid MigrationTool.custom name ${JSON.stringify(name)}`);
  });

  test('rejects a missing options object or a name that is not a string, with the advice', () => {
    const advice = ': give a short lowercase name of letters, digits and "-", e.g. "my-migrator"';
    expect(() => MigrationTool.custom(undefined as any)).toThrow(`Invalid MigrationTool.custom name (undefined)${advice}`);
    // 42 would pass the name pattern once turned into a string.
    expect(() => MigrationTool.custom({ name: 42 as any, command: ['migrate'] })).toThrow(`Invalid MigrationTool.custom name 42${advice}`);
    expect(() => MigrationTool.custom({ name: 'UPPER', command: ['migrate'] })).toThrow(`Invalid MigrationTool.custom name "UPPER"${advice}`);
  });

  test('rejects a command with an element that is not a string, with the advice', () => {
    expect(() => MigrationTool.custom({ name: 'my-migrator', command: ['./migrate', 42 as any] })).toThrow(
      'Invalid MigrationTool.custom(my-migrator).command ["./migrate",42]: pass the command as a non-empty list of strings, e.g. ["npx", "prisma", "migrate", "deploy"]');
    expect(() => MigrationTool.custom({ name: 'my-migrator', command: [42 as any] })).toThrow(/^Invalid MigrationTool\.custom\(my-migrator\)\.command \[42\]: pass the command/);
  });

  test('a program path with spaces is fine when the arguments are separate elements', () => {
    expect(MigrationTool.custom({ name: 'my-migrator', command: ['/opt/db tools/migrate', 'up'] }).command).toEqual(['/opt/db tools/migrate', 'up']);
    expect(() => MigrationTool.custom({ name: 'my-migrator', command: ['./migrate up'] })).toThrow(
      'Invalid MigrationTool.custom(my-migrator).command ["./migrate up"]: it is one string with spaces, which Kubernetes runs as a single ' +
      'program name; split it into a list, e.g. ["sh", "-c", "..."] or ["alembic", "upgrade", "head"]');
  });

  test('without needsWritableHome the tool needs none, and the Job gets no HOME', () => {
    const tool = MigrationTool.custom({ name: 'my-migrator', command: ['./migrate', 'up'] });
    expect(tool.needsWritableHome).toBe(false);
    expect(envValue(migrateContainer(synthService({ migration: { tool } })), 'HOME')).toBeUndefined();
  });

  test('rejects an empty command, naming the tool', () => {
    expect(() => MigrationTool.custom({ name: 'my-migrator', command: [] }))
      .toThrow(/^Invalid MigrationTool\.custom\(my-migrator\)\.command \[\]: pass the command as a non-empty list/);
  });

  test('rejects a one-string command with spaces and an empty checkCommand', () => {
    expect(() => MigrationTool.custom({ name: 'my-migrator', command: ['./migrate up'] })).toThrow(/split it/);
    expect(() => MigrationTool.custom({ name: 'my-migrator', command: ['./migrate'], checkCommand: [] }))
      .toThrow(/^Invalid MigrationTool\.custom\(my-migrator\)\.checkCommand/);
  });

  test('runs its command in the Job and sets HOME when it needs a writable HOME', () => {
    const tool = MigrationTool.custom({ name: 'my-migrator', command: ['./migrate', 'up'], needsWritableHome: true });
    const c = migrateContainer(synthService({ migration: { tool } }));
    expect(toolCommand(c)).toEqual(['./migrate', 'up']);
    expect(envValue(c, 'HOME')).toBe('/tmp');
  });

  test('a checkCommand enables Waiter.schemaCheck(): the init container runs it', () => {
    const tool = MigrationTool.custom({
      name: 'my-migrator', command: ['./migrate', 'up'], checkCommand: ['./migrate', 'check'],
    });
    const m = synthService({ migration: { tool }, waiter: Waiter.schemaCheck() });
    const init = initContainer(m);
    expect(init.command).toEqual(['./migrate', 'check']);
    expect(init.image).toBe('registry.example.com/myapp:v1.2.3');
    // no API access: no Role, no RoleBinding
    expect([...all(m, 'Role'), ...all(m, 'RoleBinding')]).toEqual([]);
  });

  test('without a checkCommand, Waiter.schemaCheck() is refused', () => {
    const tool = MigrationTool.custom({ name: 'my-migrator', command: ['./migrate', 'up'] });
    expect(() => synthService({ migration: { tool }, waiter: Waiter.schemaCheck() }))
      .toThrow('migration tool "my-migrator" has no command that fails while migrations are pending');
  });

  test('keeps its own copy of the commands', () => {
    const command = ['./migrate', 'up'];
    const checkCommand = ['./migrate', 'check'];
    const tool = MigrationTool.custom({ name: 'my-migrator', command, checkCommand });
    command.push('--oops');
    checkCommand.push('--oops');
    expect(tool.command).toEqual(['./migrate', 'up']);
    expect(tool.checkCommand).toEqual(['./migrate', 'check']);
  });
});

describe('Atlas check under Kubernetes variable expansion', () => {
  const env = { DATABASE_URL: 'postgres://app:s3cret@db:5432/app?sslmode=disable' };

  test('the expander follows the Kubernetes rules', () => {
    expect(kubernetesExpand('$(DATABASE_URL)', env)).toBe(env.DATABASE_URL);
    expect(kubernetesExpand('$(UNSET)', env)).toBe('$(UNSET)');
    expect(kubernetesExpand('$$(DATABASE_URL) $1 $', env)).toBe('$(DATABASE_URL) $1 $');
  });

  test('the synthesized check keeps $$( so the container gets a shell substitution, and $(DATABASE_URL) the URL', () => {
    const init = initContainer(synthService({ migration: { tool: MigrationTool.atlas() }, waiter: Waiter.schemaCheck() }));
    // GIVEN the args as written in the manifest
    expect(init.command[2]).toContain('"$$(atlas migrate status');
    // WHEN the kubelet expands them
    const argv = init.command.map((a: string) => kubernetesExpand(a, env));
    // THEN sh receives a command substitution and the URL as $1
    expect(argv).toEqual(['sh', '-c',
      'test "$(atlas migrate status --url "$1" --dir "$2" --format \'{{ .Status }}\')" = OK',
      'atlas-check', env.DATABASE_URL, 'file://migrations']);
  });

  describe('run with sh and a stub atlas', () => {
    let bin: string;
    beforeAll(() => {
      bin = mkdtempSync(join(tmpdir(), 'atlas-stub-'));
      // The stub records its arguments, one per line, and prints the status it is told to.
      writeFileSync(join(bin, 'atlas'), '#!/bin/sh\nprintf \'%s\\n\' "$@" > "$STUB_ARGS"\nprintf \'%s\\n\' "$STUB_STATUS"\n');
      chmodSync(join(bin, 'atlas'), 0o755);
    });
    afterAll(() => rmSync(bin, { recursive: true, force: true }));

    function runCheck(status: string): { code: number | null; args: string[] } {
      const argv = MigrationTool.atlas().checkCommand!.map(a => kubernetesExpand(a, env));
      const argsFile = join(bin, `args-${status}`);
      const result = spawnSync(argv[0], argv.slice(1), {
        env: { PATH: `${bin}:/usr/bin:/bin`, STUB_STATUS: status, STUB_ARGS: argsFile },
        encoding: 'utf8',
      });
      return { code: result.status, args: readFileSync(argsFile, 'utf8').trimEnd().split('\n') };
    }

    test('exits 0 when atlas reports OK, passing URL and dir intact', () => {
      const { code, args } = runCheck('OK');
      expect(code).toBe(0);
      expect(args).toEqual(['migrate', 'status', '--url', env.DATABASE_URL, '--dir', 'file://migrations',
        '--format', '{{ .Status }}']);
    });

    test('exits non-zero when atlas reports PENDING', () => {
      expect(runCheck('PENDING').code).not.toBe(0);
    });
  });
});
