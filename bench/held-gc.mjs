// Loaded into the pivot by bench/held.ts (node --expose-gc --import): on SIGUSR2 it collects garbage
// and prints the memory figures, so the bench reads what the held calls keep, not what awaits collection.
// Several collections: each compacts only so many fragmented pages, and RSS shrinks as pages empty.
process.on('SIGUSR2', () => {
  for (let i = 0; i < 8; i++) globalThis.gc();
  const m = process.memoryUsage();
  process.stderr.write(
    `held-gc heapUsed=${m.heapUsed} heapTotal=${m.heapTotal} external=${m.external} rss=${m.rss}\n`,
  );
});
