// Interoperability with a real SOAP toolkit: Apache CXF's wsdl2java generates a client from the ?wsdl URL
// the running service serves (the schemas fetched through their ?xsd= URLs), Maven compiles it with a
// caller written against the official RIVTA names (test/interop/src), and it calls the service. Nothing
// is mocked: the answer is CXF's reading of our SOAP response, and the notification is in the queue.
// Needs Java 17+ and Maven (artifacts from Maven Central, cached in ~/.m2).
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rows } from '../../src/db/database.js';
import { startTestApp, TEST_CONSUMER_HSA_ID, type TestApp } from '../helpers/app.js';
import { javaPrerequisites, requireOrSkip } from '../helpers/prerequisites.js';
import { TEST_SOURCE_SYSTEM } from '../helpers/soap.js';

const execFileAsync = promisify(execFile);
const PROJECT = path.dirname(fileURLToPath(import.meta.url));
const ready = requireOrSkip('CXF interop test', javaPrerequisites({ java: true, maven: true }));

let t: TestApp;

beforeAll(async () => {
  if (!ready) return;
  t = await startTestApp();
  await t.activate(TEST_SOURCE_SYSTEM);
});
afterAll(async () => t?.close());

describe.skipIf(!ready)('ProcessNotification with an Apache CXF client generated from the served WSDL', () => {
  it('When wsdl2java is given the ?wsdl URL, then the generated client compiles against the official names and its call is answered OK and stored', async () => {
    const wsdlUrl = `${t.url}/ProcessNotification/1/rivtabp21?wsdl`;
    // A client generated from this service's URL only: nothing left over from an earlier run.
    fs.rmSync(path.join(PROJECT, 'target'), { recursive: true, force: true });
    const args = [
      wsdlUrl,
      TEST_CONSUMER_HSA_ID,
      'SE1623210002-VC7',
      '191212121212',
      TEST_SOURCE_SYSTEM,
      'CXF-BOOKING-1',
    ];
    const { stdout } = await execFileAsync(
      'mvn',
      [
        '-B',
        '-q',
        '-Dstyle.color=never',
        '-f',
        path.join(PROJECT, 'pom.xml'),
        `-Dwsdl.url=${wsdlUrl}`,
        'compile',
        'exec:java',
        `-Dexec.args=${args.join(' ')}`,
      ],
      { timeout: 480_000, maxBuffer: 16 * 2 ** 20 },
    ).catch((error: { stdout?: string; stderr?: string; message: string }) => {
      throw new Error(
        `mvn failed: ${error.message}\n${(error.stdout ?? '').slice(-4000)}\n${(error.stderr ?? '').slice(-2000)}`,
      );
    });
    const answer = Object.fromEntries(
      stdout
        // Maven may still wrap the program's output in colour codes.
        .replace(/\u001b\[[0-9;]*m/g, '')
        .split('\n')
        .filter((line) => /^(ResultCode|comment)=/.test(line))
        .map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1).trim()]),
    );
    // The generated classes came from the served schemas (wsdl2java fetched each ?xsd= URL).
    const generated = path.join(PROJECT, 'target/generated-sources/cxf/riv/itintegration');
    expect(
      fs.existsSync(
        path.join(generated, 'engagementindex/processnotificationresponder/_1/ProcessNotificationType.java'),
      ),
    ).toBe(true);
    expect(fs.existsSync(path.join(generated, 'registry/_1/ServiceContractType.java'))).toBe(true);
    expect(answer, stdout.slice(-3000)).toEqual({
      ResultCode: 'OK',
      comment: 'accepted 1 (already received 0), ignored 0, rejected 0',
    });

    const stored = await rows<{ resident: string; booking: string; care_unit: string }>(
      t.database.orm,
      sql`select resident, engagement->>'businessObjectInstanceIdentifier' as booking, engagement->>'logicalAddress' as care_unit
          from inbound_notification`,
    );
    expect(stored).toEqual([{ resident: '191212121212', booking: 'CXF-BOOKING-1', care_unit: 'SE1623210002-VC7' }]);
  }, 600_000);
});
