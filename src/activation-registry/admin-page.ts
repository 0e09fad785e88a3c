// /admin: the national administrators' page for the registry, in Swedish, server-rendered, working
// without JavaScript: list, register, change mode and deactivate booking systems per environment; set and
// end care units' silent loading periods; release or drop what the flood guard holds.
// Forms post back and are answered with a redirect (POST/redirect/GET); every form carries the
// session's CSRF token. Sign-in: OpenID Connect through the administrators' identity provider (the
// national-admin role in a configured claim), and the development sign-in ("Utvecklingsinloggning")
// only when DEV_LOGIN turns it on (never with APP_ENVIRONMENT=prod).
import express, { type NextFunction, type Request, type Response, type Router } from 'express';
import type { Environment } from '../config.js';
import type { Logger } from '../logging.js';
import { html, postButton, tableHead, tableRow, type SafeHtml } from '../web/index.js';
import { pageFrame } from '../web/index.js';
import { SignInError, type AdminOidc } from '../web/index.js';
import { sessionOf, type SessionManager } from '../web/index.js';
import {
  MAX_LOAD_DAYS,
  MAX_NOTE_LENGTH,
  type CareUnitAdministration,
  type CareUnitLoad,
  type GuardedUnit,
} from './care-units.js';
import { RegistryError, type AuditEntry, type SourceSystem, type SourceSystemRegistry } from './registry.js';
import { ENVIRONMENTS, SOURCE_SYSTEM_MODES, type SourceSystemMode } from './schema.js';
import {
  DEFAULT_MODE,
  isEnvironment,
  isSourceSystemMode,
  HSA_ID_EXAMPLE,
  MAX_HSA_ID_LENGTH,
  MAX_NAME_LENGTH,
  type FieldProblem,
} from './validation.js';

export interface AdminPageDependencies {
  registry: SourceSystemRegistry;
  careUnits: CareUnitAdministration;
  sessions: SessionManager;
  /** DEV_LOGIN: anyone may sign in with any name. Off unless turned on; never in production. */
  developmentSignIn: boolean;
  /** The administrators' OpenID Connect sign-in (ADMIN_OIDC_*); undefined: not configured. */
  oidc?: AdminOidc | undefined;
  /** Where the provider sends the administrator back (ADMIN_OIDC_REDIRECT_URI or PUBLIC_BASE_URL's). */
  redirectUri?: string | undefined;
  log: Logger;
  /** A further section of the page (the development demo's button), given the session's CSRF token. */
  extraSection?: (csrfToken: string) => SafeHtml;
  /**
   * The administrators' console (statistics, unregistered systems, dead letters, trace): its own sections and
   * routes.
   */
  console?: AdminConsoleHooks;
}

/** Who is signed in to /admin, for the console's sections and routes. */
export interface AdminSession {
  name: string;
  /** Has the support role: may trace by personal identity number. */
  support: boolean;
  csrfToken: string;
}

export interface AdminConsoleHooks {
  /** Sections of /admin, after the registry's (rendered on each view of /admin). */
  sections(session: AdminSession): Promise<SafeHtml>;
  /** Routes under /admin, mounted behind the sign-in and CSRF checks. */
  routes(router: Router, helpers: AdminPageHelpers): void;
}

export interface AdminPageHelpers {
  session(res: Response): AdminSession;
  /** Sends a whole page (no-store) in /admin's layout. */
  page(res: Response, status: number, title: string, body: SafeHtml): void;
  /** /admin itself with a notice or problems (after a console form). */
  renderAdmin(res: Response, status: number, state: { done?: string; problems?: string[] }): Promise<void>;
}

const SIGN_IN_PROBLEM: Record<SignInError['reason'], string> = {
  denied: 'Inloggningen avbröts eller godkändes inte. Försök igen.',
  no_sign_in_in_progress: 'Inloggningen hade gått ut eller startades i en annan flik. Försök igen.',
  invalid_response: 'Inloggningen kunde inte slutföras. Försök igen.',
  no_personal_number: 'Inloggningen kunde inte slutföras. Försök igen.',
  not_an_administrator: 'Ditt konto har inte rollen nationell administratör.',
  provider_unavailable: 'Inloggningstjänsten svarar inte just nu. Försök igen om en stund.',
};

