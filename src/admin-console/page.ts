// The console's parts of /admin (server-rendered, Swedish, working without JavaScript): each source
// system's activity for 24 hours and 7 days, the unregistered systems seen (register in one step from the
// row), the dead letters (retry one, or all of a source system), and the trace of a booking (by source
// system + booking id; by personal identity number with the support role, audited with the reason).
import type { Request, Response, Router } from 'express';
import {
  RegistryError,
  type AdminConsoleHooks,
  type AdminPageHelpers,
  type AdminSession,
  type SourceSystemRegistry,
  SOURCE_SYSTEM_MODES,
  type SourceSystemMode,
} from '../activation-registry/index.js';
import type { DeliveryState } from '../channels/index.js';
import type { Environment } from '../config.js';
import { retryDeadLettersOfSystem, retryOneDeadLetter } from '../queue/index.js';
import { traceBooking, type BookingTrace, type TraceEvent } from '../message-engine/index.js';
import { becauseInSwedish } from '../message-engine/index.js';
import type { Logger } from '../logging.js';
import { listDeadLetters } from '../queue/index.js';
import { MESSAGE_COUNTERS, type Counts } from '../source-activity/index.js';
import { html, postButton, tableHead, type SafeHtml } from '../web/index.js';
import { sourceActivityOverview, unregisteredSystems, type ConsoleData } from './overview.js';
import { checkTraceByPerson, MAX_REASON_LENGTH, traceByPerson } from './trace-request.js';

const ENVIRONMENT_LABEL: Record<Environment, string> = { qa: 'QA (test)', prod: 'Produktion' };
/** A post's categorization, as the trace names it. */
const postLabel = (categorization: string | null) =>
  categorization === 'Invitation' ? 'Kallelse' : categorization === 'Booking' ? 'Bokning' : 'Avisering';
const KIND_LABEL: Record<string, string> = {
  invitation: 'Kallelse',
  booking_confirmation: 'Bokningsbekräftelse',
  cancellation: 'Avbokning',
  rebooking: 'Ombokning',
  invitation_updated: 'Ändrad kallelse',
};
const STATUS_LABEL: Record<string, string> = { pending: 'Väntar', done: 'Behandlad', dead: 'Gav upp (dött brev)' };
const DELIVERY_LABEL: Record<DeliveryState, string> = {
  pending: 'Väntar på sin tid',
  sending: 'Skickas',
  queued: 'Lämnat till leverantören',
  sent: 'Skickat',
  delivered: 'Levererat',
  undelivered: 'Kom inte fram',
  failed: 'Misslyckades',
  cancelled: 'Inte skickat (kanalen avstängd)',
  unknown: 'Okänt (avsändaren avbröts)',
  in_doubt: 'Osäkert – kontrolleras hos leverantören',
};
const MODE_LABEL: Record<string, string> = { active: 'Aktivt', silent: 'Tyst', held: 'Hållen (flodskyddet)' };
const MAX_DEAD_LETTERS_SHOWN = 50;
/** An unregistered system is offered silent first, the choice when none is made: nobody has vouched for it yet. */
const UNREGISTERED_MODE: SourceSystemMode = 'silent';
const UNREGISTERED_MODE_CHOICES = [UNREGISTERED_MODE, ...SOURCE_SYSTEM_MODES.filter((m) => m !== UNREGISTERED_MODE)];

const dateFormat = new Intl.DateTimeFormat('sv-SE', {
  timeZone: 'Europe/Stockholm',
  dateStyle: 'short',
  timeStyle: 'short',
});
const when = (iso: string | null | undefined) => (iso ? dateFormat.format(new Date(iso)) : '–');

function messages(counts: Counts): number {
  return MESSAGE_COUNTERS.reduce((sum, kind) => sum + counts[kind], 0);
}

function byKind(counts: Counts): string {
  const parts = MESSAGE_COUNTERS.filter((kind) => counts[kind] > 0).map(
    (kind) => `${KIND_LABEL[kind]} ${counts[kind]}`,
  );
  return parts.length > 0 ? parts.join(', ') : 'inga';
}

/** "24 h / 7 d" in one cell. */
function pair(day: number, week: number): SafeHtml {
  return html`${day.toLocaleString('sv-SE')} <small>/ ${week.toLocaleString('sv-SE')}</small>`;
}

export interface ConsolePageDependencies extends ConsoleData {
  log: Logger;
}

