/**
 * The adapter's name-addr helpers are the machines' (machines/sip-syntax.ts): one grammar for From,
 * To, Contact, Refer-To and every other name-addr value, whichever layer reads it.
 */
export {
  formatNameAddr,
  formatParams,
  parseNameAddr,
  parseParams,
  splitHeaderValues as splitCommaList,
} from '../../machines/sip-syntax.ts';
