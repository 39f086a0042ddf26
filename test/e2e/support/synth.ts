/**
 * Synthesize apps through the public API (src/index.ts), in memory, as `cdk8s synth` would.
 */
import { App, Chart } from 'cdk8s';
import { parseAllDocuments } from 'yaml';

/** Build one chart in `namespace` and return the app's YAML (what `cdk8s synth` writes). */
export function synthYaml(namespace: string, build: (chart: Chart) => void): string {
  const app = new App();
  build(new Chart(app, 'e2e', { namespace }));
  return app.synthYaml();
}

/** The YAML's objects, parsed. */
export function objectsOf(yaml: string): any[] {
  return parseAllDocuments(yaml).map(d => d.toJSON()).filter(o => o);
}
