import { cdk8s, javascript, JsonFile } from 'projen';

const project = new cdk8s.ConstructLibraryCdk8s({
  name: 'cdk8s-migrated-service',
  packageName: 'cdk8s-migrated-service',
  description:
    'One image tag in, a migration Job, a gated Deployment and least-privilege RBAC out: ' +
    'database schema migrations that run once per release, for cdk8s.',
  keywords: ['cdk8s', 'kubernetes', 'migration', 'database', 'job', 'init-container', 'fluxcd', 'argocd', 'helm'],
  // TEMPLATE: the project has no public home yet. These placeholders (example.com is reserved for
  // examples, github.com/example is not this project's) are what a registry page would show: set
  // the real author, address and repository (and publishToGo's moduleName) before publishing.
  // The docs the README links to ship in the package, so they do not depend on this URL.
  author: 'cdk8s-migrated-service authors (template placeholder)',
  authorAddress: 'maintainers@example.com',
  repositoryUrl: 'https://github.com/example/cdk8s-migrated-service.git',
  license: 'Apache-2.0',
  defaultReleaseBranch: 'main',
  packageManager: javascript.NodePackageManager.NPM,
  projenrcTs: true,
  jsiiVersion: '~6.0.0',

  cdk8sVersion: '2.70.0',
  constructsVersion: '10.4.2',
  peerDeps: ['cdk8s-plus-28@^2.5.6'],
  devDeps: [
    'cdk8s-plus-28@^2.5.6',
    // Tests gate() with the cdk8s-plus that `cdk8s init` installs today (#21); 2.5.57 needs cdk8s ^2.68.11.
    'cdk8s-plus-33@^2.5.57',
    'cdk8s-cli@^2.200.0',
    'kubernetes-models@4.5.1',
    'fast-check@^4',
    'yaml@^2',
    // Schema validation of the PrometheusRule of `alerts` in tests. 4.x: 5.x and 6.x are ESM-only, which ts-jest's CommonJS cannot require.
    '@kubernetes-models/prometheus-operator@4.4.4',
    // Mutation testing (task `mutate`). 9.x: 10.x needs Node 22, CI and this machine run Node 20.
    '@stryker-mutator/core@^9.6.1',
    '@stryker-mutator/jest-runner@^9.6.1',
    '@stryker-mutator/typescript-checker@^9.6.1',
  ],

  // The dev tsconfig lives at the root so editors, ts-node (examples, bench) and jest share it.
  tsconfigDevFile: 'tsconfig.dev.json',
  tsconfigDev: {
    compilerOptions: {},
    include: ['src/**/*.ts', 'test/**/*.ts', 'examples/**/*.ts', 'bench/**/*.ts', '.projenrc.ts', 'projenrc/**/*.ts'],
    exclude: ['node_modules', 'examples/**/dist', 'examples/**/node_modules'],
  },

  // Release targets beyond npm. They are packaged only by the release workflow (see the
  // package task below): PyPI, Maven Central, NuGet and the Go proxy are not reachable here.
  publishToPypi: { distName: 'cdk8s-migrated-service', module: 'cdk8s_migrated_service' },
  publishToMaven: {
    javaPackage: 'io.github.cdk8s_migrated_service',
    mavenGroupId: 'io.github.cdk8s-migrated-service',
    mavenArtifactId: 'cdk8s-migrated-service',
  },
  publishToNuget: { dotNetNamespace: 'Cdk8sMigratedService', packageId: 'Cdk8sMigratedService' },
  publishToGo: { moduleName: 'github.com/example/cdk8s-migrated-service-go' },

  // One typed-lint program for everything: the dev tsconfig at the root covers src, test,
  // examples and bench (the project service would only find the jsii tsconfig, which is src only).
  eslintOptions: {
    dirs: ['src'],
    devdirs: ['test', 'examples', 'bench', 'projenrc', 'mutation'],
    projectService: false,
    tsconfigPath: './tsconfig.dev.json',
  },

  jestOptions: {
    // Snapshots must fail when they differ, never silently rewrite themselves.
    updateSnapshot: javascript.UpdateSnapshot.NEVER,
    passWithNoTests: false,
    jestConfig: {
      // The pack-and-install acceptance test compiles and installs; give it room.
      testTimeout: 30_000,
      // The real-cluster and real-tool tiers have their own configs and tasks (e2e, tools).
      testPathIgnorePatterns: ['/node_modules/', '/examples/.*/dist/', '/test/e2e/', '/test/tools/'],
    },
  },
  gitignore: ['examples/**/dist/', 'bench/results.json', '*.cpuprofile', '/.stryker-tmp/', '/reports/'],
  // The status CLI (src/status.ts): `npx cdk8s-migrated-service status <name> -n <namespace>`.
  bin: { 'cdk8s-migrated-service': 'bin/cdk8s-migrated-service' },
  npmignoreEnabled: true,
  // The project's tooling stays out of the package (test/package.test.ts checks the pack list).
  // docs/ and the examples' sources ship: the README (and the docs) link to them, and an installed
  // package is read without the repository. The examples' synthesized YAML and installs do not.
  npmIgnoreOptions: {
    ignorePatterns: ['/examples/**/dist/', '/examples/**/node_modules/', '/bench/', '/.ci/', '/mutation/', 'tsconfig.dev.json', '/stryker.config.json', '/reports/', '/.stryker-tmp/'],
  },
});

