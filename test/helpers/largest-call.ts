// Run as a child process with the production start command's node flags (test/operations/start-command.test.ts):
// the largest call EI may send (MAX_BODY_BYTES of transactions) read and prepared on this thread and on an
// ingest thread, as the service does. Prints one JSON line: transactions prepared by each, the V8 heap
// limit, and the heap used while the prepared call is held (after a full collection).
import v8 from 'node:v8';
import { runInNewContext } from 'node:vm';
import { createParsePool } from '../../src/process-notifications/parse-pool.js';
import { prepareNotification } from '../../src/process-notifications/prepare.js';
import { MAX_BODY_BYTES } from '../../src/process-notifications/soap-endpoint.js';
import { engagement, notificationEnvelope, transactionXml } from './soap.js';

const one = (n: number) =>
  engagement({
    registeredResidentIdentification: `19${String(n).padStart(10, '0')}`,
    logicalAddress: `SE-TEST-VC${n % 50}`,
    businessObjectInstanceIdentifier: `LARGEST-${n}`,
  });
// As many transactions as fit under the platform's limit.
const envelope = notificationEnvelope([]);
const count = Math.floor((MAX_BODY_BYTES - Buffer.byteLength(envelope)) / Buffer.byteLength(transactionXml(one(1e9))));
const xml = notificationEnvelope(Array.from({ length: count }, (_, i) => one(1e9 + i)));

v8.setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

const pool = createParsePool(1);
const threaded = await pool.prepare(Buffer.from(xml));
await pool.close();
const inline = prepareNotification(xml);
gc();
const held = v8.getHeapStatistics().used_heap_size;
process.stdout.write(
  `${JSON.stringify({
    bytes: Buffer.byteLength(xml),
    threaded: threaded.prepared.filter((item) => item.ok).length,
    inline: inline.prepared.filter((item) => item.ok).length,
    heapLimitMb: v8.getHeapStatistics().heap_size_limit / 1024 / 1024,
    heldMb: held / 1024 / 1024,
  })}\n`,
);
