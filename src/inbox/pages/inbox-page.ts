// /inbox: the citizen's pages, server-rendered, working without JavaScript. Forms post back and are
// answered with a redirect (POST/redirect/GET); every form carries the session's CSRF token.
// Sign-in: OpenID Connect when configured; otherwise the clearly marked development sign-in, which is
// refused in production unless DEV_LOGIN=true.
// Opening a message marks it read, as in any mail client.
import express, { type NextFunction, type Request, type Response, type Router } from 'express';
import { readCitizenSettings, saveCitizenSettings, SettingsError, type SettingsProblem } from '../../channels/settings.js';
import { publicBaseUrlOf } from '../../http/public-url.js';
import type { Logger } from '../../logging.js';
import { SignInError, type CitizenOidc } from '../../web/oidc.js';
import { sessionOf, type SessionManager } from '../../web/session.js';
import { InvalidCursorError, type InboxStore } from '../inbox-store.js';
import { messagePage, notFoundPage, overviewPage, settingsFormOf, signInPage, type SettingsForm, type SettingsState } from './views.js';
import type { Database } from '../../db/database.js';

export interface InboxPageDependencies {
  store: InboxStore;
  /** For the notification settings (the channels component's functions). */
  database: Pick<Database, 'orm'>;
  sessions: SessionManager;
  /** Undefined: OpenID Connect is not configured. */
  oidc: CitizenOidc | undefined;
  /** Offered only when OIDC is not configured. */
  developmentSignIn: boolean;
  /** OIDC_REDIRECT_URI or PUBLIC_BASE_URL's /inbox/logga-in/callback; undefined: a plain Host (development only). */
  redirectUri: string | undefined;
  log: Logger;
  now?: () => Date;
}

const DONE: Record<string, string> = {
  sparat: 'Dina aviseringsinställningar är sparade.',
  borttaget: 'Meddelandet är borttaget.',
};

const SETTINGS_PROBLEM: Record<string, string> = {
  'sms.phone': 'Ange ett mobilnummer som kan ta emot SMS, till exempel 070-123 45 67.',
  'email.address': 'Ange en e-postadress, till exempel namn@example.se.',
};

const SIGN_IN_PROBLEM: Record<SignInError['reason'], string> = {
  denied: 'Inloggningen avbröts eller godkändes inte. Försök igen.',
  no_sign_in_in_progress: 'Inloggningen hade gått ut eller startades i en annan flik. Försök igen.',
  invalid_response: 'Inloggningen kunde inte slutföras. Försök igen.',
  no_personal_number: 'Inloggningstjänsten lämnade inget personnummer. Inkorgen kan inte visas.',
  not_an_administrator: 'Inloggningen kunde inte slutföras. Försök igen.',
  provider_unavailable: 'Inloggningstjänsten svarar inte just nu. Försök igen om en stund.',
};

function send(res: Response, status: number, page: string): void {
  // The pages carry personal data and a CSRF token: never cached.
  res.status(status).set('Cache-Control', 'no-store').type('html').send(page);
}

function settingsProblems(problems: readonly SettingsProblem[]): string[] {
  const texts = problems.map((p) => SETTINGS_PROBLEM[p.field] ?? 'Inställningarna kunde inte sparas. Kontrollera fälten och försök igen.');
  return [...new Set(texts)];
}

/** The development sign-in accepts 12 digits, with or without the hyphen (19121212-1212). */
function personalNumberFromForm(raw: unknown): string | undefined {
  if (typeof raw !== 'string') return undefined;
  const digits = raw.trim().replace(/^(\d{8})-(\d{4})$/, '$1$2');
  return /^\d{12}$/.test(digits) ? digits : undefined;
}