export function adminConsolePage(deps: ConsolePageDependencies): (registry: SourceSystemRegistry) => AdminConsoleHooks {
  return (registry) => ({
    sections: (session) => sections(deps, registry, session),
    routes: (router, helpers) => routes(router, helpers, deps, registry),
  });
}

async function sections(
  deps: ConsolePageDependencies,
  registry: SourceSystemRegistry,
  session: AdminSession,
): Promise<SafeHtml> {
  const [activity, unregistered, deadLetters] = await Promise.all([
    sourceActivityOverview(deps, registry),
    unregisteredSystems(deps, registry),
    listDeadLetters(deps.database, MAX_DEAD_LETTERS_SHOWN),
  ]);
  const csrfField = html`<input type="hidden" name="_csrf" value="${session.csrfToken}">`;

  const activityRows = activity.map(
    (row) => html`<tr>
  <td>${ENVIRONMENT_LABEL[row.environment]}</td>
  <th scope="row"><code>${row.sourceSystem}</code>${
    row.registration ? html`<br><small>${row.registration.name}</small>` : ''
  }</th>
  <td>${row.registration ? MODE_LABEL[row.registration.mode] : 'Inte registrerat'}</td>
  <td>${pair(row.last24h.received, row.last7d.received)}</td>
  <td>${pair(row.last24h.ignored, row.last7d.ignored)}</td>
  <td title="${byKind(row.last7d)}">${pair(messages(row.last24h), messages(row.last7d))}<br><small>${byKind(
    row.last24h,
  )}</small></td>
  <td>${pair(row.last24h.no_message, row.last7d.no_message)}</td>
  <td>${pair(row.last24h.producer_failures, row.last7d.producer_failures)}</td>
  <td>${pair(row.last24h.dead_letters, row.last7d.dead_letters)}${
    row.deadLettersNow > 0 ? html`<br><strong>${row.deadLettersNow} väntar</strong>` : ''
  }</td>
  <td>${when(row.lastSeenAt)}</td>
</tr>`,
  );

  const unregisteredRows = unregistered.map((system, index) => {
    const units = system.careUnits.map((unit) => html`<code>${unit}</code>`);
    const more =
      system.careUnitCount > system.careUnits.length
        ? ` och ${system.careUnitCount - system.careUnits.length} till`
        : '';
    return html`<tr>
  <td>${ENVIRONMENT_LABEL[system.environment]}</td>
  <th scope="row"><code>${system.sourceSystem}</code></th>
  <td>${system.notifications.toLocaleString('sv-SE')}</td>
  <td>${when(system.firstSeenAt)}</td>
  <td>${when(system.lastSeenAt)}</td>
  <td>${units.map((unit, i) => html`${i > 0 ? ', ' : ''}${unit}`)}${more}</td>
  <td>
    <form class="inline" method="post" action="/admin/oregistrerade/registrera">
      ${csrfField}
      <input type="hidden" name="environment" value="${system.environment}">
      <input type="hidden" name="hsaId" value="${system.sourceSystem}">
      <label class="visually-hidden" for="unregistered-name-${index}">Namn på ${system.sourceSystem}</label>
      <input id="unregistered-name-${index}" name="name" required maxlength="200" placeholder="Systemets namn">
      <select name="mode" aria-label="Läge för ${system.sourceSystem}">
        ${UNREGISTERED_MODE_CHOICES.map(
          (mode, i) => html`${i > 0 ? '\n        ' : ''}<option value="${mode}">${MODE_LABEL[mode]}</option>`,
        )}
      </select>
      <button type="submit">Registrera</button>
    </form>
  </td>
</tr>`;
  });

  const deadBySystem = new Map<string, number>();
  for (const row of activity) if (row.deadLettersNow > 0) deadBySystem.set(row.sourceSystem, row.deadLettersNow);
  const deadRows = deadLetters.map(
    (letter) => html`<tr>
  <td>${String(letter.id)}</td>
  <td><code>${letter.sourceSystem}</code></td>
  <td><code>${letter.logicalAddress}</code></td>
  <td>${letter.categorization === 'Invitation' ? 'Kallelse' : 'Bokning'}${letter.deleteFlag ? ' (borttag)' : ''}</td>
  <td><a href="/admin/sparning?kallsystem=${encodeURIComponent(letter.sourceSystem)}&amp;bokning=${encodeURIComponent(
    letter.bookingId,
  )}">${letter.bookingId}</a></td>
  <td>${when(letter.receivedAt)}</td>
  <td>${String(letter.attempts)}</td>
  <td>${letter.lastError ? becauseInSwedish(letter.lastError) : ''}</td>
  <td>${postButton(`/admin/doda-brev/${letter.id}/forsok-igen`, csrfField, 'Försök igen')}</td>
</tr>`,
  );
  const deadSystems = [...deadBySystem.entries()].map(
    ([system, count]) => html`<li><code>${system}</code>: ${count}
  ${postButton(
    '/admin/doda-brev/forsok-igen-alla',
    csrfField,
    `Försök igen med alla ${count} från ${system}`,
    html`<input type="hidden" name="sourceSystem" value="${system}">`,
  )}</li>`,
  );

  return html`<section aria-labelledby="activity-heading">
<h2 id="activity-heading">Källsystemens aktivitet</h2>
<p>Per källsystem och miljö: senaste 24 timmarna <small>/ 7 dygnen</small>. <em>Mottagna</em> tas emot för behandling;
<em>ignorerade</em> kom från ett system som inte är registrerat i miljön (eller gällde inte bokningar). <em>Fel hos
bokningssystemet</em> är misslyckade hämtningar av bokningsuppgifter (de försöks igen); <em>döda brev</em> är
aviseringar som tjänsten gav upp.</p>
${
  activity.length === 0
    ? html`<p>Ingen aktivitet ännu.</p>`
    : html`<div class="scroll" role="region" aria-label="Tabell över källsystemens aktivitet" tabindex="0"><table>
${tableHead(
  'Miljö',
  'Källsystem',
  'Läge',
  'Mottagna',
  'Ignorerade',
  'Meddelanden',
  'Inget meddelande',
  'Fel hos bokningssystemet',
  'Döda brev',
  'Senast sedd',
)}
<tbody>${activityRows}</tbody>
</table></div>`
}
</section>
<section aria-labelledby="unregistered-heading">
<h2 id="unregistered-heading">Oregistrerade system som har skickat</h2>
<p>System som har skickat bokningsaviseringar utan att vara registrerade i miljön. Aviseringarna har ignorerats.
Registrera systemet direkt från raden (läget <strong>tyst</strong> lagrar utan att skapa meddelanden, bra för en
första inläsning).</p>
${
  unregistered.length === 0
    ? html`<p>Inga oregistrerade system har skickat något.</p>`
    : html`<div class="scroll" role="region" aria-label="Tabell över oregistrerade system" tabindex="0"><table>
${tableHead('Miljö', 'HSA-id (sourceSystem)', 'Aviseringar', 'Först sedd', 'Senast sedd', 'Vårdenheter', 'Registrera')}
<tbody>${unregisteredRows}</tbody>
</table></div>`
}
</section>
<section aria-labelledby="dead-heading">
<h2 id="dead-heading">Döda brev</h2>
<p>Aviseringar som tjänsten gav upp, till exempel när bokningssystemet inte svarade under hela försöksperioden.
Här syns varifrån och varför, inte vem de gäller. <em>Försök igen</em> lägger dem i kön från början.</p>
${
  deadRows.length === 0
    ? html`<p>Inga döda brev.</p>`
    : html`<ul>${deadSystems}</ul>
<div class="scroll" role="region" aria-label="Tabell över döda brev" tabindex="0"><table>
${tableHead('Nr', 'Källsystem', 'Vårdenhet', 'Typ', 'Boknings-id', 'Mottagen', 'Försök', 'Orsak', 'Åtgärd')}
<tbody>${deadRows}</tbody>
</table></div>`
}
</section>
${traceForms(session)}`;
}