// `npm ci` must accept the lock file everywhere. unrs-resolver 1.13.0 (pulled in by jest 30's
// jest-resolve and eslint-import-resolver-typescript 4) names platform bindings at 1.13.0 that
// not every registry serves, so `npm install` leaves them out of the lock and `npm ci` then
// refuses it. 1.12.2's bindings are all published: pin it until 1.13's are everywhere.
project.package.addPackageResolutions('unrs-resolver@1.12.2');

// Locally and in CI only the js target can be packaged (only the npm registry is reachable);
// projen's default packages every target outside CI. The release workflow still packages each
// language through its own package:<lang> task.
const packageJs = project.tasks.tryFind('package:js');
if (packageJs) {
  project.packageTask.reset();
  project.packageTask.spawn(packageJs);
}

project.addTask('example', {
  description: 'Synthesize the example app with `cdk8s synth` and print the YAML',
  cwd: 'examples/basic',
  steps: [
    { exec: 'npx cdk8s synth --no-check-upgrade' },
    { exec: 'cat dist/*.k8s.yaml' },
  ],
});

project.addTask('bench', {
  description: 'Synth benchmark: MigratedService against the same objects written by hand',
  exec: 'ts-node --project tsconfig.dev.json bench/synth.bench.ts',
  receiveArgs: true,
});

project.addTask('rollout-bench', {
  description: 'Rollout benchmark on a real cluster: rollout overhead beyond the migration before/after issue 21 at 2 and 10 replicas (and without the lock or the history), the library against its peers (the seed pattern by hand, CI sequencing), gate latency, failures and API requests of each waiter (not run by CI)',
  exec: 'ts-node --project tsconfig.dev.json bench/rollout.bench.ts',
  receiveArgs: true,
});
project.addTask('lock-bench', {
  description: 'Migration lock benchmark on a real cluster: its cost when nothing else migrates, and the API requests of a waiting migration (not run by CI)',
  exec: 'ts-node --project tsconfig.dev.json bench/lock.bench.ts',
  receiveArgs: true,
});

/**
 * A jest config of its own for a tier that runs real components (a cluster, PostgreSQL, the tools):
 * one test file at a time (they share one node and one machine), no coverage, its own JUnit report.
 */
function realComponentTier(tier: string, description: string, timeoutMs: number): void {
  new JsonFile(project, `test/${tier}/jest.config.json`, {
    obj: {
      rootDir: '../..',
      testMatch: [`<rootDir>/test/${tier}/**/*.test.ts`],
      testPathIgnorePatterns: ['/node_modules/'],
      testTimeout: timeoutMs,
      maxWorkers: 1,
      collectCoverage: false,
      transform: { '^.+\\.[t]sx?$': ['ts-jest', { tsconfig: 'tsconfig.dev.json' }] },
      reporters: ['default', ['jest-junit', { outputDirectory: `test-reports/${tier}` }]],
    },
  });
  project.addTask(tier, {
    description,
    exec: `jest --ci --runInBand --config test/${tier}/jest.config.json`,
    receiveArgs: true,
  });
}
/**
 * Mutation testing with StrykerJS over src/, unit tier only. See docs/mutation-testing.md.
 *
 * The incremental file (reports/stryker-incremental.json) stays out of git: it records results
 * for the exact src and test files of one checkout, so on a branch it would conflict at every
 * merge and in a fresh clone it would only be discarded by the first changed file anyway.
 */
