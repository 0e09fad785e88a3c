// Whether the process runs with V8 heap limits sized for the service (npm start's flags) or sized from
// the machine's memory: at an old-generation limit of 2 GB or more V8 lets garbage grow to up to 4 times
// the live heap before collecting (docs/OPERATIONS.md, "Memory"). Said once at start; the service runs
// either way.

/** V8 (64-bit) picks its largest heap-growing factor from this old-generation limit on. */
export const V8_HIGH_GROWTH_LIMIT_BYTES = 2048 * 1024 * 1024;

/** The warning to log for a heap limit (v8.getHeapStatistics().heap_size_limit), or undefined when it is fine. */
export function heapLimitWarning(heapSizeLimitBytes: number): string | undefined {
  if (heapSizeLimitBytes < V8_HIGH_GROWTH_LIMIT_BYTES) return undefined;
  return (
    `V8 heap limit ${Math.round(heapSizeLimitBytes / 1024 / 1024)} MB (set from the machine's memory): ` +
    'garbage may take several times the memory the service needs; start it as npm start does ' +
    '(node --max-old-space-size=1024 --max-semi-space-size=4 dist/main.js; docs/OPERATIONS.md, "Memory")'
  );
}
