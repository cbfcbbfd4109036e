import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { loadConfig } from '../../src/config/index.ts';

describe('config/pivot.distributed.yaml', () => {
  it('loads: EventStoreDB and NATS at their compose service names, listeners on every interface', () => {
    const config = loadConfig('config/pivot.distributed.yaml');
    expect(config.store).toEqual({ kind: 'eventstoredb', url: 'esdb://eventstore:2113?tls=false' });
    expect(config.bus).toEqual({ kind: 'nats', url: 'nats://nats:4222' });
    expect(config.sip).toMatchObject({ host: '0.0.0.0', port: 5060 });
    expect(config.http).toEqual({ host: '0.0.0.0', port: 8080 });
    expect(config.trunks.map((trunk) => trunk.name)).toEqual(['acme']);
  });

  it('is the file docker-compose.yml mounts for every pivot role, which run sip, engine and api', () => {
    const compose = parse(readFileSync('docker-compose.yml', 'utf8'), { merge: true }) as {
      services: Record<string, { command?: string[]; volumes?: string[]; deploy?: { replicas?: number } }>;
    };
    const roles = Object.entries(compose.services).filter(([name]) => name.startsWith('pivot-'));
    expect(roles.map(([name, service]) => [name, service.command])).toEqual([
      ['pivot-sip', ['sip', '--config', '/etc/pivot/pivot.yaml']],
      ['pivot-engine', ['engine', '--config', '/etc/pivot/pivot.yaml']],
      ['pivot-api', ['api', '--config', '/etc/pivot/pivot.yaml']],
    ]);
    for (const [, service] of roles) {
      expect(service.volumes).toContain('./config/pivot.distributed.yaml:/etc/pivot/pivot.yaml:ro');
    }
    expect(compose.services['pivot-engine']!.deploy?.replicas).toBe(2);
    expect(Object.keys(compose.services)).toEqual(expect.arrayContaining(['eventstore', 'nats']));
  });
});