new JsonFile(project, 'stryker.config.json', {
  // Stryker warns on unknown keys such as projen's "//" marker; it ignores keys ending in _comment.
  marker: false,
  obj: {
    projen_comment: '~~ Generated by projen. To modify, edit .projenrc.ts and run "npx projen".',
    $schema: './node_modules/@stryker-mutator/core/schema/stryker-schema.json',
    packageManager: 'npm',
    testRunner: 'jest',
    jest: {
      projectType: 'custom',
      // The project's jest config (package.json), minus three slow files that Stryker cannot use:
      // package.test.ts packs and installs the built tarball and examples.test.ts runs `cdk8s synth`
      // in child processes, which never load the instrumented src; waiter-script.test.ts runs the
      // kubectl waiter's shell script (~45 s of the ~50 s suite), which Stryker sees as one string
      // literal, killed by test/waiter.test.ts running the synthesized command. With them, each of
      // the ~160 static mutants (module-level constants, rerun against every test) costs the full suite.
      // synth-golden.test.ts compares whole outputs byte for byte (a guard for restructuring): the
      // score is to say what the targeted tests catch, and it would rerun ~260 synths per mutant.
      config: {
        testPathIgnorePatterns: [
          '/node_modules/', '/examples/.*/dist/', '/test/e2e/', '/test/tools/',
          '/test/package\\.test\\.ts$', '/test/examples\\.test\\.ts$', '/test/waiter-script\\.test\\.ts$', '/test/post-rollout-script\\.test\\.ts$',
          '/test/synth-golden\\.test\\.ts$',
        ],
        collectCoverage: false,
        reporters: ['default'],
      },
      enableFindRelatedTests: true,
    },
    // No TypeScript checker: at concurrency 2 it took one core as busy as the test runner's, for
    // a full run of about 3 h here; without it two runners share the cores. ts-jest only transpiles
    // (isolatedModules), so a mutant that would not compile is run like any other: it fails at
    // runtime, or it survives and the survivor list says so (docs/mutation-testing.md).
    checkers: [],
    // For --checkers typescript: the jsii tsconfig covers src only, so the checker drops mutants
    // that do not compile without type-checking tests, examples and bench for each one.
    tsconfigFile: 'tsconfig.json',
    typescriptChecker: { prioritizePerformanceOverAccuracy: true },
    // index.ts only re-exports: nothing in it can be mutated into a behaviour change.
    mutate: ['src/**/*.ts', '!src/index.ts'],
    ignorePatterns: ['/lib', '/dist', '/coverage', '/test-reports', '/examples/**/dist', '/examples/**/node_modules', '/reports'],
    coverageAnalysis: 'perTest',
    incremental: true,
    incrementalFile: 'reports/stryker-incremental.json',
    // Two cores shared with the cluster: never more than two test processes.
    concurrency: 2,
    // A jest runner that stays up slows down: src/props.ts took 56 min for 448 of 487 mutants,
    // falling from 20 to 2-6 a minute; restarted every 40 mutants, all 487 in 26 min at a steady
    // 19 a minute (2026-11-21). The restart costs a few seconds.
    maxTestRunnerReuse: 40,
    // Generous: a busy machine must not turn a slow run into a "timeout" (counted as killed).
    timeoutMS: 60_000,
    timeoutFactor: 3,
    reporters: ['clear-text', 'progress', 'html', 'json'],
    htmlReporter: { fileName: 'reports/mutation/mutation.html' },
    jsonReporter: { fileName: 'reports/mutation/mutation.json' },
    thresholds: { high: 90, low: 85, break: 85 },
    tempDirName: '.stryker-tmp',
    cleanTempDir: 'always',
  },
});
project.addTask('mutate', {
  description: 'Mutation testing of src/ with StrykerJS (incremental; see docs/mutation-testing.md)',
  exec: 'stryker run stryker.config.json',
  receiveArgs: true,
});
// A full `mutate` run writes nothing until it ends (one to two hours here); this one runs Stryker
// file by file, keeps each file's report and totals them (mutation/per-file.ts).
project.addTask('mutate-per-file', {
  description: 'StrykerJS over src/ one file at a time (each report kept as soon as it is done), then the score of all of src/',
  exec: 'ts-node --project tsconfig.dev.json mutation/per-file.ts',
  receiveArgs: true,
});
// Stryker never deletes one statement, property or array element; no npm tool does for TypeScript,
// so this small script does (mutation/deletions.ts, docs/mutation-testing.md).
project.addTask('mutate-deletions', {
  description: 'Delete each statement, object property and array element of src/ in turn and run the tests that reach it',
  exec: 'ts-node --project tsconfig.dev.json mutation/deletions.ts',
  receiveArgs: true,
});

realComponentTier('e2e', 'End-to-end tests on a real Kubernetes cluster ($KUBECONFIG, else ../shared/local-k8s)', 600_000);
realComponentTier('tools', 'Migration tool presets run against a real PostgreSQL', 600_000);

project.synth();
