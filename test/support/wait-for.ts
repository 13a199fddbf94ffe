/**
 * Polls `condition` every few milliseconds until it holds; fails saying `what` after `ms` (real
 * time: for what the tests cannot drive, such as notifications and reconnections).
 */
export async function waitFor(
  what: string,
  condition: () => boolean | Promise<boolean>,
  ms = 8_000,
): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
