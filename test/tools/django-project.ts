/** The tiny Django project of the tool tier, shared with the in-cluster test (test/e2e/tool-in-cluster.test.ts). */
import { MigrationSql, SQL, Statements, statements } from './sql';

const migration = (previous: string | undefined, sql: Statements): string => `from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [${previous ? `('widgets', '${previous}')` : ''}]
    operations = [${statements(sql).map(s => `migrations.RunSQL(${JSON.stringify(s)})`).join(', ')}]
`;

/** Files of the project (path → content) with the first `count` migrations; settings read DATABASE_URL. */
export function djangoProject(count: 2 | 3, sql: MigrationSql = SQL): { [file: string]: string } {
  return {
    'manage.py': [
      'import sys',
      'from django.core.management import execute_from_command_line',
      'execute_from_command_line(sys.argv)',
      '',
    ].join('\n'),
    'tiny/__init__.py': '',
    'tiny/settings.py': [
      'import os',
      'from urllib.parse import urlparse',
      "u = urlparse(os.environ['DATABASE_URL'])",
      "SECRET_KEY = 'not-a-secret'",
      "INSTALLED_APPS = ['widgets']",
      "DATABASES = {'default': {'ENGINE': 'django.db.backends.postgresql', 'NAME': u.path[1:],",
      "    'USER': u.username, 'PASSWORD': u.password, 'HOST': u.hostname, 'PORT': u.port}}",
      'USE_TZ = True',
      '',
    ].join('\n'),
    'widgets/__init__.py': '',
    'widgets/migrations/__init__.py': '',
    'widgets/migrations/0001_initial.py': migration(undefined, sql.first),
    'widgets/migrations/0002_size.py': migration('0001_initial', sql.second),
    ...(count === 3 ? { 'widgets/migrations/0003_broken.py': migration('0002_size', sql.broken) } : {}),
  };
}