function traceForms(session: AdminSession, values: { kallsystem?: string; bokning?: string } = {}): SafeHtml {
  return html`<section aria-labelledby="trace-heading">
<h2 id="trace-heading">Spåra en bokning</h2>
<p>Se varje avisering för bokningen, vad tjänsten beslutade och varför, meddelandet som skapades och hur SMS och
e-post gick.</p>
<form method="get" action="/admin/sparning">
<label for="trace-system">Källsystem (sourceSystem)</label>
<input id="trace-system" name="kallsystem" required maxlength="64" value="${values.kallsystem ?? ''}">
<label for="trace-booking">Boknings-id</label>
<input id="trace-booking" name="bokning" required maxlength="200" value="${values.bokning ?? ''}">
<p><button type="submit">Spåra</button></p>
</form>
${
  session.support
    ? html`<form method="post" action="/admin/sparning/person">
<input type="hidden" name="_csrf" value="${session.csrfToken}">
<fieldset>
<legend>Sök på personnummer (supportroll)</legend>
<p>Sökningen loggas med ditt namn, personnumret och skälet.</p>
<label for="trace-person">Personnummer</label>
<input id="trace-person" name="personalIdentityNumber" required maxlength="13" autocomplete="off" inputmode="numeric"
  placeholder="ÅÅÅÅMMDD-NNNN">
<label for="trace-reason">Skäl (till exempel ärendenummer)</label>
<input id="trace-reason" name="reason" required maxlength="${MAX_REASON_LENGTH}">
<p><button type="submit">Sök och logga</button></p>
</fieldset>
</form>`
    : html`<p><small>Sökning på personnummer kräver supportrollen.</small></p>`
}
</section>`;
}