const ENVIRONMENT_LABEL: Record<Environment, string> = { qa: 'QA (test)', prod: 'Produktion' };
const MODE_LABEL: Record<SourceSystemMode, string> = { active: 'Aktivt', silent: 'Tyst' };
/** A mode as the form for a new registration offers it. */
const MODE_CHOICE_LABEL: Record<SourceSystemMode, string> = {
  active: 'Aktivt – skapar meddelanden',
  silent: 'Tyst – lagrar aviseringar utan meddelanden',
};
const FIELD_LABEL: Record<string, string> = {
  environment: 'Miljö',
  hsaId: 'HSA-id',
  name: 'Namn',
  mode: 'Läge',
  logicalAddress: 'Vårdenhetens HSA-id',
  from: 'Från',
  until: 'Till',
  note: 'Anteckning',
};
const ACTION_LABEL: Record<string, string> = {
  'source_system.register': 'Lade till',
  'source_system.change': 'Ändrade',
  'source_system.deactivate': 'Avaktiverade',
  'care_unit_load.add': 'Tyst inläsning',
  'care_unit_load.end': 'Avslutade inläsning',
  'care_unit.hold': 'Flodskyddet höll',
  'care_unit.release': 'Släppte meddelanden',
  'care_unit.drop': 'Kastade meddelanden',
  'care_unit.expire': 'Kastade (för gamla)',
};
const HOLD_LABEL: Record<string, string> = {
  holding: 'Hålls – väntar på beslut',
  released: 'Släppta',
  dropped: 'Kastade',
  expired: 'Kastade efter för lång väntan',
};
const DONE: Record<string, string> = {
  tillagt: 'Källsystemet har lagts till.',
  andrat: 'Källsystemets läge har ändrats.',
  avaktiverat: 'Källsystemet har avaktiverats. Det finns kvar i historiken.',
  inlasning: 'Den tysta inläsningen är registrerad.',
  inlasningavslutad: 'Den tysta inläsningen är avslutad. Det som levereras härefter ger meddelanden som vanligt.',
  slappt: 'De hållna meddelandena släpps nu, äldst först, med SMS och e-post som vanligt.',
  kastat: 'De hållna meddelandena kastas. Bokningarna finns kvar och senare ändringar ger meddelanden som vanligt.',
};
const MAX_ADMIN_NAME_LENGTH = 100;

const dateFormat = new Intl.DateTimeFormat('sv-SE', {
  timeZone: 'Europe/Stockholm',
  dateStyle: 'short',
  timeStyle: 'short',
});

function when(iso: string | null): string {
  return iso ? dateFormat.format(new Date(iso)) : '';
}

function swedish(problem: FieldProblem): string {
  const label = FIELD_LABEL[problem.field] ?? problem.field;
  switch (problem.rule) {
    case 'required':
      return `${label} måste fyllas i.`;
    case 'not_allowed_value':
      if (problem.field === 'environment') return 'Välj miljö: QA eller produktion.';
      if (problem.field === 'mode') return 'Välj läge: aktivt eller tyst.';
      if (problem.field === 'from') return 'Från får inte ligga bakåt i tiden (lämna tomt för att börja nu).';
      if (problem.field === 'until')
        return (
          `Till måste vara senare än från och än nu, och högst ${MAX_LOAD_DAYS} dagar efter från ` +
          `(svensk tid, t.ex. 2026-12-01 14:00).`
        );
      return `${label} har ett otillåtet värde.`;
    case 'surrounding_white_space':
      return `${label} får inte börja eller sluta med mellanslag.`;
    case 'too_long':
      return `${label} får vara högst ${maxLengthOf(problem.field)} tecken.`;
    case 'control_characters':
      return `${label} innehåller otillåtna tecken.`;
    case 'not_an_hsa_id':
      return (
        `HSA-id måste skrivas som SE, organisationsnumret (10 siffror, ibland med 16 före), ` +
        `bindestreck och en lokal del av bokstäver A–Z och siffror, till exempel ${HSA_ID_EXAMPLE}.`
      );
    default:
      return 'Formuläret kunde inte tolkas. Ladda om sidan och försök igen.';
  }
}

// The service's shared frame (skip link, banner, main, footer); the tables scroll inside their own region
// on a narrow screen, so the page itself never does (WCAG 1.4.10 allows it for data tables).
const ADMIN_STYLE = `
.confirm { border-left: .3rem solid #8a5300; padding: .5rem 1rem; background: #fff6e5; }
.scroll { overflow-x: auto; max-width: 100%; }
.scroll table { overflow-wrap: normal; }
`;

export function layout(title: string, body: SafeHtml, account?: SafeHtml): string {
  return pageFrame(
    { title, service: 'Administration', home: '/admin', wide: true, main: body, ...(account && { account }) },
    ADMIN_STYLE,
  );
}

