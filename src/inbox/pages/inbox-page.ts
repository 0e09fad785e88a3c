// /inbox: the citizen's pages, server-rendered, working without JavaScript. Forms post back and are
// answered with a redirect (POST/redirect/GET); every form carries the session's CSRF token.
// Sign-in: OpenID Connect when configured; otherwise the clearly marked development sign-in, which is
// refused in production unless DEV_LOGIN=true.
// Opening a message marks it read, as in any mail client; the citizen can mark it unread again. Deleting
// asks for a confirmation first. The booking service's links and the calendar file are offered from the
// booking's current state (the list of upcoming bookings), not from what the message said when it came.
import express, { type NextFunction, type Request, type Response, type Router } from 'express';
import { readCitizenSettings, saveCitizenSettings, SettingsError, type SettingsProblem } from '../../channels/index.js';
import { publicBaseUrlOf } from '../../http/index.js';
import type { Logger } from '../../logging.js';
import { SignInError, type CitizenOidc } from '../../web/index.js';
import { sessionOf, type SessionManager } from '../../web/index.js';
import { InvalidCursorError, type InboxStore } from '../inbox-store.js';
import type { Database } from '../../db/index.js';
import { bookingLinks } from '../booking-service.js';
import type { UpcomingBooking } from '../bookings.js';
import { bookingCalendar, calendarFileName } from '../calendar.js';
import type { InboxMessage } from '../inbox-store.js';
import type { CitizenBanner } from './layout.js';
import {
  confirmDeletePage,
  messagePage,
  notFoundPage,
  overviewPage,
  settingsFormOf,
  settingsPage,
  signInPage,
  type BookingActions,
  type SettingsForm,
  type SettingsState,
} from './views.js';

export interface InboxPageDependencies {
  store: InboxStore;
  /** For the notification settings (the channels component's functions). */
  database: Pick<Database, 'orm'>;
  sessions: SessionManager;
  /** Undefined: OpenID Connect is not configured. */
  oidc: CitizenOidc | undefined;
  /** Offered only when OIDC is not configured. */
  developmentSignIn: boolean;
  /** The booking service's link template (BOOKING_SERVICE_URL); undefined: no action links. */
  bookingServiceUrl: string | undefined;
  /** OIDC_REDIRECT_URI or PUBLIC_BASE_URL's /inbox/logga-in/callback; undefined: a plain Host (development only). */
  redirectUri: string | undefined;
  log: Logger;
  now?: () => Date;
}