function eventRow(event: TraceEvent): SafeHtml {
  const decision = event.decision;
  const what =
    event.type === 'window_ended'
      ? 'Ombokningsfönstret gick ut'
      : `${postLabel(event.categorization)}${
          event.deleteFlag ? ': borttag' : event.deleteFlag === false ? ': ny eller ändrad' : ''
        }`;
  const message = decision?.message;
  return html`<tr>
  <td>${when(event.receivedAt ?? decision?.at)}</td>
  <td>${what}${event.notificationId !== null ? html`<br><small>nr ${String(event.notificationId)}</small>` : ''}</td>
  <td><code>${event.logicalAddress}</code></td>
  <td>${event.status ? (STATUS_LABEL[event.status] ?? event.status) : '–'}${
    event.deliveredMode && event.deliveredMode !== 'active'
      ? html`<br><small>levererad i läget ${MODE_LABEL[event.deliveredMode] ?? event.deliveredMode}</small>`
      : ''
  }${event.lastError ? html`<br><small>${event.lastError}</small>` : ''}</td>
  <td>${
    decision
      ? html`<strong>${
          decision.outcome === 'message'
            ? (KIND_LABEL[decision.messageKind ?? ''] ?? decision.messageKind)
            : decision.outcome === 'dead'
              ? 'Gav upp'
              : 'Inget meddelande'
        }</strong><br>${decision.becauseSv}`
      : 'Inte beslutad än'
  }</td>
  <td>${
    message
      ? html`${message.subject}<br><small>skapat ${when(message.createdAt)}${
          message.readAt ? `, läst ${when(message.readAt)}` : ', oläst'
        }</small>`
      : '–'
  }</td>
  <td>${
    message
      ? message.deliveries.length > 0
        ? message.deliveries.map(
            (d) =>
              html`${d.channel === 'sms' ? 'SMS' : 'E-post'}: ${DELIVERY_LABEL[d.status as DeliveryState] ?? d.status}${
                d.providerStatus ? ` (${d.providerStatus})` : ''
              }${d.sentAt ? `, ${when(d.sentAt)}` : ''}<br>`,
          )
        : message.notice === 'held'
          ? 'Hålls av flodskyddet (inte i inkorgen förrän meddelandena släpps)'
          : message.notice === 'waiting'
            ? 'Väntar på utskick'
            : 'Inget SMS eller e-post (inte valt av invånaren)'
      : '–'
  }</td>
</tr>`;
}

function traceTable(trace: BookingTrace): SafeHtml {
  return html`<section aria-label="Bokning ${trace.bookingId} från ${trace.sourceSystem}">
<h2>Bokning <code>${trace.bookingId}</code> från <code>${trace.sourceSystem}</code></h2>
${
  trace.events.length === 0
    ? html`<p>Inget har tagits emot för den bokningen från det källsystemet (eller så har det rensats bort efter
lagringstiden).</p>`
    : html`<div class="scroll" role="region" aria-label="Tabell över bokningens händelser" tabindex="0"><table>
${tableHead('När', 'Vad', 'Vårdenhet', 'Status', 'Beslut och varför', 'Meddelande', 'SMS och e-post')}
<tbody>${trace.events.map(eventRow)}</tbody>
</table></div>`
}
</section>`;
}

function tracePage(
  session: AdminSession,
  traces: BookingTrace[],
  values: { kallsystem?: string; bokning?: string },
  problems: string[],
): SafeHtml {
  // The layout puts this in the page's <main>.
  return html`<p><a href="/admin">← Tillbaka till administrationen</a></p>
<h1>Spårning</h1>
${
  problems.length > 0
    ? html`<div class="problem" role="alert"><ul>${problems.map((p) => html`<li>${p}</li>`)}</ul></div>`
    : ''
}
${traces.map(traceTable)}
${traceForms(session, values)}`;
}

