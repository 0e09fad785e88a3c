// What a piece of work costs in CPU time (user + system) of this process: a bound a loaded machine does
// not break, unlike wall-clock time (which grows with every other process on the cores). When the
// service runs in this process (startTestApp), its work is counted too.

/** CPU milliseconds this process spent while `action` ran (its awaited I/O costs nothing). */
export async function cpuCost<T>(action: () => Promise<T>): Promise<{ result: T; cpuMs: number }> {
  const before = process.cpuUsage();
  const result = await action();
  const used = process.cpuUsage(before);
  return { result, cpuMs: (used.user + used.system) / 1000 };
}

/** The least CPU milliseconds of `runs` runs of a synchronous `action` (the least is the least disturbed). */
export function leastCpuMs(action: () => void, runs = 5): number {
  let least = Infinity;
  for (let i = 0; i < runs; i++) {
    const before = process.cpuUsage();
    action();
    const used = process.cpuUsage(before);
    least = Math.min(least, (used.user + used.system) / 1000);
  }
  return least;
}
