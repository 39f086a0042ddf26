/** The tiny Django project of the tool tier, shared with the in-cluster test (test/e2e/tool-in-cluster.test.ts). */
import { SQL } from './sql';

const migration = (n: number, previous: string | undefined, sql: string): string => `from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [${previous ? `('widgets', '${previous}')` : ''}]
    operations = [migrations.RunSQL(${JSON.stringify(sql)})]
`;

/** Files of the project (path → content) with the first `count` migrations; settings read DATABASE_URL. */
export function djangoProject(count: 2 | 3): { [file: string]: string } {
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
    'widgets/migrations/0001_initial.py': migration(1, undefined, SQL.first),
    'widgets/migrations/0002_size.py': migration(2, '0001_initial', SQL.second),
    ...(count === 3 ? { 'widgets/migrations/0003_broken.py': migration(3, '0002_size', SQL.broken) } : {}),
  };
}
