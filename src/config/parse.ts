import { ConfigError } from './error.ts';
import { formatIssues } from './issues.ts';
import { checkedConfigSchema, type PivotConfig } from './schema.ts';
import { duplicateProblems } from './unique.ts';

/**
 * Validates a configuration value (as read from YAML) and fills in defaults.
 * Throws a ConfigError listing every problem, each naming its field by path.
 */
export function parseConfig(value: unknown): PivotConfig {
  // reportInput puts the offending value in each issue, so messages can show what was written.
  const result = checkedConfigSchema.safeParse(value, { reportInput: true });
  const problems = [
    ...(result.success ? [] : formatIssues(result.error.issues)),
    ...duplicateProblems(value),
  ];
  if (problems.length > 0 || !result.success) throw new ConfigError(problems);
  return result.data;
}
