// The one place where the service is built from configuration; tests build it with their own.
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import express, { type Express } from 'express';
// Every component through its index.ts (scripts/check-boundaries.mjs checks it).
import {
  activationRegistryOpenApi,
  createCareUnitAdministration,
  createFloodGuard,
  mountActivationRegistry,
  openSourceSystemDirectory,
  startHoldWatch,
  type FloodGuard,
  type HoldWatch,
  type SourceSystemDirectory,
} from './activation-registry/index.js';
import { adminConsoleApi, adminConsoleOpenApi, adminConsolePage } from './admin-console/index.js';
import { createAuthenticator } from './auth/index.js';
import {
  channelsOpenApi,
  citizenSettingsRouter,
  mountTwilioStatus,
  releaseDeadSenders,
  startChannels,
  type ChannelSender,
  type ChannelsDependencies,
} from './channels/index.js';
import type { Config } from './config.js';
import { openDatabase, type Database } from './db/index.js';
import { demoAdminPanel, mountDemo, startDemo, type Demo } from './demo/index.js';
import { createDetailsFetcher, type DetailsFetcher } from './details-fetcher/index.js';
import { jsonErrorHandler, jsonNotFound } from './http/index.js';
import {
  heldCounts,
  inboxOpenApi,
  mountCitizenInbox,
  startHeldMessageSweeper,
  type HeldMessageSweeper,
} from './inbox/index.js';
import { createLogger, type Logger } from './logging.js';
import {
  loadMessageRenderer,
  startMessageEngine,
  type EngineOptions,
  type MessageEngine,
} from './message-engine/index.js';
import {
  createMetrics,
  httpsOptionsOf,
  mountHealth,
  mountMetrics,
  requestLogging,
  requireClientCertificate,
  startRetentionJob,
  type RetentionJob,
  type ServiceMetrics,
} from './operations/index.js';
import {
  inDatabaseIntake,
  kafkaIntake,
  mountProcessNotification,
  PROCESS_NOTIFICATION_PATH,
  type EndpointDependencies,
  type NotificationIntake,
  type ProcessNotificationEndpoint,
} from './process-notifications/index.js';
import {
  autovacuumOff,
  createKafka,
  deadLettersRouter,
  kafkaNames,
  newWorkerId,
  notificationLeases,
  pendingNotificationCount,
  pingKafka,
  queueOpenApi,
  startLiveness,
  startNotificationConsumer,
  startNotificationPublisher,
  type Liveness,
  type NotificationConsumer,
} from './queue/index.js';
import { createSourceActivity } from './source-activity/index.js';
import {
  composeOpenApi,
  createSessionManager,
  htmlErrorHandler,
  mountStartPage,
  serveOpenApi,
  sessionOptionsOf,
  swedishNotFound,
  type OpenApiDocument,
} from './web/index.js';

export interface AppOptions {
  config: Config;
  /** An open database; otherwise one is opened from the configuration (and closed with the app). */
  database?: Database;
  log?: Logger;
  hooks?: Pick<EndpointDependencies, 'onReceived' | 'onRefused'>;
  /** The engine's tuning (tests); the rest comes from the configuration. */
  engine?: Partial<
    Pick<
      EngineOptions,
      'leaseMs' | 'pollMs' | 'concurrency' | 'retryPeriodMs' | 'releaseGraceMs' | 'now' | 'onSettled' | 'workerId'
    >
  >;
  /** A details fetcher built by the caller (kept open on close); otherwise one from NTJP_GETBOOKINGDETAILS_URL. */
  detailsFetcher?: DetailsFetcher;
  /** The channel sender's providers and tuning (tests); otherwise from the configuration. */
  channels?: Pick<ChannelsDependencies, 'providers' | 'tuning'>;
  /** How long close() lets calls in flight finish before it cuts their connections. Default 20 s. */
  shutdownTimeoutMs?: number;
}

