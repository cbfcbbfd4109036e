/** The configured EventStoreDB connection: its string with the secure-mode settings the config gives apart. */
/**
 * The connection string with the configured credentials and CA file added (URL-encoded), so secrets
 * can come from the environment instead of the string.
 */
export function esdbConnectionString(options: {
  url: string;
  username?: string;
  password?: string;
  tlsCaFile?: string;
}): string {
  let url = options.url.trim();
  if (options.username !== undefined && options.password !== undefined) {
    const user = `${encodeURIComponent(options.username)}:${encodeURIComponent(options.password)}@`;
    url = url.replace(/^([a-z+]+:\/\/)/i, `$1${user}`);
  }
  if (options.tlsCaFile !== undefined) {
    url += `${url.includes('?') ? '&' : '?'}tlsCAFile=${encodeURIComponent(options.tlsCaFile)}`;
  }
  return url;
}
