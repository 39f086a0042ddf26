import { spawnSync } from 'child_process';
import { MigrationTool } from '../../../src';
import { writeFiles } from '../harness';
import { ToolSpec } from '../scenario';
import { SQL, Statements, statements } from '../sql';

// Debian's ruby-railties, ruby-activerecord and ruby-pg, loaded without Bundler.
const probe = spawnSync('/usr/bin/ruby', ['-e', 'require "rails"; require "active_record"; require "pg"; puts Rails.version'], { encoding: 'utf-8' });
const version = probe.status === 0 ? probe.stdout.trim() : undefined;

const migration = (klass: string, sql: Statements): string =>
  `class ${klass} < ActiveRecord::Migration[6.1]\n  def up\n${statements(sql).map(s => `    execute ${JSON.stringify(s)}\n`).join('')}  end\nend\n`;

export const rails: ToolSpec = {
  title: 'MigrationTool.rails()',
  name: 'rails',
  tool: () => MigrationTool.rails(),
  installable: true,
  unavailable: () => (version ? undefined : 'not installed here: ruby-railties, ruby-activerecord, ruby-pg (run .ci/install-tools.sh)'),
  version: () => `rails ${version}`,
  // Rails merges DATABASE_URL into the environment's database config by itself.
  env: (pg, db) => ({ DATABASE_URL: pg.url(db), RAILS_ENV: 'production' }),
  project: (dir, count, sql = SQL) => writeFiles(dir, {
    // What `rails new --minimal` generates, trimmed to Active Record; no Bundler (Debian's gems).
    'bin/rails': [
      '#!/usr/bin/env ruby',
      'APP_PATH = File.expand_path("../config/application", __dir__)',
      'require_relative "../config/boot"',
      'require "rails/commands"',
      '',
    ].join('\n'),
    'config/boot.rb': '# Bundler would be set up here; the gems come from Debian.\n',
    'Rakefile': 'require_relative "config/application"\nRails.application.load_tasks\n',
    'config/application.rb': [
      'require "rails"',
      'require "active_record/railtie"',
      'module Tiny',
      '  class Application < Rails::Application',
      '    config.load_defaults 6.1',
      '    config.eager_load = false',
      '    config.secret_key_base = "not-a-secret"',
      '    config.logger = ActiveSupport::Logger.new($stdout)',
      '    # The generated production.rb sets this: no db/schema.rb on a read-only filesystem.',
      '    config.active_record.dump_schema_after_migration = false',
      '  end',
      'end',
      '',
    ].join('\n'),
    'config/environment.rb': 'require_relative "application"\nRails.application.initialize!\n',
    'config/database.yml': 'production:\n  adapter: postgresql\n',
    'db/migrate/20240101000001_create_widgets.rb': migration('CreateWidgets', sql.first),
    'db/migrate/20240101000002_add_size.rb': migration('AddSize', sql.second),
    ...(count === 3 ? { 'db/migrate/20240101000003_broken.rb': migration('Broken', sql.broken) } : {}),
  }),
};