export interface App {
  readonly config: Config;
  readonly express: Express;
  readonly database: Database;
  readonly directory: SourceSystemDirectory;
  readonly intake: NotificationIntake;
  /** The message engine, when this process runs the `worker` role. */
  readonly engine: MessageEngine | undefined;
  /** The SMS / e-mail sender, when this process runs the `sender` role. */
  readonly sender: ChannelSender | undefined;
  readonly log: Logger;
  /** This app's Prometheus registry and recorders (GET /metrics). */
  readonly metrics: ServiceMetrics;
  /** The flood guard at the ingest, when this process runs the `ingest` role. */
  readonly floodGuard: FloodGuard | undefined;
  /** Settles held messages after a decision, and watches how long holds wait (the `worker` role). */
  readonly heldMessages: { sweeper: HeldMessageSweeper; watch: HoldWatch } | undefined;
  /** The purge of expired data, when this process runs the `worker` role. */
  readonly retention: RetentionJob | undefined;
  /** The development demonstration (DEMO=true). */
  readonly demo: Demo | undefined;
  /** Starts listening on config.port (0: any free port); resolves to the base URL. */
  listen(): Promise<string>;
  close(): Promise<void>;
}

/** The OpenAPI description of the whole JSON API, composed from each component's fragment. */
export function openApiDocument(): OpenApiDocument {
  return composeOpenApi([inboxOpenApi, channelsOpenApi, activationRegistryOpenApi, queueOpenApi, adminConsoleOpenApi]);
}

