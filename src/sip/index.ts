/** The SIP adapter: wire messages <-> engine inputs and commands (see src/shared/messages.ts). */
export {
  createSipAdapter,
  type SipAdapter,
  type SipAdapterOptions,
  type SipAdapterStats,
} from './adapter.ts';
export type { Logger as SipLogger } from './types.ts';
