// DEVELOPMENT ONLY: the demonstration on embedded defaults (DEMO=true, never in production: loadConfig
// refuses DEMO with APP_ENVIRONMENT=prod or NODE_ENV=production). It brings three things:
// - a built-in GetBookingDetails producer (producer.ts) that the worker calls instead of NTjP,
// - the demo source system, registered through the activation registry (audited, actor `demo`),
// - the sample notifications of every use case (scenario.ts), sent to this service's own SOAP endpoint
//   from `POST /api/admin/demo/notifications` (administrator token; `npm run demo:send`) or the button
//   on the development /admin page.
import express, { type Express, type Request, type Response, type Router } from 'express';
import { createSourceSystemRegistry, type SourceSystemDirectory } from '../activation-registry/index.js';
import type { Authenticator } from '../auth/index.js';
import type { Config } from '../config.js';
import type { Database } from '../db/index.js';
import { HttpError, jsonErrorHandler } from '../http/index.js';
import type { Logger } from '../logging.js';
import { pendingNotificationCount } from '../queue/index.js';
import { html, type SafeHtml } from '../web/index.js';
import { sessionOf, type SessionManager } from '../web/index.js';
import { startDemoProducer, type DemoProducer } from './producer.js';
import {
  applyToProducer,
  demoCalls,
  DEMO_RESIDENT,
  DEMO_SOURCE_SYSTEM,
  DEMO_SOURCE_SYSTEM_NAME,
  DEMO_USE_CASES,
  processNotificationXml,
} from './scenario.js';

export { DEMO_RESIDENT, DEMO_SOURCE_SYSTEM, DEMO_USE_CASES, type DemoUseCase } from './scenario.js';
export { startDemoProducer, type DemoProducer } from './producer.js';

export const DEMO_API_PATH = '/api/admin/demo/notifications';
export const DEMO_PAGE_PATH = '/admin/demo';
const PROCESS_NOTIFICATION_PATH = '/ProcessNotification/1/rivtabp21';
/** How long one step may wait for the worker before the run is given up. */
const STEP_TIMEOUT_MS = 60_000;

export type DemoRunOutcome =
  | {
      ok: true;
      runId: string;
      calls: number;
      transactions: number;
      messagesExpected: number;
      cancellationsAfterSeconds: number;
    }
  | {
      ok: false;
      reason: 'busy' | 'window-open' | 'refused' | 'not-processed';
      message: string;
      retryAfterSeconds?: number;
    };

export interface Demo {
  readonly producer: DemoProducer;
  /** Sends every use case's notifications to the service at `baseUrl`, step by step. */
  run(baseUrl: string): Promise<DemoRunOutcome>;
  readonly lastRun: { at: Date; outcome: DemoRunOutcome } | undefined;
  close(): Promise<void>;
}

export interface DemoDependencies {
  config: Pick<Config, 'environment' | 'consumerHsaId' | 'rebookWindowSeconds'>;
  database: Database;
  directory: SourceSystemDirectory;
  log: Logger;
  now?: () => Date;
}