function routes(
  router: Router,
  helpers: AdminPageHelpers,
  deps: ConsolePageDependencies,
  registry: SourceSystemRegistry,
): void {
  const field = (req: Request, name: string, max: number): string => {
    const value = (req.body as Record<string, unknown>)[name];
    return typeof value === 'string' ? value.trim().slice(0, max) : '';
  };

  router.post('/oregistrerade/registrera', async (req, res: Response) => {
    const session = helpers.session(res);
    const input = {
      environment: field(req, 'environment', 10),
      hsaId: field(req, 'hsaId', 64),
      name: field(req, 'name', 200),
      mode: field(req, 'mode', 10) || UNREGISTERED_MODE,
    };
    try {
      const system = await registry.register(session.name, input);
      deps.log.info(
        {
          sourceSystemId: system.id,
          hsaId: system.hsaId,
          environment: system.environment,
          actor: session.name,
          from: 'unregistered systems seen',
        },
        'source system registered',
      );
      res.redirect(303, '/admin?klart=tillagt');
    } catch (error) {
      if (!(error instanceof RegistryError)) throw error;
      const problems =
        error.kind === 'duplicate'
          ? ['Det HSA-id:t är redan registrerat i den miljön.']
          : error.problems.map((problem) =>
              problem.rule === 'not_an_hsa_id'
                ? `${input.hsaId} är inte ett giltigt HSA-id (SE, organisationsnummer, bindestreck, bokstäver ` +
                  `A–Z och siffror). Be regionen rätta systemets sourceSystem.`
                : problem.field === 'name'
                  ? 'Ange systemets namn för att registrera det.'
                  : `${problem.field}: ${problem.message}`,
            );
      await helpers.renderAdmin(res, error.kind === 'duplicate' ? 409 : 400, { problems });
    }
  });

  router.post('/doda-brev/forsok-igen-alla', async (req, res) => {
    const session = helpers.session(res);
    const sourceSystem = field(req, 'sourceSystem', 64);
    const ids = sourceSystem === '' ? [] : await retryDeadLettersOfSystem(deps.database, session.name, sourceSystem);
    deps.log.info(
      { sourceSystem, notifications: ids.length, actor: session.name },
      'dead letters of a source system queued again',
    );
    await helpers.renderAdmin(res, 200, { done: `${ids.length} döda brev från ${sourceSystem} har lagts i kön igen.` });
  });

  router.post('/doda-brev/:id/forsok-igen', async (req, res) => {
    const session = helpers.session(res);
    const raw = String(req.params.id ?? '');
    const id = /^[1-9][0-9]{0,15}$/.test(raw) ? Number(raw) : 0;
    if (id > 0 && (await retryOneDeadLetter(deps.database, session.name, id))) {
      deps.log.info({ notificationId: id, actor: session.name }, 'dead letter queued again');
      await helpers.renderAdmin(res, 200, { done: `Det döda brevet nr ${id} har lagts i kön igen.` });
    } else {
      await helpers.renderAdmin(res, 404, { problems: ['Det döda brevet finns inte (längre).'] });
    }
  });

  router.get('/sparning', async (req, res) => {
    const session = helpers.session(res);
    const kallsystem = typeof req.query.kallsystem === 'string' ? req.query.kallsystem.trim().slice(0, 64) : '';
    const bokning = typeof req.query.bokning === 'string' ? req.query.bokning.trim().slice(0, 200) : '';
    if (kallsystem === '' || bokning === '') {
      helpers.page(
        res,
        400,
        'Spårning',
        tracePage(session, [], { kallsystem, bokning }, ['Ange både källsystemets HSA-id och boknings-id.']),
      );
      return;
    }
    const trace = await traceBooking(deps.database, kallsystem, bokning);
    helpers.page(res, 200, 'Spårning', tracePage(session, [trace], { kallsystem, bokning }, []));
  });

  router.post('/sparning/person', async (req, res) => {
    const session = helpers.session(res);
    if (!session.support) {
      helpers.page(res, 403, 'Spårning', tracePage(session, [], {}, ['Sökning på personnummer kräver supportrollen.']));
      return;
    }
    const checked = checkTraceByPerson(req.body);
    if (!checked.ok) {
      helpers.page(res, 400, 'Spårning', tracePage(session, [], {}, [checked.swedish]));
      return;
    }
    const traces = await traceByPerson(deps, session.name, checked, 'admin page');
    helpers.page(
      res,
      200,
      'Spårning',
      tracePage(
        session,
        traces,
        {},
        traces.length === 0 ? ['Inga bokningar hittades för personnumret. Sökningen är loggad.'] : [],
      ),
    );
  });
}
