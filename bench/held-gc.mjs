// Loaded into the pivot by bench/held.ts (node --expose-gc --import): on SIGUSR2 it collects garbage
// and prints the memory figures, so the bench reads what the held calls keep, not what awaits collection.
process.on('SIGUSR2', () => {
  globalThis.gc();
  globalThis.gc();
  const m = process.memoryUsage();
  process.stderr.write(
    `held-gc heapUsed=${m.heapUsed} heapTotal=${m.heapTotal} external=${m.external} rss=${m.rss}\n`,
  );
});