/** `label`: names the scrolling region (keyboard users scroll it after focusing it), not the section. */
function scrollingTable(label: string, table: SafeHtml): SafeHtml {
  return html`<div class="table-scroll" role="region" aria-label="${label}" tabindex="0">${table}</div>`;
}

export function problemList(problems: string[]): SafeHtml {
  if (problems.length === 0) return html``;
  const items = problems.map((p) => html`<li>${p}</li>`);
  return html`<div class="problem" role="alert"><h2>Något behöver rättas</h2><ul>${items}</ul></div>`;
}

/** The longest text a field takes (as the API's rules say). */
function maxLengthOf(field: string): number {
  if (field === 'hsaId' || field === 'logicalAddress') return MAX_HSA_ID_LENGTH;
  return field === 'note' ? MAX_NOTE_LENGTH : MAX_NAME_LENGTH;
}

/** The choice of environment, `selected` marked. */
function environmentOptions(selected: string | undefined): SafeHtml[] {
  return ENVIRONMENTS.map(
    (environment) =>
      html`<option value="${environment}"${selected === environment ? html` selected` : ''}>${
        ENVIRONMENT_LABEL[environment]
      }</option>`,
  );
}

/** The choice of mode, `selected` marked: one option a line, `indent` before each but the first. */
function modeOptions(
  selected: SourceSystemMode,
  label: Readonly<Record<SourceSystemMode, string>>,
  indent: string,
): SafeHtml[] {
  return SOURCE_SYSTEM_MODES.map(
    (mode, index) =>
      html`${index > 0 ? `\n${indent}` : ''}<option value="${mode}"${selected === mode ? html` selected` : ''}>${
        label[mode]
      }</option>`,
  );
}

/** The signed-in administrator's name, and the form that signs out. */
function accountForm(csrfField: SafeHtml, name: string): SafeHtml {
  return html`<form class="account" method="post" action="/admin/logga-ut">${csrfField}<span>Inloggad som <strong>${
    name
  }</strong></span> <button type="submit">Logga ut</button></form>`;
}

interface PageState {
  done?: string;
  problems?: string[];
  form?: { environment?: string; hsaId?: string; name?: string; mode?: string };
  loadForm?: { environment?: string; logicalAddress?: string; from?: string; until?: string; note?: string };
}

