/**
 * Structured logs through pino: one JSON line per entry on stderr (`level`, `time`, `message` and the
 * entry's fields), so stdout stays free for the CLI's human output. The rest of the program sees only
 * the `Logger` function, so a test can hand in its own and read what was logged.
 */
import { type Logger as PinoLogger, pino } from 'pino';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

export interface Logger {
  (level: LogLevel, message: string, fields?: object): void;
  /** The pino logger writing the lines, for a library that takes one (fastify); absent in tests. */
  pino?: PinoLogger;
}

export function consoleLogger(minimum: LogLevel = 'info'): Logger {
  const logger = pino(
    {
      level: minimum,
      messageKey: 'message',
      base: undefined,
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    // Synchronous, so the line that explains an exit is written before the process ends.
    pino.destination({ dest: 2, sync: true }),
  );
  const log: Logger = (level, message, fields) => logger[level](fields ?? {}, message);
  log.pino = logger;
  return log;
}

export const silentLogger: Logger = () => {};