export function inboxPageRouter(deps: InboxPageDependencies): Router {
  const { store, sessions, log } = deps;
  const now = deps.now ?? (() => new Date());
  const developmentSignIn = deps.oidc === undefined && deps.developmentSignIn;
  const router = express.Router();
  router.use(sessions.load);
  router.use(express.urlencoded({ extended: false, limit: '16kb' }));
  router.use(sessions.verifyCsrf);
  router.use((_req, res, next) => {
    res.set('Content-Security-Policy', "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'");
    res.set('X-Content-Type-Options', 'nosniff');
    res.set('Referrer-Policy', 'no-referrer');
    next();
  });

  function signInState(res: Response, problems: string[] = [], personalNumber?: string) {
    return {
      csrf: sessionOf(res).csrfToken,
      oidc: deps.oidc !== undefined,
      developmentSignIn,
      problems,
      ...(personalNumber !== undefined && { personalNumber }),
    };
  }

  router.get('/logga-in', (_req, res) => {
    send(res, 200, signInPage(signInState(res)));
  });

  router.post('/logga-in', async (req, res) => {
    if (!developmentSignIn) {
      send(res, 403, signInPage(signInState(res, ['Utvecklingsinloggningen är inte tillgänglig här.'])));
      return;
    }
    const body = req.body as Record<string, unknown>;
    const personalNumber = personalNumberFromForm(body.personalNumber);
    if (!personalNumber) {
      const typed = typeof body.personalNumber === 'string' ? body.personalNumber.slice(0, 13) : '';
      send(res, 400, signInPage(signInState(res, ['Ange personnumret med 12 siffror, till exempel 191212121212.'], typed)));
      return;
    }
    await sessions.signIn(res, { kind: 'citizen', personalNumber });
    log.info({ via: 'development sign-in' }, 'citizen signed in to /inbox');
    res.redirect(303, '/inbox');
  });

  router.get('/logga-in/oidc', async (req, res) => {
    if (!deps.oidc) {
      res.redirect(303, '/inbox/logga-in');
      return;
    }
    try {
      const redirectUri = deps.redirectUri ?? `${publicBaseUrlOf(req, undefined)}/inbox/logga-in/callback`;
      const { authorizationUrl, pending } = await deps.oidc.start(redirectUri);
      await sessions.setPending(res, { ...pending });
      res.redirect(303, authorizationUrl.href);
    } catch (error) {
      if (!(error instanceof SignInError)) throw error;
      log.warn({ reason: error.reason, err: error.message }, 'OpenID Connect sign-in could not start');
      send(res, 503, signInPage(signInState(res, [SIGN_IN_PROBLEM[error.reason]])));
    }
  });

  router.get('/logga-in/callback', async (req, res) => {
    if (!deps.oidc) {
      res.redirect(303, '/inbox/logga-in');
      return;
    }
    const query = req.originalUrl.includes('?') ? req.originalUrl.slice(req.originalUrl.indexOf('?')) : '';
    try {
      const { personalNumber } = await deps.oidc.finish(query, sessionOf(res).pending);
      await sessions.signIn(res, { kind: 'citizen', personalNumber });
      log.info({ via: 'oidc' }, 'citizen signed in to /inbox');
      res.redirect(303, '/inbox');
    } catch (error) {
      if (!(error instanceof SignInError)) throw error;
      // The pending values are spent either way: a callback cannot be replayed.
      await sessions.setPending(res, {});
      log.warn({ reason: error.reason, providerError: error.providerError, err: error.message }, 'OpenID Connect sign-in refused');
      const status = error.reason === 'provider_unavailable' ? 503 : error.reason === 'no_personal_number' ? 403 : 400;
      send(res, status, signInPage(signInState(res, [SIGN_IN_PROBLEM[error.reason]])));
    }
  });

  router.post('/logga-ut', async (_req, res) => {
    await sessions.signOut(res);
    res.redirect(303, '/inbox/logga-in');
  });

  // Everything below needs a signed-in citizen.
  router.use((_req: Request, res: Response, next: NextFunction) => {
    if (sessionOf(res).identity?.kind !== 'citizen') {
      res.redirect(303, '/inbox/logga-in');
      return;
    }
    next();
  });

  function citizen(res: Response): string {
    const identity = sessionOf(res).identity;
    if (identity?.kind !== 'citizen') throw new Error('not a citizen session');
    return identity.personalNumber;
  }

  async function renderOverview(req: Request, res: Response, status: number, settings?: SettingsState): Promise<void> {
    const resident = citizen(res);
    const cursor = typeof req.query.sida === 'string' ? req.query.sida : undefined;
    let page;
    try {
      page = await store.listMessages(resident, cursor === undefined ? {} : { cursor });
    } catch (error) {
      if (!(error instanceof InvalidCursorError)) throw error;
      // A link from another session or an old secret: show the first page.
      page = await store.listMessages(resident);
    }
    const [bookings, saved] = await Promise.all([store.upcomingBookings(resident, now()), readCitizenSettings(deps.database, resident)]);
    const done = typeof req.query.klart === 'string' ? DONE[req.query.klart] : undefined;
    send(
      res,
      status,
      overviewPage({
        personalNumber: resident,
        csrf: sessionOf(res).csrfToken,
        page,
        olderPage: cursor !== undefined,
        bookings,
        settings: settings ?? { form: settingsFormOf(saved), problems: [] },
        ...(done !== undefined && { done }),
      }),
    );
  }

  router.get('/', async (req, res) => {
    await renderOverview(req, res, 200);
  });

  function messageIdOf(req: Request): number | undefined {
    const raw = String(req.params.id ?? '');
    return /^[1-9][0-9]{0,15}$/.test(raw) && Number.isSafeInteger(Number(raw)) ? Number(raw) : undefined;
  }

  router.get('/meddelanden/:id', async (req, res) => {
    const id = messageIdOf(req);
    const message = id === undefined ? undefined : await store.markRead(citizen(res), id);
    if (!message) {
      send(res, 404, notFoundPage(citizen(res), sessionOf(res).csrfToken));
      return;
    }
    send(res, 200, messagePage(citizen(res), sessionOf(res).csrfToken, message, now()));
  });

  router.post('/meddelanden/:id/ta-bort', async (req, res) => {
    const id = messageIdOf(req);
    if (id === undefined || !(await store.hideMessage(citizen(res), id))) {
      send(res, 404, notFoundPage(citizen(res), sessionOf(res).csrfToken));
      return;
    }
    log.info({ messageId: id }, 'citizen deleted an inbox message (hidden, kept for audit)');
    res.redirect(303, '/inbox?klart=borttaget');
  });

  router.post('/installningar', async (req, res) => {
    const body = req.body as Record<string, unknown>;
    const form: SettingsForm = {
      smsEnabled: body.smsEnabled === 'ja',
      phone: typeof body.phone === 'string' ? body.phone : '',
      emailEnabled: body.emailEnabled === 'ja',
      address: typeof body.address === 'string' ? body.address : '',
    };
    try {
      const saved = await saveCitizenSettings(deps.database, citizen(res), {
        sms: { enabled: form.smsEnabled, phone: form.phone },
        email: { enabled: form.emailEnabled, address: form.address },
      });
      log.info({ sms: saved.sms.enabled, email: saved.email.enabled }, 'citizen channel settings saved from /inbox');
      res.redirect(303, '/inbox?klart=sparat#settings-heading');
    } catch (error) {
      if (!(error instanceof SettingsError)) throw error;
      await renderOverview(req, res, 400, { form, problems: settingsProblems(error.problems) });
    }
  });

  return router;
}