function careUnitSections(
  csrfField: SafeHtml,
  loads: CareUnitLoad[],
  guarded: GuardedUnit[],
  state: PageState,
): SafeHtml {
  const form = state.loadForm ?? {};
  const loadRows = loads.map(
    (load) => html`<tr>
  <td>${ENVIRONMENT_LABEL[load.environment]}</td>
  <td><code>${load.logicalAddress}</code></td>
  <td>${when(load.startsAt)}</td>
  <td>${when(load.endsAt)}</td>
  <td>${load.current ? 'Pågår' : 'Kommande'}</td>
  <td>${load.note ?? ''}</td>
  <td>${postButton(`/admin/vardenheter/inlasning/${load.id}/avsluta`, csrfField, 'Avsluta nu')}</td>
</tr>`,
  );
  const unitRows = guarded.map((unit) => {
    const holding = unit.hold?.status === 'holding';
    const unitPath = `/admin/vardenheter/${unit.environment}/${encodeURIComponent(unit.logicalAddress)}`;
    return html`<tr>
  <td>${ENVIRONMENT_LABEL[unit.environment]}</td>
  <td><code>${unit.logicalAddress}</code></td>
  <td>${unit.hold ? HOLD_LABEL[unit.hold.status] : `Bevakas till ${when(unit.watchedUntil)}`}${
    unit.hold?.decidedBy ? html`<br><small>${unit.hold.decidedBy}, ${when(unit.hold.decidedAt)}</small>` : ''
  }</td>
  <td>${when(unit.hold?.startedAt ?? unit.firstSeenAt)}</td>
  <td>${unit.hold ? String(unit.hold.notifications) : `${unit.windowPosts} nya i fönstret`}</td>
  <td>${String(unit.heldMessages)}</td>
  <td>${String(unit.citizens)}</td>
  <td>${when(unit.lastSeenAt)}</td>
  <td>${
    holding
      ? html`${postButton(`${unitPath}/slapp`, csrfField, 'Släpp meddelandena')}
    ${postButton(`${unitPath}/kasta`, csrfField, 'Kasta meddelandena')}`
      : ''
  }</td>
</tr>`;
  });
  return html`<section aria-labelledby="loads-heading">
<h2 id="loads-heading">Tyst inläsning per vårdenhet</h2>
<p>Under en tyst inläsning lagras det som levereras för vårdenheten (EI:s <code>logicalAddress</code>) utan meddelanden,
SMS eller e-post – till exempel när enheten börjar med webbokning och läser in sina befintliga bokningar, eller vid EI:s
reservrutin. Det som avgör är när EI levererade aviseringen. Ändringar efter inläsningen ger meddelanden som
vanligt.</p>
${
  loads.length === 0
    ? html`<p>Inga pågående eller kommande inläsningar.</p>`
    : scrollingTable(
        'Tabell över tysta inläsningar',
        html`<table>${tableHead(
          'Miljö',
          'Vårdenhet',
          'Från',
          'Till',
          'Status',
          'Anteckning',
          'Åtgärd',
        )}<tbody>${loadRows}</tbody></table>`,
      )
}
<form method="post" action="/admin/vardenheter/inlasning">
${csrfField}
<fieldset>
<legend>Ny tyst inläsning</legend>
<label for="load-environment">Miljö</label>
<select id="load-environment" name="environment" required>
  ${environmentOptions(form.environment)}
</select>
<label for="logicalAddress">Vårdenhetens HSA-id (som EI skickar som logicalAddress)</label>
<input id="logicalAddress" name="logicalAddress" required maxlength="${MAX_HSA_ID_LENGTH}" value="${
    form.logicalAddress ?? ''
  }">
<label for="load-from">Från (svensk tid; tomt: nu)</label>
<input id="load-from" name="from" type="datetime-local" value="${form.from ?? ''}">
<label for="load-until">Till (svensk tid)</label>
<input id="load-until" name="until" type="datetime-local" required value="${form.until ?? ''}">
<label for="load-note">Anteckning (valfri)</label>
<input id="load-note" name="note" maxlength="${MAX_NOTE_LENGTH}" value="${form.note ?? ''}">
<p><button type="submit">Registrera tyst inläsning</button></p>
</fieldset>
</form>
</section>
<section aria-labelledby="guard-heading">
<h2 id="guard-heading">Flodskydd: nya vårdenheter</h2>
<p>En vårdenhet som är ny (eller har varit tyst länge) och som utan aviserad inläsning skickar många nya bokningar
på kort tid hålls av flodskyddet: bokningarna lagras, men meddelandena visas inte och inga SMS eller e-post skickas.
Släpp dem (de blir meddelanden, äldst först, med SMS och e-post som vanligt) eller kasta dem (bokningarna finns kvar,
inga meddelanden).</p>
${
  guarded.length === 0
    ? html`<p>Inga vårdenheter bevakas eller hålls.</p>`
    : scrollingTable(
        'Tabell över vårdenheter i flodskyddet',
        html`<table>${tableHead(
          'Miljö',
          'Vårdenhet',
          'Status',
          'Sedan',
          'Aviseringar',
          'Hållna meddelanden',
          'Invånare',
          'Senast levererat',
          'Åtgärder',
        )}<tbody>${unitRows}</tbody></table>`,
      )
}
</section>`;
}