export async function buildApp(options: AppOptions): Promise<App> {
  const { config } = options;
  const log = options.log ?? createLogger({ level: config.logLevel });
  const ownsDatabase = options.database === undefined;
  const database =
    options.database ?? (await openDatabase({ databaseUrl: config.databaseUrl, dataDir: `${config.dataDir}/pglite` }));
  const directory = await openSourceSystemDirectory(database, config.environment);
  // DEMO=true (development only): a built-in producer takes NTjP's place for the demo source system.
  const demo = config.demo ? await startDemo({ config, database, directory, log }) : undefined;
  const getBookingDetailsUrl = demo?.producer.url ?? config.ntjp.getBookingDetailsUrl;
  // With KAFKA_BROKERS, Kafka hands the fresh work to the workers; the database stays the ledger of what
  // was accepted and what is done (docs/ARCHITECTURE.md, "Kafka").
  const kafka = config.kafkaBrokers.length > 0 ? createKafka(config.kafkaBrokers, log) : undefined;
  const names = kafkaNames(config.kafkaTopicPrefix);
  const publisher = kafka && config.roles.has('ingest') ? await startNotificationPublisher(kafka, names) : undefined;
  const intakeOptions = { redeliveryWindowSeconds: config.redeliveryWindowSeconds };
  // Without Kafka, this process's own engine is woken as soon as a call's notifications are committed, rather
  // than at its next poll (up to 200 ms later). Set once the engine runs (below).
  let wakeEngine = (): void => {};
  const tableIntake = inDatabaseIntake(database, intakeOptions);
  const intake: NotificationIntake = publisher
    ? kafkaIntake(database, publisher, intakeOptions)
    : {
        async record(call) {
          const result = await tableIntake.record(call);
          if (result.queued > 0) wakeEngine();
          return result;
        },
      };

  // Read at start, so that a wrong certificate path stops the start rather than the first call.
  const httpsOptions = httpsOptionsOf(config.tls);
  const metrics = createMetrics({ database, log });
  // Per-source-system counters (what each booking system sends and what comes of it) for /admin.
  const activity = createSourceActivity(database, config.environment, log);

  const app = express();
  app.disable('x-powered-by');
  let closing = false;
  // Told at once when this process accepts notifications it cannot process (no GetBookingDetails).
  let warnedWaitingAt = 0;
  const willWait = config.roles.has('worker') && !options.detailsFetcher && !getBookingDetailsUrl;
  const inFlight = new Set<express.Response>();
  app.use((_req, res, next) => {
    // While stopping: calls in flight finish and their connections close after the answer; new calls
    // on a kept-alive connection are refused (503 makes the platform retry later, elsewhere).
    if (closing) return void res.setHeader('connection', 'close').status(503).type('text/plain').send('Shutting down');
    inFlight.add(res);
    res.once('close', () => inFlight.delete(res));
    next();
  });
  app.use(requestLogging(log));
  // With the demo, /readyz reports its producer as the configured GetBookingDetails.
  const healthConfig = demo ? { ...config, ntjp: { ...config.ntjp, getBookingDetailsUrl } } : config;
  mountHealth(app, { database, config: healthConfig, ...(kafka ? { pingKafka: () => pingKafka(kafka) } : {}) });
  mountMetrics(app, metrics);
  let floodGuard: FloodGuard | undefined;
  let ingestEndpoint: ProcessNotificationEndpoint | undefined;
  if (config.roles.has('ingest')) {
    if (httpsOptions?.requestCert) {
      app.use(
        PROCESS_NOTIFICATION_PATH,
        requireClientCertificate({
          allowedClients: config.tls.allowedClients,
          log,
          onRefused: (reason) => metrics.tlsRefused(reason),
        }),
      );
      if (config.tls.allowedClients.length === 0)
        log.warn('TLS_ALLOWED_CLIENTS is empty: any certificate signed by TLS_CLIENT_CA may call ProcessNotification');
    } else if (config.environment === 'prod') {
      log.warn(
        'TLS_CERT / TLS_KEY / TLS_CLIENT_CA not all set: ProcessNotification takes calls without a client certificate',
      );
    }
    floodGuard = createFloodGuard({
      database,
      environment: config.environment,
      settings: {
        threshold: config.floodGuard.threshold,
        windowMs: config.floodGuard.windowSeconds * 1000,
        watchMs: config.floodGuard.watchHours * 3600_000,
        dormantMs: config.floodGuard.dormantDays * 86_400_000,
      },
      log,
      afterTrip: () => directory.refresh(),
      onTrip: () => metrics.floodGuardTripped(),
    });
    if (config.environment === 'prod' && config.publicBaseUrl === undefined) {
      log.warn("PUBLIC_BASE_URL is not set: the WSDL's soap:address is built from a plain Host header");
    }
    ingestEndpoint = await mountProcessNotification(app, {
      ingestThreads: config.ingestThreads,
      publicBaseUrl: config.publicBaseUrl,
      consumerHsaId: config.consumerHsaId,
      directory,
      intake,
      activity,
      floodGuard,
      log,
      onReceived: (outcome) => {
        metrics.received(outcome);
        if (willWait && outcome.counts.accepted > 0 && Date.now() - warnedWaitingAt > 60_000) {
          warnedWaitingAt = Date.now();
          log.warn(
            { accepted: outcome.counts.accepted },
            'notifications accepted but not processed: NTJP_GETBOOKINGDETAILS_URL is not set, so no ' +
              'booking details can be fetched and no message is made (they wait; for a demonstration run ' +
              'npm run demo)',
          );
        }
        options.hooks?.onReceived?.(outcome);
      },
      onRefused: (fault) => {
        metrics.refused(fault);
        options.hooks?.onRefused?.(fault);
      },
    });
  }
  if (config.roles.has('web')) {
    // Bearer tokens for /api and the pages' sessions, shared by every web component.
    const authenticator = createAuthenticator(config);
    const sessions = createSessionManager(sessionOptionsOf(config), { database });
    if (config.developmentSignIn) {
      log.warn(
        { environment: config.environment },
        'development sign-in is ON (DEV_LOGIN): anyone can sign in to /inbox as any citizen and to ' +
          '/admin as an administrator; never in production',
      );
    }
    mountStartPage(app, { demo: demo !== undefined });
    if (demo) mountDemo(app, { demo, authenticator, sessions, log });
    app.use('/api/admin', deadLettersRouter({ database, authenticator, log }));
    const consoleData = { database, activity, environment: config.environment };
    app.use('/api', citizenSettingsRouter({ database, authenticator, log }));
    mountTwilioStatus(app, { config, database, log });
    mountActivationRegistry(app, {
      config,
      database,
      directory,
      authenticator,
      sessions,
      log,
      heldCounts: () => heldCounts(database.orm),
      ...(demo ? { extraSection: (csrf: string) => demoAdminPanel(demo, csrf) } : {}),
      console: (registry) => {
        app.use('/api/admin', adminConsoleApi({ ...consoleData, registry, authenticator, log }));
        return adminConsolePage({ ...consoleData, log })(registry);
      },
    });
    app.get('/api/openapi.json', serveOpenApi(openApiDocument()));
    mountCitizenInbox(app, { config, database, authenticator, sessions, log });
    // Last: an /api path nobody answered is a JSON 404, not express's HTML page.
    app.use('/api', jsonNotFound);
    // Any other path nobody answered: a Swedish page, not express's "Cannot GET".
    app.use(swedishNotFound);
  }
  // Whatever a route let through: JSON under /api, the masked Swedish page elsewhere; never express's
  // default handler, which writes the stack trace to the answer and stderr.
  app.use('/api', jsonErrorHandler(log));
  app.use(htmlErrorHandler(log));

  // Processes that hold leases write heartbeats; each also releases at once the claims of a process whose
  // heartbeat stopped (a SIGKILL, a lost machine), so its work is taken over in seconds, not after the lease.
  const processId = options.engine?.workerId ?? newWorkerId();
  const liveness: Liveness | undefined =
    config.roles.has('worker') || config.roles.has('sender')
      ? await startLiveness({
          database,
          processId,
          roles: [...config.roles].filter((role) => role === 'worker' || role === 'sender'),
          log,
          heartbeatMs: config.workerHeartbeatSeconds * 1000,
          deadAfterMs: config.workerDeadAfterSeconds * 1000,
          releasers: [notificationLeases, releaseDeadSenders],
          // Only one process can open the embedded database: whoever registered before us is gone.
          exclusive: ownsDatabase && database.kind === 'embedded',
          onReaped: (event) => metrics.reaped(event),
        })
      : undefined;

  let engine: MessageEngine | undefined;
  let heldMessages: { sweeper: HeldMessageSweeper; watch: HoldWatch } | undefined;
  let consumer: NotificationConsumer | undefined;
  let ownedFetcher: DetailsFetcher | undefined;
  if (config.roles.has('worker')) {
    if (!options.detailsFetcher && getBookingDetailsUrl) {
      ownedFetcher = await createDetailsFetcher({
        config,
        log,
        url: getBookingDetailsUrl,
        maxCallsPerSecondPerAddress: config.ntjpMaxCallsPerSecond,
      });
    }
    const fetcher = options.detailsFetcher ?? ownedFetcher;
    const workerId = processId;
    engine = startMessageEngine({
      database,
      workerId,
      // With Kafka the table loop takes only retries, stragglers and what a dead worker held.
      ...(kafka ? { pollMs: 1_000, claimMinAgeMs: 10_000 } : {}),
      fetcher: fetcher && metrics.instrumentFetcher(fetcher),
      directory,
      renderer: loadMessageRenderer(undefined, { bookingService: config.bookingServiceUrl !== undefined }),
      log,
      rebookWindowMs: config.rebookWindowSeconds * 1000,
      leaseMs: config.workerLeaseSeconds * 1000,
      retryPeriodMs: config.notificationRetryHours * 3600_000,
      activity,
      ...options.engine,
      onSettled: (outcome) => {
        metrics.settled(outcome);
        // Each decision has its own info line ("decision", engine.ts); this is the settling's detail.
        log.debug(
          { notificationId: outcome.id, result: outcome.result, because: outcome.because },
          'notification settled',
        );
        options.engine?.onSettled?.(outcome);
      },
      onMessagesCreated: (kinds) => metrics.messagesCreated(kinds),
    });
    if (!kafka) wakeEngine = engine.wake;
    // Held messages: settled after an administrator's decision; holds that wait too long raise the alarm.
    const careUnits = createCareUnitAdministration(database, {
      afterChange: () => directory.refresh(),
      heldCounts: () => heldCounts(database.orm),
    });
    heldMessages = {
      sweeper: startHeldMessageSweeper({
        database,
        directory,
        log,
        onSettled: (result) => metrics.heldSettled(result),
      }),
      watch: startHoldWatch({
        directory,
        careUnits,
        environment: config.environment,
        alertMs: config.floodGuard.alertHours * 3600_000,
        expireMs: config.floodGuard.expireDays * 86_400_000,
        log,
      }),
    };
    const watch = heldMessages.watch;
    metrics.watchHolds({
      held: () => [...directory.holds().values()].filter((hold) => hold.status === 'holding').length,
      overdue: () => watch.overdue().length,
    });
    // Without GetBookingDetails nothing can be processed: the records wait in Kafka, the rows in the table.
    if (kafka && fetcher) {
      consumer = await startNotificationConsumer({
        kafka,
        names,
        database,
        log,
        workerId,
        leaseMs: options.engine?.leaseMs ?? config.workerLeaseSeconds * 1000,
        process: engine.processClaimed,
      });
    }
  }

  // Data is kept only as long as needed: the workers purge what is past its retention period.
  const retention = config.roles.has('worker')
    ? startRetentionJob({ database, retention: config.retention, log })
    : undefined;

  // The queue's partial indexes and the planner's statistics are kept by autovacuum (docs/OPERATIONS.md): a
  // server without it works, but every claim gets slower as processed rows pile up. Said once, at start.
  if (
    config.roles.has('worker') &&
    database.kind !== 'embedded' &&
    (await autovacuumOff(database).catch(() => false))
  ) {
    log.warn('PostgreSQL runs with autovacuum off: the queue slows down as processed notifications pile up');
  }

  // A worker without GetBookingDetails says so at start and, while notifications wait, every 5 minutes.
  let waitingTimer: NodeJS.Timeout | undefined;
  if (willWait) {
    log.warn(
      'NTJP_GETBOOKINGDETAILS_URL is not set: accepted notifications are stored and wait; no ' +
        'inbox messages are made (npm run demo starts a demonstration with a built-in producer)',
    );
    waitingTimer = setInterval(() => {
      pendingNotificationCount(database).then(
        (pending) => {
          if (pending > 0)
            log.warn({ pending }, 'notifications wait for GetBookingDetails: NTJP_GETBOOKINGDETAILS_URL is not set');
        },
        () => undefined,
      );
    }, 300_000);
    waitingTimer.unref();
  }

  // SMS and e-mail run from their own loop and tables: a provider outage never delays inbox messages.
  const channels = config.roles.has('sender')
    ? startChannels({
        config,
        database,
        log,
        ...options.channels,
        tuning: {
          // The sender's leases are owned under this process's id: the liveness releases them if it dies.
          workerId: `${processId}/sender`,
          ...(liveness ? { mayHandOver: liveness.fresh } : {}),
          ...options.channels?.tuning,
          onSent: (event) => {
            metrics.sent(event);
            options.channels?.tuning?.onSent?.(event);
          },
          onDoubtSettled: (event) => {
            metrics.doubtSettled(event);
            options.channels?.tuning?.onDoubtSettled?.(event);
          },
        },
      })
    : undefined;

  let server: http.Server | https.Server | undefined;
  return {
    config,
    express: app,
    database,
    directory,
    intake,
    engine,
    sender: channels?.sender,
    log,
    metrics,
    floodGuard,
    heldMessages,
    retention,
    demo,
    async listen() {
      server = httpsOptions ? https.createServer(httpsOptions, app) : http.createServer(app);
      // EI's calls may carry up to 15 MB; keep-alive sockets are reused by the platform.
      server.keepAliveTimeout = 65_000;
      await new Promise<void>((resolve, reject) => {
        server!.once('error', reject);
        server!.listen(config.port, '0.0.0.0', resolve);
      });
      const { port } = server.address() as AddressInfo;
      return `${httpsOptions ? 'https' : 'http'}://127.0.0.1:${port}`;
    },
    async close() {
      closing = true;
      for (const res of inFlight) if (!res.headersSent) res.setHeader('connection', 'close');
      if (server) {
        const listening = server;
        const closed = new Promise<void>((resolve) => listening.close(() => resolve()));
        listening.closeIdleConnections();
        // Keep-alive sockets close once their answer is out (connection: close above); whatever still
        // hangs after the timeout is cut.
        const timer = setTimeout(() => {
          log.warn('calls still in flight at the shutdown timeout: connections closed');
          listening.closeAllConnections();
        }, options.shutdownTimeoutMs ?? 20_000);
        await closed;
        clearTimeout(timer);
      }
      await ingestEndpoint?.close();
      await publisher?.close();
      // Calls are no longer taken; the engine finishes the notification in hand, then stops.
      await consumer?.stop();
      await engine?.stop();
      heldMessages?.watch.stop();
      await heldMessages?.sweeper.stop();
      await retention?.stop();
      await channels?.stop();
      // Last of the lease holders: a clean stop leaves no heartbeat row behind to be reaped.
      await liveness?.stop();
      // The counts of the last second (after the engine and the ingest stopped counting).
      await activity.close();
      await ownedFetcher?.close();
      clearInterval(waitingTimer);
      await demo?.close();
      await directory.close();
      if (ownsDatabase) await database.close();
    },
  };
}
