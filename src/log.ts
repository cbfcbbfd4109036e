/** A tiny structured logger: one JSON line per entry on stderr, so stdout stays free for CLI output. */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

export type Logger = (level: LogLevel, message: string, fields?: object) => void;

const ORDER: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export function consoleLogger(minimum: LogLevel = 'info'): Logger {
  return (level, message, fields) => {
    if (ORDER[level] < ORDER[minimum]) return;
    process.stderr.write(
      `${JSON.stringify({ time: new Date().toISOString(), level, message, ...fields })}\n`,
    );
  };
}

export const silentLogger: Logger = () => {};