function registryPage(
  adminName: string,
  csrf: string,
  live: SourceSystem[],
  deactivated: SourceSystem[],
  audit: AuditEntry[],
  loads: CareUnitLoad[],
  guarded: GuardedUnit[],
  state: PageState,
  extraSection?: SafeHtml,
  consoleSections?: SafeHtml,
): string {
  const form = state.form ?? {};
  const csrfField = html`<input type="hidden" name="_csrf" value="${csrf}">`;
  const rows = live.map(
    (system) => html`<tr>
  <td>${ENVIRONMENT_LABEL[system.environment]}</td>
  <td><code>${system.hsaId}</code></td>
  <td>${system.name}</td>
  <td>${MODE_LABEL[system.mode]}</td>
  <td>${when(system.createdAt)}</td>
  <td>
    <form class="inline" method="post" action="/admin/kallsystem/${system.id}/lage">
      ${csrfField}
      <select id="mode-${system.id}" name="mode" aria-label="Läge för ${system.name}">
        ${modeOptions(system.mode, MODE_LABEL, '        ')}
      </select>
      <button type="submit">Spara läge</button>
    </form>
    <a href="/admin/kallsystem/${system.id}/avaktivera">Avaktivera…</a>
  </td>
</tr>`,
  );
  const history = deactivated.map((system) =>
    tableRow(
      ENVIRONMENT_LABEL[system.environment],
      html`<code>${system.hsaId}</code>`,
      system.name,
      when(system.createdAt),
      when(system.deactivatedAt),
    ),
  );
  const changes = audit.map((entry) => {
    const after = (entry.after ?? {}) as Partial<SourceSystem> & { logicalAddress?: string };
    const what = [
      after.hsaId ?? after.logicalAddress,
      after.environment ? ENVIRONMENT_LABEL[after.environment] : undefined,
      after.mode ? MODE_LABEL[after.mode] : undefined,
    ]
      .filter(Boolean)
      .join(', ');
    return tableRow(when(entry.at), entry.actor, ACTION_LABEL[entry.action] ?? entry.action, what);
  });

  return layout(
    'Källsystem',
    html`<h1>Aktiverade källsystem</h1>
<p>1177 skapar meddelanden i inkorgen bara för bokningssystem som är aktiverade här, per miljö, med det HSA-id
systemet skickar som <code>sourceSystem</code>. Läget <strong>tyst</strong> tar emot och lagrar aviseringar men skapar
inga meddelanden, SMS eller e-post – till exempel under systemets första inläsning.</p>
${state.done ? html`<p class="notice" role="status">${state.done}</p>` : ''}
${problemList(state.problems ?? [])}
${extraSection ?? ''}
<section aria-labelledby="live-heading">
<h2 id="live-heading">Aktiva registreringar</h2>
${
  live.length === 0
    ? html`<p>Inga källsystem är aktiverade.</p>`
    : scrollingTable(
        'Tabell över aktiva registreringar',
        html`<table>
${tableHead('Miljö', 'HSA-id', 'Namn', 'Läge', 'Tillagt', 'Åtgärder')}
<tbody>${rows}</tbody>
</table>`,
      )
}
</section>
<section aria-labelledby="add-heading">
<h2 id="add-heading">Lägg till källsystem</h2>
<form method="post" action="/admin/kallsystem">
${csrfField}
<fieldset>
<legend>Nytt källsystem</legend>
<label for="environment">Miljö</label>
<select id="environment" name="environment" required>
  ${environmentOptions(form.environment)}
</select>
<label for="hsaId">HSA-id (som systemet skickar som sourceSystem)</label>
<input id="hsaId" name="hsaId" required maxlength="${MAX_HSA_ID_LENGTH}" value="${form.hsaId ?? ''}">
<label for="name">Namn</label>
<input id="name" name="name" required maxlength="${MAX_NAME_LENGTH}" value="${form.name ?? ''}">
<label for="mode">Läge</label>
<select id="mode" name="mode">
  ${modeOptions(isSourceSystemMode(form.mode) ? form.mode : DEFAULT_MODE, MODE_CHOICE_LABEL, '  ')}
</select>
<p><button type="submit">Lägg till</button></p>
</fieldset>
</form>
</section>
${careUnitSections(csrfField, loads, guarded, state)}
<section aria-labelledby="history-heading">
<h2 id="history-heading">Avaktiverade</h2>
${
  history.length === 0
    ? html`<p>Inga avaktiverade källsystem.</p>`
    : scrollingTable(
        'Tabell över avaktiverade',
        html`<table>${tableHead('Miljö', 'HSA-id', 'Namn', 'Tillagt', 'Avaktiverat')}<tbody>${history}</tbody></table>`,
      )
}
</section>
<section aria-labelledby="audit-heading">
<h2 id="audit-heading">Senaste ändringar</h2>
${
  changes.length === 0
    ? html`<p>Inga ändringar ännu.</p>`
    : scrollingTable(
        'Tabell över senaste ändringar',
        html`<table>${tableHead('När', 'Vem', 'Vad', 'Källsystem / vårdenhet')}<tbody>${changes}</tbody></table>`,
      )
}
</section>
${consoleSections ?? ''}`,
    accountForm(csrfField, adminName),
  );
}

function confirmDeactivationPage(csrf: string, system: SourceSystem): string {
  return layout(
    'Avaktivera källsystem',
    html`<h1>Avaktivera källsystemet?</h1>
<div class="confirm" role="alert">
<p>Du är på väg att avaktivera <strong>${system.name}</strong> (<code>${system.hsaId}</code>) i miljön
<strong>${ENVIRONMENT_LABEL[system.environment]}</strong>.</p>
<p>Aviseringar från systemet tas då inte längre emot i den miljön och inga nya meddelanden, SMS eller e-post
skapas. Registreringen finns kvar i historiken och systemet kan registreras igen.</p>
</div>
<form method="post" action="/admin/kallsystem/${system.id}/avaktivera">
<input type="hidden" name="_csrf" value="${csrf}">
<input type="hidden" name="bekrafta" value="ja">
<p><button type="submit">Ja, avaktivera</button> <a href="/admin">Avbryt</a></p>
</form>`,
  );
}

