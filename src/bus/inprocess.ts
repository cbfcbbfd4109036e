/**
 * The in-process bus: the adapter and the engine in one process, inputs handed over directly. Order per
 * session is kept by the engine's mailboxes.
 *
 * `publishInput` resolves once the engine has handled the input and rejects if the engine could not
 * (the store failed, or the input is poison): there is no durable queue to hold it for a retry, so the
 * adapter hears of it and does what it does for an input the bus refused (a new INVITE is answered 503;
 * a non-INVITE request goes again on the peer's next retransmission, see src/cli/roles.ts).
 */
import { type Logger, silentLogger } from '../log.ts';
import type { SipCommand, SipInput } from '../shared/messages.ts';
import type { AdapterBus, EngineBus } from './port.ts';

export function createInProcessBus(options: { log?: Logger } = {}): {
  adapter: AdapterBus;
  engine: EngineBus;
} {
  const log = options.log ?? silentLogger;
  let inputHandler: ((input: SipInput) => Promise<void>) | undefined;
  const commandHandlers = new Map<string, (command: SipCommand) => void>();
  const adapter: AdapterBus = {
    async publishInput(input) {
      if (!inputHandler) throw new Error('in-process bus: no engine is consuming inputs');
      // The adapter does not await this: it reads the next datagram while the engine decides.
      try {
        await inputHandler(input);
      } catch (error) {
        log('error', 'in-process bus: the engine did not handle an input', {
          callId: input.callId,
          transactionKey: input.transactionKey,
          ...(input.kind === 'request' ? { method: input.method } : { status: input.status }),
          error: String(error),
        });
        throw error;
      }
    },
    async onCommand(adapterId, handler) {
      commandHandlers.set(adapterId, handler);
    },
    async close() {
      commandHandlers.clear();
    },
  };
  const engine: EngineBus = {
    async consumeInputs(handler) {
      inputHandler = handler;
    },
    sendCommand(command, adapterId) {
      const to = command.kind === 'response' ? command.adapterId : adapterId;
      const handler = (to ? commandHandlers.get(to) : undefined) ?? [...commandHandlers.values()][0];
      handler?.(command);
    },
    async close() {
      inputHandler = undefined;
    },
  };
  return { adapter, engine };
}
