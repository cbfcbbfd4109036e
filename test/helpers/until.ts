/**
 * Resolves once `condition` holds, checking again every few milliseconds. It has no deadline of its
 * own: the test's timeout bounds it, so a loaded machine makes a test slower, never wrong.
 */
export async function until(condition: () => boolean | Promise<boolean>, intervalMs = 5): Promise<void> {
  while (!(await condition())) await new Promise((resolve) => setTimeout(resolve, intervalMs));
}