function signInPage(csrf: string, developmentSignIn: boolean, problems: string[], oidc = false): string {
  return layout(
    'Logga in',
    html`<h1>Logga in som nationell administratör</h1>
${problemList(problems)}
${oidc ? html`<p><a href="/admin/logga-in/oidc">Logga in med din organisations inloggning</a></p>` : ''}
${
  developmentSignIn
    ? html`<section class="development" aria-labelledby="dev-heading">
<h2 id="dev-heading">Utvecklingsinloggning</h2>
<p>Endast för utveckling och test: vem som helst kan logga in här med valfritt namn. Den finns inte i produktion.</p>
<form method="post" action="/admin/logga-in">
<input type="hidden" name="_csrf" value="${csrf}">
<label for="admin-name">Ditt namn (syns i ändringsloggen)</label>
<input id="admin-name" name="name" required maxlength="${MAX_ADMIN_NAME_LENGTH}" autocomplete="name">
<label><input type="checkbox" name="support" value="ja"> Med supportroll (får söka på personnummer)</label>
<p><button type="submit">Logga in</button></p>
</form>
</section>`
    : oidc
      ? ''
      : html`<p>Inloggning på sidan är inte konfigurerad. Använd API:t med en administratörstoken
(<code>/api/admin/source-systems</code>) eller kommandoraden (<code>npm run admin</code>).</p>`
}`,
  );
}

function send(res: Response, status: number, page: string): void {
  // The page shows who is signed in and a CSRF token: never to be cached.
  res.status(status).set('Cache-Control', 'no-store').type('html').send(page);
}