/** Starts the producer and registers the demo source system (once per database). */
export async function startDemo(deps: DemoDependencies): Promise<Demo> {
  const { config, database, directory, log } = deps;
  const now = deps.now ?? (() => new Date());
  const producer = await startDemoProducer();
  const registry = createSourceSystemRegistry(database, { afterChange: () => directory.refresh() });
  if (!(await registry.findLive(config.environment, DEMO_SOURCE_SYSTEM))) {
    await registry.register('demo', {
      environment: config.environment,
      hsaId: DEMO_SOURCE_SYSTEM,
      name: DEMO_SOURCE_SYSTEM_NAME,
      mode: 'active',
    });
  }
  log.warn(
    { sourceSystem: DEMO_SOURCE_SYSTEM, producer: producer.url },
    'DEMO: built-in development GetBookingDetails producer and demo source system are on (never in production)',
  );

  let running = false;
  let lastRun: Demo['lastRun'];
  // A run's deletes are held for the rebooking window; a new run inside it would complete them as rebookings.
  let windowOpenUntil = 0;

  async function waitForWorker(): Promise<boolean> {
    const deadline = Date.now() + STEP_TIMEOUT_MS;
    while (Date.now() < deadline) {
      if ((await pendingNotificationCount(database, DEMO_RESIDENT)) === 0) return true;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    return false;
  }

  async function run(baseUrl: string): Promise<DemoRunOutcome> {
    if (running) return { ok: false, reason: 'busy', message: 'A demo run is already under way' };
    const waitMs = windowOpenUntil - Date.now();
    if (waitMs > 0) {
      const retryAfterSeconds = Math.ceil(waitMs / 1000);
      return {
        ok: false,
        reason: 'window-open',
        retryAfterSeconds,
        message:
          `The previous run's cancellations are still held for the rebooking window; try again in ` +
          `${retryAfterSeconds} s`,
      };
    }
    running = true;
    try {
      const started = now();
      const runId = started.toISOString().replace(/\D/g, '').slice(2, 14);
      const calls = demoCalls(runId, started);
      let transactions = 0;
      for (const call of calls) {
        applyToProducer(producer, call);
        const response = await fetch(`${baseUrl}${PROCESS_NOTIFICATION_PATH}`, {
          method: 'POST',
          headers: {
            'content-type': 'text/xml; charset=utf-8',
            soapaction: 'urn:riv:itintegration:engagementindex:ProcessNotificationResponder:1:ProcessNotification',
          },
          body: processNotificationXml(config.consumerHsaId, call),
        });
        const answer = await response.text();
        if (!response.ok || !answer.includes('ResultCode>OK</')) {
          log.warn({ step: call.label, status: response.status }, 'DEMO: a sample call was not accepted');
          return {
            ok: false,
            reason: 'refused',
            message: `The service did not accept the step "${call.label}" (HTTP ${response.status})`,
          };
        }
        transactions += call.transactions.length;
        log.info({ step: call.label, transactions: call.transactions.length }, 'DEMO: sample notifications sent');
        if (!(await waitForWorker())) {
          return {
            ok: false,
            reason: 'not-processed',
            message: 'The worker did not process the notifications within a minute (is the worker role running?)',
          };
        }
      }
      windowOpenUntil = Date.now() + (config.rebookWindowSeconds + 5) * 1000;
      const messagesExpected = DEMO_USE_CASES.reduce((sum, useCase) => sum + useCase.messages.length, 0);
      return {
        ok: true,
        runId,
        calls: calls.length,
        transactions,
        messagesExpected,
        cancellationsAfterSeconds: config.rebookWindowSeconds,
      };
    } finally {
      running = false;
    }
  }

  return {
    producer,
    run: async (baseUrl) => {
      const outcome = await run(baseUrl);
      lastRun = { at: now(), outcome };
      return outcome;
    },
    get lastRun() {
      return lastRun;
    },
    close: () => producer.close(),
  };
}

/** This server's own address, as the request reached it (the demo runs in one plain-HTTP process). */
function selfUrl(req: Request): string {
  return `http://127.0.0.1:${req.socket.localPort}`;
}

const STATUS_OF: Record<Exclude<DemoRunOutcome, { ok: true }>['reason'], number> = {
  busy: 409,
  'window-open': 409,
  refused: 502,
  'not-processed': 503,
};

/** `POST /api/admin/demo/notifications` (national-admin token): runs the demo, answers its outcome. */
export function demoApiRouter(deps: { demo: Demo; authenticator: Authenticator; log: Logger }): Router {
  const router = express.Router();
  router.post(DEMO_API_PATH, deps.authenticator.requireAdmin, async (req, res) => {
    const outcome = await deps.demo.run(selfUrl(req));
    if (!outcome.ok)
      throw new HttpError(STATUS_OF[outcome.reason], `demo_${outcome.reason.replace('-', '_')}`, outcome.message);
    res.json(outcome);
  });
  router.use(DEMO_API_PATH, jsonErrorHandler(deps.log));
  return router;
}

/** The marked development panel on /admin: the button that sends the sample notifications. */
export function demoAdminPanel(demo: Demo, csrfToken: string): SafeHtml {
  const last = demo.lastRun;
  const sent = last?.outcome.ok ? `${last.outcome.transactions} transaktioner i ${last.outcome.calls} anrop` : '';
  const status = !last
    ? ''
    : last.outcome.ok
      ? html`<p class="notice" role="status">Demoaviseringarna är skickade (${sent}).
Avbokningarna kommer när ombokningsfönstret har gått ut, efter ${last.outcome.cancellationsAfterSeconds} sekunder.
Läs dem i <a href="/inbox">inkorgen</a> som testpersonen 19121212-1212.</p>`
      : html`<p class="problem" role="alert">Demoaviseringarna kunde inte skickas: ${last.outcome.message}</p>`;
  return html`<section class="development" aria-labelledby="demo-heading">
<h2 id="demo-heading">Demonstration (endast utveckling)</h2>
<p>Det inbyggda demo-bokningssystemet <code>${DEMO_SOURCE_SYSTEM}</code> är aktiverat. Knappen skickar
exempelaviseringar för alla tretton användningsfall till tjänsten, som testpersonen 19121212-1212.</p>
${status}
<form method="post" action="${DEMO_PAGE_PATH}">
<input type="hidden" name="_csrf" value="${csrfToken}">
<button type="submit">Skicka demoaviseringar</button>
</form>
</section>`;
}

/** `POST /admin/demo`: the button; a signed-in administrator with the session's CSRF token. */
export function demoPageRouter(deps: { demo: Demo; sessions: SessionManager }): Router {
  const router = express.Router();
  router.post(
    DEMO_PAGE_PATH,
    deps.sessions.load,
    express.urlencoded({ extended: false, limit: '4kb' }),
    deps.sessions.verifyCsrf,
    async (req: Request, res: Response) => {
      if (sessionOf(res).identity?.kind !== 'admin') {
        res.redirect(303, '/admin/logga-in');
        return;
      }
      await deps.demo.run(selfUrl(req));
      res.redirect(303, '/admin');
    },
  );
  return router;
}

/** Mounts the demo's API route and button route (before the registry's /admin router). */
export function mountDemo(
  app: Express,
  deps: { demo: Demo; authenticator: Authenticator; sessions: SessionManager; log: Logger },
): void {
  app.use(demoApiRouter(deps));
  app.use(demoPageRouter(deps));
}