const DONE: Record<string, string> = {
  sparat: 'Dina aviseringsinställningar är sparade.',
  borttaget: 'Meddelandet är borttaget.',
  olast: 'Meddelandet är markerat som oläst.',
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
  const texts = problems.map(
    (p) => SETTINGS_PROBLEM[p.field] ?? 'Inställningarna kunde inte sparas. Kontrollera fälten och försök igen.',
  );
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
    res.set(
      'Content-Security-Policy',
      "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    );
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
      send(
        res,
        400,
        signInPage(signInState(res, ['Ange personnumret med 12 siffror, till exempel 191212121212.'], typed)),
      );
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
      const { personalNumber, name } = await deps.oidc.finish(query, sessionOf(res).pending);
      await sessions.signIn(res, { kind: 'citizen', personalNumber, ...(name !== undefined && { name }) });
      log.info({ via: 'oidc' }, 'citizen signed in to /inbox');
      res.redirect(303, '/inbox');
    } catch (error) {
      if (!(error instanceof SignInError)) throw error;
      // The pending values are spent either way: a callback cannot be replayed.
      await sessions.setPending(res, {});
      log.warn(
        { reason: error.reason, providerError: error.providerError, err: error.message },
        'OpenID Connect sign-in refused',
      );
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

  function banner(res: Response): CitizenBanner {
    const identity = sessionOf(res).identity;
    if (identity?.kind !== 'citizen') throw new Error('not a citizen session');
    return { personalNumber: identity.personalNumber, name: identity.name, csrf: sessionOf(res).csrfToken };
  }

  function calendarHref(booking: UpcomingBooking): string {
    const query = new URLSearchParams({ enhet: booking.careUnit.hsaId, bokning: booking.bookingId });
    return `/inbox/kalender.ics?${query.toString()}`;
  }

  function upcomingActions(booking: UpcomingBooking): BookingActions {
    return {
      links: bookingLinks(deps.bookingServiceUrl, {
        careUnit: booking.careUnit.hsaId,
        bookingId: booking.bookingId,
        state: 'upcoming',
        cancelAllowed: booking.cancelAllowed,
        rebookAllowed: booking.rebookAllowed,
      }),
      calendarHref: calendarHref(booking),
    };
  }

  /** What can be done about a message's booking now: its current state decides, not the message's. */
  async function messageActions(resident: string, message: InboxMessage): Promise<BookingActions> {
    const b = message.booking;
    const subject = {
      careUnit: message.careUnit.hsaId,
      bookingId: b.bookingId,
      cancelAllowed: b.cancelAllowed,
      rebookAllowed: b.rebookAllowed,
    };
    if (message.kind === 'cancellation')
      return { links: bookingLinks(deps.bookingServiceUrl, { ...subject, state: 'cancelled' }) };
    if (!b.start && b.categorization === 'Invitation')
      return { links: bookingLinks(deps.bookingServiceUrl, { ...subject, state: 'open' }) };
    const current = (await store.upcomingBookings(resident, now())).find(
      (booking) => booking.careUnit.hsaId === message.careUnit.hsaId && booking.bookingId === b.bookingId,
    );
    return current ? upcomingActions(current) : { links: [] };
  }

  router.get('/', async (req, res) => {
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
    const bookings = await store.upcomingBookings(resident, now());
    const done = typeof req.query.klart === 'string' ? DONE[req.query.klart] : undefined;
    send(
      res,
      200,
      overviewPage({
        citizen: banner(res),
        page,
        olderPage: cursor !== undefined,
        bookings: bookings.map((booking) => ({ booking, actions: upcomingActions(booking) })),
        ...(done !== undefined && { done }),
      }),
    );
  });

  function messageIdOf(req: Request): number | undefined {
    const raw = String(req.params.id ?? '');
    return /^[1-9][0-9]{0,15}$/.test(raw) && Number.isSafeInteger(Number(raw)) ? Number(raw) : undefined;
  }

  router.get('/meddelanden/:id', async (req, res) => {
    const id = messageIdOf(req);
    const message = id === undefined ? undefined : await store.markRead(citizen(res), id);
    if (!message) {
      send(res, 404, notFoundPage(banner(res)));
      return;
    }
    send(
      res,
      200,
      messagePage({ citizen: banner(res), message, actions: await messageActions(citizen(res), message) }),
    );
  });

  // Deleting asks first: the link on the message page leads here, and only this page's form deletes.
  router.get('/meddelanden/:id/ta-bort', async (req, res) => {
    const id = messageIdOf(req);
    const message = id === undefined ? undefined : await store.findMessage(citizen(res), id);
    if (!message) {
      send(res, 404, notFoundPage(banner(res)));
      return;
    }
    send(res, 200, confirmDeletePage(banner(res), message));
  });

  router.post('/meddelanden/:id/ta-bort', async (req, res) => {
    const id = messageIdOf(req);
    if (id === undefined || !(await store.hideMessage(citizen(res), id))) {
      send(res, 404, notFoundPage(banner(res)));
      return;
    }
    log.info({ messageId: id }, 'citizen deleted an inbox message (hidden, kept for audit)');
    res.redirect(303, '/inbox?klart=borttaget');
  });

  router.post('/meddelanden/:id/markera-olast', async (req, res) => {
    const id = messageIdOf(req);
    if (id === undefined || !(await store.markUnread(citizen(res), id))) {
      send(res, 404, notFoundPage(banner(res)));
      return;
    }
    res.redirect(303, '/inbox?klart=olast');
  });

  router.get('/kalender.ics', async (req, res) => {
    const careUnit = typeof req.query.enhet === 'string' ? req.query.enhet : '';
    const bookingId = typeof req.query.bokning === 'string' ? req.query.bokning : '';
    const booking = (await store.upcomingBookings(citizen(res), now())).find(
      (candidate) => candidate.careUnit.hsaId === careUnit && candidate.bookingId === bookingId,
    );
    if (!booking) {
      send(res, 404, notFoundPage(banner(res)));
      return;
    }
    res
      .status(200)
      .set('Cache-Control', 'no-store')
      .set('Content-Disposition', `attachment; filename="${calendarFileName(booking)}"`)
      .type('text/calendar; charset=utf-8')
      .send(bookingCalendar(booking, now()));
  });

  async function renderSettings(req: Request, res: Response, status: number, state?: SettingsState): Promise<void> {
    const saved = state ? undefined : await readCitizenSettings(deps.database, citizen(res));
    const done = typeof req.query.klart === 'string' ? DONE[req.query.klart] : undefined;
    send(res, status, settingsPage(banner(res), state ?? { form: settingsFormOf(saved!), problems: [] }, done));
  }

  router.get('/installningar', async (req, res) => {
    await renderSettings(req, res, 200);
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
      res.redirect(303, '/inbox/installningar?klart=sparat');
    } catch (error) {
      if (!(error instanceof SettingsError)) throw error;
      await renderSettings(req, res, 400, { form, problems: settingsProblems(error.problems) });
    }
  });

  return router;
}
