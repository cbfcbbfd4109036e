/**
 * Thrown when the configuration cannot be used. The message has one line per problem, each naming the
 * field by its path (`config: trunks[0].transferMode: expected one of ...`), so the operator can fix
 * every mistake in one go; `problems` holds the same lines for programs.
 */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  readonly problems: string[];

  constructor(problems: string[]) {
    super(problems.join('\n'));
    this.problems = problems;
  }
}
