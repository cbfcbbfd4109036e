/**
 * The inputs stream, created or brought up to date idempotently by every process on connect.
 *
 * - file storage: an input JetStream acknowledged survives a nats-server restart;
 * - work-queue retention: an input is removed once an engine acknowledged it (the event store is the
 *   record; the bus only carries work), with `max_age` bounding what nobody consumes;
 * - `duplicate_window`: a publish repeating the Nats-Msg-Id (the input's key) of one stored within the
 *   window is acknowledged as a duplicate and not stored again;
 * - the description records the partition count, so processes configured differently cannot split a
 *   deployment's sessions across partitions nobody consumes.
 */
import {
  DiscardPolicy,
  JetStreamApiCodes,
  JetStreamApiError,
  type JetStreamManager,
  RetentionPolicy,
  StorageType,
  type StreamConfig,
  type StreamInfo,
} from '@nats-io/jetstream';
import { nanos } from '@nats-io/transport-node';
import type { ResolvedNatsBusOptions } from './options.ts';
import { inputSubjects } from './subjects.ts';

const STREAM_NAME_IN_USE = 10058;

export type InputStreamConfig = Partial<StreamConfig> & Pick<StreamConfig, 'name' | 'subjects'>;

export function streamConfig(options: ResolvedNatsBusOptions): InputStreamConfig {
  return {
    name: options.streamName,
    description: `sip-pivot inputs; partitions=${options.partitions}`,
    subjects: [inputSubjects(options.subjectPrefix)],
    retention: RetentionPolicy.Workqueue,
    storage: StorageType.File,
    discard: DiscardPolicy.Old,
    num_replicas: options.replicas,
    duplicate_window: nanos(options.duplicateWindowMs),
    max_age: nanos(options.maxAgeMs),
  };
}

export function partitionsOf(info: StreamInfo): number | undefined {
  const match = /partitions=(\d+)/.exec(info.config.description ?? '');
  return match ? Number(match[1]) : undefined;
}

function isApiError(error: unknown, code: number): boolean {
  return error instanceof JetStreamApiError && error.code === code;
}

async function existing(jsm: JetStreamManager, name: string): Promise<StreamInfo | undefined> {
  try {
    return await jsm.streams.info(name);
  } catch (error) {
    if (isApiError(error, JetStreamApiCodes.StreamNotFound)) return undefined;
    throw error;
  }
}

export async function ensureStream(
  jsm: JetStreamManager,
  options: ResolvedNatsBusOptions,
): Promise<StreamInfo> {
  const wanted = streamConfig(options);
  let info = await existing(jsm, wanted.name);
  if (!info) {
    try {
      return await jsm.streams.add(wanted);
    } catch (error) {
      // Another process created it in the meantime: check it like any existing stream.
      if (!isApiError(error, STREAM_NAME_IN_USE)) throw error;
      info = await existing(jsm, wanted.name);
      if (!info) throw error;
    }
  }
  const partitions = partitionsOf(info);
  if (partitions !== undefined && partitions !== options.partitions) {
    throw new Error(
      `nats bus: stream ${wanted.name} is partitioned ${partitions} ways, this process is configured for ${options.partitions}`,
    );
  }
  const have = info.config;
  if (have.retention !== wanted.retention || have.storage !== wanted.storage) {
    throw new Error(
      `nats bus: stream ${wanted.name} exists with retention ${have.retention} / storage ${have.storage}; ` +
        `expected ${wanted.retention} / ${wanted.storage} (delete it to recreate)`,
    );
  }
  const differs =
    have.description !== wanted.description ||
    JSON.stringify(have.subjects) !== JSON.stringify(wanted.subjects) ||
    have.duplicate_window !== wanted.duplicate_window ||
    have.max_age !== wanted.max_age ||
    have.num_replicas !== wanted.num_replicas ||
    have.discard !== wanted.discard;
  if (!differs) return info;
  return jsm.streams.update(wanted.name, {
    description: wanted.description,
    subjects: wanted.subjects,
    duplicate_window: wanted.duplicate_window,
    max_age: wanted.max_age,
    num_replicas: wanted.num_replicas,
    discard: wanted.discard,
  });
}
