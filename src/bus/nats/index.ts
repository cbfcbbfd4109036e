/**
 * The NATS bus: inputs from the SIP adapters to the engines on a JetStream stream (durable,
 * deduplicated, partitioned by session), commands back to the adapters on core NATS subjects.
 *
 *   const bus = await createNatsBus({ servers: 'nats://127.0.0.1:4222' });
 *   const adapterBus = bus.adapter();   // in a `pivot sip` process
 *   const engineBus = bus.engine();     // in a `pivot engine` process
 *   await bus.close();                  // drains
 *
 * One connection per bus; a process running both roles uses both views of one bus.
 */
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import type { SipCommand } from '../../shared/messages.ts';
import type { AdapterBus, Closable, EngineBus, PeerStateBus } from '../port.ts';
import { createCommandSender, subscribeCommands } from './commands.ts';
import { connectNats } from './connect.ts';
import { consumeInputs, type InputConsumer } from './consumeInputs.ts';
import { type NatsBusOptions, resolveOptions } from './options.ts';
import { createPeerStateBus } from './peerState.ts';
import { createInputPublisher } from './publishInput.ts';
import { ensureStream } from './stream.ts';

export type { NatsBusOptions } from './options.ts';

export interface NatsBus extends Closable {
  adapter(): AdapterBus;
  engine(): EngineBus;
  /** The SIP peers' health checks, written by the adapter that pings and followed by the others. */
  peerStates(): Promise<PeerStateBus>;
  /** The underlying connection (status, diagnostics; tests close it to simulate a crash). */
  readonly connection: NatsConnection;
}

export async function createNatsBus(options: NatsBusOptions): Promise<NatsBus> {
  const resolved = resolveOptions(options);
  const nc = await connectNats(resolved);
  let jsm: Awaited<ReturnType<typeof jetstreamManager>>;
  try {
    jsm = await jetstreamManager(nc);
    await ensureStream(jsm, resolved);
  } catch (error) {
    await nc.close();
    throw error;
  }
  const js = jetstream(nc);

  let adapterView: AdapterBus | undefined;
  let engineView: EngineBus | undefined;

  function adapter(): AdapterBus {
    if (adapterView) return adapterView;
    const publishInput = createInputPublisher(nc, js, resolved);
    const subscriptions: { unsubscribe(): void }[] = [];
    adapterView = {
      publishInput,
      async onCommand(adapterId: string, handler: (command: SipCommand) => void) {
        subscriptions.push(...(await subscribeCommands(nc, resolved, adapterId, handler)));
      },
      async close() {
        for (const subscription of subscriptions.splice(0)) subscription.unsubscribe();
      },
    };
    return adapterView;
  }

  function engine(): EngineBus {
    if (engineView) return engineView;
    let consumer: InputConsumer | undefined;
    engineView = {
      async consumeInputs(handler) {
        if (consumer) throw new Error('nats bus: this engine bus is already consuming inputs');
        consumer = await consumeInputs(nc, jsm, js, resolved, handler);
      },
      sendCommand: createCommandSender(nc, resolved),
      async close() {
        await consumer?.stop();
      },
    };
    return engineView;
  }

  let peerStates: Promise<PeerStateBus> | undefined;

  let closing: Promise<void> | undefined;
  return {
    adapter,
    engine,
    peerStates() {
      peerStates ??= createPeerStateBus(nc, resolved, { jsm, js }).catch((error: unknown) => {
        peerStates = undefined;
        throw error;
      });
      return peerStates;
    },
    connection: nc,
    close() {
      closing ??= (async () => {
        await engineView?.close();
        await adapterView?.close();
        if (!nc.isClosed()) await nc.drain().catch(() => nc.close());
      })();
      return closing;
    },
  };
}
