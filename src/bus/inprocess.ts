/**
 * The in-process bus: the adapter and the engine in one process, inputs handed over directly. Order per
 * session is kept by the engine's mailboxes.
 */
import type { SipCommand, SipInput } from './messages.ts';
import type { AdapterBus, EngineBus } from './port.ts';

export function createInProcessBus(): { adapter: AdapterBus; engine: EngineBus } {
  let inputHandler: ((input: SipInput) => Promise<void>) | undefined;
  const commandHandlers = new Map<string, (command: SipCommand) => void>();
  const adapter: AdapterBus = {
    async publishInput(input) {
      if (!inputHandler) throw new Error('in-process bus: no engine is consuming inputs');
      // Not awaited: the adapter must not wait for the engine's decision to read the next datagram.
      void inputHandler(input);
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