export function adminPageRouter(deps: AdminPageDependencies): Router {
  const { registry, careUnits, sessions, log } = deps;
  const router = express.Router();
  router.use(sessions.load);
  // Refused before anything is read: in production there is no development sign-in to protect.
  router.post('/logga-in', (_req, res, next) => {
    if (deps.developmentSignIn) {
      next();
      return;
    }
    send(
      res,
      403,
      signInPage(
        sessionOf(res).csrfToken,
        false,
        ['Utvecklingsinloggningen är inte påslagen här.'],
        deps.oidc !== undefined,
      ),
    );
  });
  router.use(express.urlencoded({ extended: false, limit: '16kb' }));
  router.use(sessions.verifyCsrf);
  router.use((_req, res, next) => {
    res.set(
      'Content-Security-Policy',
      "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'",
    );
    res.set('X-Content-Type-Options', 'nosniff');
    next();
  });

  router.get('/logga-in', (_req, res) => {
    send(res, 200, signInPage(sessionOf(res).csrfToken, deps.developmentSignIn, [], deps.oidc !== undefined));
  });

  router.get('/logga-in/oidc', async (_req, res) => {
    if (!deps.oidc || deps.redirectUri === undefined) {
      res.redirect(303, '/admin/logga-in');
      return;
    }
    try {
      const { authorizationUrl, pending } = await deps.oidc.start(deps.redirectUri);
      await sessions.setPending(res, { ...pending });
      res.redirect(303, authorizationUrl.href);
    } catch (error) {
      if (!(error instanceof SignInError)) throw error;
      log.warn({ reason: error.reason, err: error.message }, 'administrator OpenID Connect sign-in could not start');
      send(
        res,
        503,
        signInPage(sessionOf(res).csrfToken, deps.developmentSignIn, [SIGN_IN_PROBLEM[error.reason]], true),
      );
    }
  });

  router.get('/logga-in/callback', async (req, res) => {
    if (!deps.oidc) {
      res.redirect(303, '/admin/logga-in');
      return;
    }
    const query = req.originalUrl.includes('?') ? req.originalUrl.slice(req.originalUrl.indexOf('?')) : '';
    try {
      const { name, support } = await deps.oidc.finish(query, sessionOf(res).pending);
      await sessions.signIn(res, { kind: 'admin', name, ...(support ? { support: true } : {}) });
      log.info({ admin: name, support, via: 'oidc' }, 'administrator signed in to /admin');
      res.redirect(303, '/admin');
    } catch (error) {
      if (!(error instanceof SignInError)) throw error;
      // The pending values are spent either way: a callback cannot be replayed.
      await sessions.setPending(res, {});
      log.warn(
        { reason: error.reason, providerError: error.providerError, err: error.message },
        'administrator OpenID Connect sign-in refused',
      );
      const status =
        error.reason === 'provider_unavailable' ? 503 : error.reason === 'not_an_administrator' ? 403 : 400;
      send(
        res,
        status,
        signInPage(sessionOf(res).csrfToken, deps.developmentSignIn, [SIGN_IN_PROBLEM[error.reason]], true),
      );
    }
  });

  router.post('/logga-in', async (req, res) => {
    const body = req.body as Record<string, unknown>;
    const name = typeof body.name === 'string' ? body.name.trim() : '';
    if (name === '' || name.length > MAX_ADMIN_NAME_LENGTH || /[\u0000-\u001f\u007f]/.test(name)) {
      send(
        res,
        400,
        signInPage(sessionOf(res).csrfToken, true, [`Ange ditt namn (högst ${MAX_ADMIN_NAME_LENGTH} tecken).`]),
      );
      return;
    }
    const support = body.support === 'ja';
    await sessions.signIn(res, { kind: 'admin', name, ...(support ? { support: true } : {}) });
    log.info({ admin: name, support, via: 'development sign-in' }, 'administrator signed in to /admin');
    res.redirect(303, '/admin');
  });

  router.post('/logga-ut', async (_req, res) => {
    await sessions.signOut(res);
    res.redirect(303, '/admin/logga-in');
  });

  // Everything below needs a signed-in administrator.
  router.use((_req: Request, res: Response, next: NextFunction) => {
    if (sessionOf(res).identity?.kind !== 'admin') {
      res.redirect(303, '/admin/logga-in');
      return;
    }
    next();
  });

  function adminName(res: Response): string {
    const identity = sessionOf(res).identity;
    if (identity?.kind !== 'admin') throw new Error('not an administrator session');
    return identity.name;
  }

  async function renderRegistry(res: Response, status: number, state: PageState): Promise<void> {
    const [all, audit, loads, guarded] = await Promise.all([
      registry.list({ includeDeactivated: true }),
      registry.audit({ limit: 20 }),
      careUnits.listLoads(),
      careUnits.listGuarded(),
    ]);
    const live = all.filter((system) => system.deactivatedAt === null);
    const deactivated = all
      .filter((system) => system.deactivatedAt !== null)
      .sort((a, b) => b.deactivatedAt!.localeCompare(a.deactivatedAt!));
    const csrf = sessionOf(res).csrfToken;
    const consoleSections = deps.console ? await deps.console.sections(adminSession(res)) : undefined;
    send(
      res,
      status,
      registryPage(
        adminName(res),
        csrf,
        live,
        deactivated,
        audit,
        loads,
        guarded,
        state,
        deps.extraSection?.(csrf),
        consoleSections,
      ),
    );
  }

  function adminSession(res: Response): AdminSession {
    const identity = sessionOf(res).identity;
    if (identity?.kind !== 'admin') throw new Error('not an administrator session');
    return { name: identity.name, support: identity.support === true, csrfToken: sessionOf(res).csrfToken };
  }

  function refusal(error: unknown): { status: number; problems: string[] } {
    if (!(error instanceof RegistryError)) throw error;
    switch (error.kind) {
      case 'invalid':
        return { status: 400, problems: error.problems.map(swedish) };
      case 'duplicate':
        return {
          status: 409,
          problems: [
            'Det HSA-id:t är redan registrerat i den miljön. Ändra eller avaktivera den registreringen först.',
          ],
        };
      case 'deactivated':
        return { status: 409, problems: ['Källsystemet är redan avaktiverat.'] };
      case 'not_found':
        return {
          status: 404,
          problems: [
            error.message.startsWith('No loading period')
              ? 'Inläsningen finns inte.'
              : error.message.includes('has no hold')
                ? 'Vårdenheten hålls inte.'
                : 'Källsystemet finns inte.',
          ],
        };
      case 'not_held':
        return { status: 409, problems: ['Vårdenheten hålls inte längre (någon annan har redan beslutat).'] };
      case 'load_ended':
        return { status: 409, problems: ['Inläsningen är redan avslutad.'] };
    }
  }

  router.get('/', async (req, res) => {
    const done = typeof req.query.klart === 'string' ? DONE[req.query.klart] : undefined;
    await renderRegistry(res, 200, done ? { done } : {});
  });

  router.post('/kallsystem', async (req, res) => {
    const body = req.body as Record<string, unknown>;
    const form = {
      environment: typeof body.environment === 'string' ? body.environment : undefined,
      // A form field may carry stray blanks from copy and paste; the API refuses them, the page trims them.
      hsaId: typeof body.hsaId === 'string' ? body.hsaId.trim() : undefined,
      name: typeof body.name === 'string' ? body.name : undefined,
      mode: typeof body.mode === 'string' ? body.mode : undefined,
    };
    try {
      const system = await registry.register(adminName(res), form);
      log.info(
        { sourceSystemId: system.id, hsaId: system.hsaId, environment: system.environment, actor: adminName(res) },
        'source system registered',
      );
      res.redirect(303, '/admin?klart=tillagt');
    } catch (error) {
      const { status, problems } = refusal(error);
      await renderRegistry(res, status, { problems, form });
    }
  });

  function idOf(req: Request): number {
    const raw = String(req.params.id ?? '');
    return /^[1-9][0-9]{0,8}$/.test(raw) ? Number(raw) : 0;
  }

  router.post('/kallsystem/:id/lage', async (req, res) => {
    const body = req.body as Record<string, unknown>;
    try {
      await registry.change(adminName(res), idOf(req), { mode: body.mode });
      res.redirect(303, '/admin?klart=andrat');
    } catch (error) {
      const { status, problems } = refusal(error);
      await renderRegistry(res, status, { problems });
    }
  });

  // Deactivation asks first: the link opens this page, and only its "Ja, avaktivera" form acts.
  router.get('/kallsystem/:id/avaktivera', async (req, res) => {
    const system = await registry.find(idOf(req));
    if (!system || system.deactivatedAt !== null) {
      await renderRegistry(res, 404, {
        problems: [system ? 'Källsystemet är redan avaktiverat.' : 'Källsystemet finns inte.'],
      });
      return;
    }
    send(res, 200, confirmDeactivationPage(sessionOf(res).csrfToken, system));
  });

  router.post('/kallsystem/:id/avaktivera', async (req, res) => {
    if ((req.body as Record<string, unknown>).bekrafta !== 'ja') {
      res.redirect(303, `/admin/kallsystem/${idOf(req)}/avaktivera`);
      return;
    }
    try {
      await registry.deactivate(adminName(res), idOf(req));
      res.redirect(303, '/admin?klart=avaktiverat');
    } catch (error) {
      const { status, problems } = refusal(error);
      await renderRegistry(res, status, { problems });
    }
  });

  router.post('/vardenheter/inlasning', async (req, res) => {
    const body = req.body as Record<string, unknown>;
    const text = (name: string) => (typeof body[name] === 'string' ? (body[name] as string) : undefined);
    const loadForm = {
      environment: text('environment'),
      logicalAddress: text('logicalAddress')?.trim(),
      from: text('from'),
      until: text('until'),
      note: text('note'),
    };
    try {
      const load = await careUnits.addLoad(adminName(res), loadForm);
      log.info(
        { loadId: load.id, logicalAddress: load.logicalAddress, environment: load.environment, actor: adminName(res) },
        'care unit loading period set',
      );
      res.redirect(303, '/admin?klart=inlasning');
    } catch (error) {
      const { status, problems } = refusal(error);
      await renderRegistry(res, status, { problems, loadForm });
    }
  });

  router.post('/vardenheter/inlasning/:id/avsluta', async (req, res) => {
    try {
      await careUnits.endLoad(adminName(res), idOf(req));
      res.redirect(303, '/admin?klart=inlasningavslutad');
    } catch (error) {
      const { status, problems } = refusal(error);
      await renderRegistry(res, status, { problems });
    }
  });

  for (const [path, decision, done] of [
    ['slapp', 'release', 'slappt'],
    ['kasta', 'drop', 'kastat'],
  ] as const) {
    router.post(`/vardenheter/:environment/:logicalAddress/${path}`, async (req, res) => {
      const environment = String(req.params.environment);
      const logicalAddress = String(req.params.logicalAddress ?? '').slice(0, 64);
      try {
        if (!isEnvironment(environment)) throw new RegistryError('not_found', `${logicalAddress} has no hold`);
        const unit = await careUnits[decision](adminName(res), environment, logicalAddress);
        log.info(
          { logicalAddress, environment, heldMessages: unit.heldMessages, actor: adminName(res) },
          decision === 'release' ? 'held messages released' : 'held messages dropped',
        );
        res.redirect(303, `/admin?klart=${done}`);
      } catch (error) {
        const { status, problems } = refusal(error);
        await renderRegistry(res, status, { problems });
      }
    });
  }

  deps.console?.routes(router, {
    session: adminSession,
    page: (res, status, title, body) => {
      const identity = sessionOf(res).identity;
      const account =
        identity?.kind === 'admin'
          ? accountForm(html`<input type="hidden" name="_csrf" value="${sessionOf(res).csrfToken}">`, identity.name)
          : undefined;
      send(res, status, layout(title, body, account));
    },
    renderAdmin: (res, status, state) => renderRegistry(res, status, state),
  });

  return router;
}
