/**
 * Turns zod issues into one operator-readable line per problem: `config: <path>: <what is wrong>`.
 * zod's own messages talk about types ("expected object, received null"); these talk about the YAML
 * ("expected a mapping (got null)") and show the offending value so the line is enough to fix it.
 */
import type { z } from 'zod';
import { formatPath } from './paths.ts';

type Issue = z.core.$ZodIssue;

const NOUNS: Record<string, string> = {
  object: 'a mapping',
  array: 'a list',
  string: 'a string',
  number: 'a number',
  int: 'a whole number',
  boolean: 'true or false',
};

export function formatIssues(issues: readonly Issue[]): string[] {
  return issues.map(withoutSecret).flatMap(formatIssue);
}

/** A password's value never reaches an error line (a log, a terminal): its issue is shown without it. */
function withoutSecret(issue: Issue): Issue {
  return issue.path.at(-1) === 'password' && issue.code !== 'invalid_type'
    ? { ...issue, input: undefined }
    : issue;
}

function formatIssue(issue: Issue): string[] {
  const at = (path: readonly PropertyKey[], text: string) => {
    const where = formatPath(path);
    return `config: ${where === '' ? '' : `${where}: `}${text}`;
  };
  switch (issue.code) {
    case 'unrecognized_keys':
      return issue.keys.map((key) => at([...issue.path, key], 'unknown field'));
    case 'invalid_type': {
      if (issue.input === undefined) return [at(issue.path, 'required')];
      const expected = NOUNS[issue.expected] ?? issue.expected;
      // YAML reads an unquoted +15550100000 as a number; tell the operator what to do about it.
      const hint = issue.expected === 'string' && typeof issue.input !== 'object' ? '; quote it in YAML' : '';
      return [at(issue.path, `expected ${expected} (got ${show(issue.input)}${hint})`)];
    }
    case 'invalid_value':
      return [at(issue.path, oneOf(issue.values, issue.input))];
    case 'invalid_union': {
      // A discriminated union reports a bad `kind` at the discriminator with the parent as input.
      if ('discriminator' in issue && 'options' in issue && Array.isArray(issue.options)) {
        const parent = issue.input as Record<string, unknown> | undefined;
        return [at(issue.path, oneOf(issue.options as unknown[], parent?.[issue.discriminator as string]))];
      }
      return [at(issue.path, issue.message)];
    }
    case 'invalid_key':
      // The path already ends with the bad key; the nested issue says what keys must look like.
      return issue.issues.map((inner) => at(issue.path, `${inner.message} (got ${show(issue.input)})`));
    default:
      return [
        at(
          issue.path,
          issue.input === undefined ? issue.message : `${issue.message} (got ${show(issue.input)})`,
        ),
      ];
  }
}

function oneOf(values: readonly unknown[], input: unknown): string {
  const list = values.map(String).join(', ');
  return input === undefined
    ? `required: expected one of ${list}`
    : `expected one of ${list} (got ${show(input)})`;
}

/** The offending value as JSON, cut short so a huge mapping does not flood the log. */
function show(value: unknown): string {
  let text: string;
  try {
    text = JSON.stringify(value) ?? String(value);
  } catch {
    text = String(value);
  }
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}
