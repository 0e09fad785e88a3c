// The fill of bench:scale: a PostgreSQL database holding what a national service accumulates, generated
// inside PostgreSQL (INSERT ... SELECT from generate_series: no row crosses the network) so that 5 million
// posts and 10 million messages take minutes, not hours.
//
// Sizes at BENCH_SCALE=1, from a stated national volume (DAILY below) and the retention rules of
// src/config.ts (RETENTION_*, defaults):
//   citizens                2,000,000      (the issue's figure)
//   booking_post            5,000,000      (the issue's figure; 60 % present, the rest deleted or past, kept RETENTION_POST_DAYS)
//   inbox_message          10,000,000      (the issue's figure: ~13,700 messages/day over RETENTION_MESSAGE_DAYS = 730)
//   inbound_notification    7 days × DAILY.notifications done (RETENTION_QUEUE_DAYS) + 90 days × 0.05 % dead
//   engine_decision         one per processed notification, kept as long as the queue's rows
//   notification_call       30 days × DAILY.calls (RETENTION_CALL_DAYS)
//   ingest_post             posts fingerprinted within the redelivery window (300 s), the purge's hour of margin and
//                           its interval (RETENTION_INTERVAL_MINUTES = 60): 2 h 5 min of notifications, one row each
//   notification_request    90 days × messages/day (RETENTION_DELIVERY_DAYS), all planned
//   notification_delivery   one per request of a citizen with a channel (25 % of citizens), delivered; with its delivery_message row
//   citizen_channel_settings, care_unit_relation: 25 % of citizens, one relation per citizen
// The fill is recorded in the database's comment; a later run at the same scale reuses it.
import type { Sql } from 'postgres';

/** The national daily volume the steady-state sizes are derived from. */
export const DAILY = { notifications: 200_000, transactionsPerCall: 100, messages: 13_700 } as const;
export const RETENTION_DAYS = {
  queue: 7,
  deadLetter: 90,
  call: 30,
  delivery: 90,
  message: 730,
  fingerprint: (300 + 3600 + 3600) / 86_400,
} as const;

export interface FillSizes {
  citizens: number;
  posts: number;
  messages: number;
  notificationsDone: number;
  deadLetters: number;
  calls: number;
  ingestPosts: number;
  requests: number;
  deliveries: number;
  channelCitizens: number;
}

export function fillSizes(scale: number): FillSizes {
  const n = (x: number) => Math.max(1, Math.round(x * scale));
  const notificationsDone = n(DAILY.notifications * RETENTION_DAYS.queue);
  const requests = n(DAILY.messages * RETENTION_DAYS.delivery);
  return {
    citizens: n(2_000_000),
    posts: n(5_000_000),
    messages: n(10_000_000),
    notificationsDone,
    deadLetters: n(DAILY.notifications * RETENTION_DAYS.deadLetter * 0.0005),
    calls: n((DAILY.notifications / DAILY.transactionsPerCall) * RETENTION_DAYS.call),
    ingestPosts: n(DAILY.notifications * RETENTION_DAYS.fingerprint),
    requests,
    deliveries: Math.round(requests * 0.25),
    channelCitizens: n(500_000),
  };
}

/** The citizen whose inbox the read phase lists: 1,000 messages, 20 upcoming bookings. Outside the filled range. */
export const READER = '197505059999';
export const READER_MESSAGES = 1000;
export const READER_BOOKINGS = 20;

/** Tables the fill writes, in order; their secondary indexes are dropped for the fill and built after it. */
const TABLES = [
  'booking_post',
  'inbox_message',
  'inbound_notification',
  'engine_decision',
  'notification_call',
  'ingest_post',
  'notification_request',
  'notification_delivery',
  'notification_delivery_message',
  'citizen_channel_settings',
  'care_unit_relation',
] as const;

// A citizen's 12-digit number from an integer (not real persons: 1900-born with a running number).
const resident = (expr: string) => `'19' || lpad((${expr})::text, 10, '0')`;
// A message body of typical length (the rendered templates run 300-600 characters).
const BODY = `'Du har fått en ny tid hos vården. Tiden gäller ett besök på mottagningen. Om du inte kan komma, avboka senast 24 timmar innan så att någon annan kan få tiden. Ta med legitimation. Välkommen! Meddelande nummer '`;

/** Every how many rows one is the reader's, so that its rows lie spread over the whole table as a real citizen's do. */
const readerStep = (rows: number, wanted: number) => Math.max(1, Math.floor(rows / wanted));

function statements(s: FillSizes): [string, string][] {
  const details = (i: string, start: string) =>
    `jsonb_build_object('start', to_char(${start} at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'), 'end', to_char((${start} + interval '30 minutes') at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'), ` +
    `'healthcareFacility', 'SE2321000000-' || (${i} % 5000), 'healthcareFacilityName', 'Vårdcentralen ' || (${i} % 5000), 'bookingId', 'B-' || ${i}, ` +
    `'careTypeName', 'Besök', 'timeTypeName', 'Mottagningsbesök', 'purpose', 'Återbesök', 'cancelBookingAllowed', true, 'rebookingAllowed', true)`;
  const messageStep = readerStep(s.messages, READER_MESSAGES);
  const postStep = readerStep(s.posts, READER_BOOKINGS * 2);
  const readerMessage = `(i % ${messageStep} = 0 and i / ${messageStep} <= ${READER_MESSAGES})`;
  const readerPost = `(i % ${postStep} = 0 and i / ${postStep} <= ${READER_BOOKINGS * 2})`;
  const postStart = `(now() + ((i % 270) - 90) * interval '1 day' + (i % 480) * interval '1 minute')`;
  const msgAt = (count: number, days: number) =>
    `(now() - (${count} - i)::float8 / ${count} * interval '${days} days')`;
  return [
    [
      'booking_post',
      `insert into booking_post (key_hash, resident, source_system, logical_address, booking_id, categorization, present, details, start_at, updated_at)
       select md5('post' || i), case when ${readerPost} then '${READER}' else ${resident(`i % ${s.citizens}`)} end, 'SE2321000000-PAS' || (i % 40), 'SE2321000000-' || (i % 5000), 'B-' || i,
              case when i % 10 = 0 then 'Invitation' else 'Booking' end, case when ${readerPost} then (i / ${postStep}) % 2 = 0 else i % 5 < 3 end, ${details('i', postStart)}, ${postStart},
              now() - (i % 90) * interval '1 day'
       from generate_series(1, ${s.posts}) as i`,
    ],
    [
      'inbox_message',
      `insert into inbox_message (resident, kind, subject, body, care_unit_hsa_id, care_unit_name, booking, key_hash, cause, created_at, read_at, deleted_at)
       select case when ${readerMessage} then '${READER}' else ${resident(`(i::bigint * 7919) % ${s.citizens}`)} end, case when i % 4 = 0 then 'cancellation' else 'booking_confirmation' end,
              'Bokad tid hos Vårdcentralen ' || (i % 5000), ${BODY} || i, 'SE2321000000-' || (i % 5000), 'Vårdcentralen ' || (i % 5000),
              ${details('i', `(${msgAt(s.messages, RETENTION_DAYS.message)} + interval '14 days')`)}, md5('post' || (i % ${s.posts})), 'notification:' || (-i),
              ${msgAt(s.messages, RETENTION_DAYS.message)},
              -- The reader's messages: every second one read, none hidden (as addReader writes them).
              case when (case when ${readerMessage} then (i / ${messageStep}) % 2 = 0 else i % 10 < 7 end) then ${msgAt(s.messages, RETENTION_DAYS.message)} + interval '1 day' end,
              case when i % 20 = 0 and not ${readerMessage} then ${msgAt(s.messages, RETENTION_DAYS.message)} + interval '2 days' end
       from generate_series(1, ${s.messages}) as i`,
    ],
    [
      'inbound_notification (done)',
      `insert into inbound_notification (call_id, position, key_hash, resident, source_system, delete_flag, delivered_mode, engagement, received_at, status, attempts, available_at, processed_at)
       select i / ${DAILY.transactionsPerCall} + 1, i % ${DAILY.transactionsPerCall} + 1, md5('post' || (i % ${s.posts})), ${resident(`i % ${s.citizens}`)}, 'SE2321000000-PAS' || (i % 40), i % 8 = 0, 'active',
              jsonb_build_object('registeredResidentIdentification', ${resident(`i % ${s.citizens}`)}, 'serviceDomain', 'riv:crm:scheduling', 'categorization', 'Booking',
                'logicalAddress', 'SE2321000000-' || (i % 5000), 'businessObjectInstanceIdentifier', 'B-' || (i % ${s.posts}), 'clinicalProcessInterestId', 'NA',
                'sourceSystem', 'SE2321000000-PAS' || (i % 40), 'dataController', 'SE2321000000-DC', 'mostRecentContent', '20261130104108'),
              ${msgAt(s.notificationsDone, RETENTION_DAYS.queue)}, 'done', 1, ${msgAt(s.notificationsDone, RETENTION_DAYS.queue)}, ${msgAt(s.notificationsDone, RETENTION_DAYS.queue)} + interval '1 second'
       from generate_series(1, ${s.notificationsDone}) as i`,
    ],
    [
      'inbound_notification (dead)',
      `insert into inbound_notification (call_id, position, key_hash, resident, source_system, delete_flag, delivered_mode, engagement, received_at, status, attempts, available_at, last_error, processed_at)
       select 1, 1, md5('dead' || i), ${resident(`i % ${s.citizens}`)}, 'SE2321000000-PAS' || (i % 40), false, 'active', '{}'::jsonb,
              ${msgAt(s.deadLetters, RETENTION_DAYS.deadLetter)}, 'dead', 8, ${msgAt(s.deadLetters, RETENTION_DAYS.deadLetter)}, 'http_503', ${msgAt(s.deadLetters, RETENTION_DAYS.deadLetter)}
       from generate_series(1, ${s.deadLetters}) as i`,
    ],
    [
      'engine_decision',
      `insert into engine_decision (at, notification_id, key_hash, source_system, logical_address, booking_id, outcome, message_kind, because, message_cause)
       select ${msgAt(s.notificationsDone, RETENTION_DAYS.queue)}, i, md5('post' || (i % ${s.posts})), 'SE2321000000-PAS' || (i % 40), 'SE2321000000-' || (i % 5000), 'B-' || (i % ${s.posts}),
              case when i % 15 = 0 then 'message' else 'no_message' end, case when i % 15 = 0 then 'booking_confirmation' end,
              case when i % 15 = 0 then 'new_booking' else 'no_change_for_citizen' end, case when i % 15 = 0 then 'notification:' || i end
       from generate_series(1, ${s.notificationsDone}) as i`,
    ],
    [
      'notification_call',
      `insert into notification_call (received_at, correlation_id, transactions, accepted, duplicates, ignored, rejected)
       select ${msgAt(s.calls, RETENTION_DAYS.call)}, 'corr-' || i, ${DAILY.transactionsPerCall}, ${DAILY.transactionsPerCall}, 0, 0, 0
       from generate_series(1, ${s.calls}) as i`,
    ],
    [
      'ingest_post',
      `insert into ingest_post (key_hash, sequence_hash, recent, updated_at)
       select md5('post' || i), substr(md5('seq' || i), 1, 32), '[]'::jsonb, ${msgAt(s.ingestPosts, RETENTION_DAYS.fingerprint)}
       from generate_series(1, ${s.ingestPosts}) as i`,
    ],
    [
      'notification_request',
      // The newest messages are those of the last 90 days: their ids are the highest.
      `insert into notification_request (resident, message_id, created_at, planned_at)
       select resident, id, created_at, created_at + interval '1 minute' from inbox_message
       where id > (select max(id) from inbox_message) - ${s.requests}`,
    ],
    [
      'notification_delivery',
      `insert into notification_delivery (id, resident, channel, status, not_before, attempts, recipient, provider_id, provider_status, claimed_at, created_at, sent_at, updated_at)
       select r.id, r.resident, case when r.id % 2 = 0 then 'sms' else 'email' end, 'delivered', r.created_at, 1,
              case when r.id % 2 = 0 then '+4670' || lpad((r.id % 10000000)::text, 7, '0') else 'person' || r.id || '@example.se' end,
              'SM' || md5('sid' || r.id), 'delivered', r.created_at, r.created_at, r.created_at + interval '1 minute', r.created_at + interval '2 minutes'
       from notification_request r where r.id % 4 = 0`,
    ],
    [
      'notification_delivery_message',
      `insert into notification_delivery_message (message_id, channel, delivery_id)
       select r.message_id, d.channel, d.id from notification_delivery d join notification_request r on r.id = d.id`,
    ],
    [
      'citizen_channel_settings',
      `insert into citizen_channel_settings (resident, sms_enabled, sms_phone, email_enabled, email_address)
       select ${resident('i * 4')}, true, '+4670' || lpad(i::text, 7, '0'), i % 2 = 0, 'person' || i || '@example.se'
       from generate_series(0, ${s.channelCitizens - 1}) as i`,
    ],
    [
      'care_unit_relation',
      `insert into care_unit_relation (resident, care_unit_hsa_id, care_unit_name, first_at, last_at)
       select ${resident('i')}, 'SE2321000000-' || (i % 5000), 'Vårdcentralen ' || (i % 5000), now() - interval '400 days', now() - (i % 365) * interval '1 day'
       from generate_series(0, ${s.citizens - 1}) as i`,
    ],
  ];
}

/**
 * The reading citizen's inbox and bookings, topped up to READER_MESSAGES and READER_BOOKINGS: in the
 * filled database its rows come with the fill, spread over the tables; in the empty one (and at small
 * scales) they are added here, so both databases hold the same numbers for it.
 */
export async function addReader(sql: Sql): Promise<void> {
  const [row] = await sql<
    { n: number; b: number }[]
  >`select (select count(*)::int from inbox_message where resident = ${READER}) as n,
    (select count(*)::int from booking_post where resident = ${READER}) as b`;
  if (row!.n < READER_MESSAGES)
    await sql.unsafe(
      `insert into inbox_message (resident, kind, subject, body, care_unit_hsa_id, care_unit_name, booking, key_hash, cause, created_at, read_at)
     select '${READER}', 'booking_confirmation', 'Bokad tid hos Vårdcentralen ' || i, ${BODY} || i, 'SE2321000000-' || i, 'Vårdcentralen ' || i,
            jsonb_build_object('bookingId', 'R-' || i, 'categorization', 'Booking', 'start', '2027-01-15T09:00:00.000Z'), md5('reader' || i), 'reader:' || i,
            now() - (${READER_MESSAGES} - i) * interval '12 hours', case when i % 2 = 0 then now() end
     from generate_series(1, ${READER_MESSAGES - row!.n}) as i`,
    );
  if (row!.b < READER_BOOKINGS * 2)
    await sql.unsafe(
      `insert into booking_post (key_hash, resident, source_system, logical_address, booking_id, categorization, present, details, start_at)
     select md5('readerpost' || i), '${READER}', 'SE2321000000-PAS1', 'SE2321000000-' || i, 'RB-' || i, 'Booking', i <= ${READER_BOOKINGS},
            jsonb_build_object('start', to_char((now() + i * interval '3 days') at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
              'healthcareFacility', 'SE2321000000-' || i, 'healthcareFacilityName', 'Vårdcentralen ' || i, 'bookingId', 'RB-' || i),
            now() + i * interval '3 days'
     from generate_series(1, ${READER_BOOKINGS * 2 - row!.b}) as i`,
    );
}

/** Fills a freshly migrated database; `log` gets one line per step with its time. */
export async function fill(sql: Sql, sizes: FillSizes, log: (line: string) => void): Promise<void> {
  await sql.unsafe(`set maintenance_work_mem = '512MB'`);
  await sql.unsafe(`set synchronous_commit = off`);
  // Secondary indexes are built once after the rows are in: much faster than maintaining them row by row.
  const indexes = await sql<{ indexname: string; indexdef: string }[]>`
    select i.indexname, i.indexdef from pg_indexes i
    where i.schemaname = 'public' and i.tablename in ${sql([...TABLES])}
      and not exists (select 1 from pg_constraint c where c.conname = i.indexname)`;
  for (const index of indexes) await sql.unsafe(`drop index "${index.indexname}"`);
  // Primary keys no foreign key refers to likewise (random text keys made the fill wait on index writes).
  const keys = await sql<{ table: string; name: string; definition: string }[]>`
    select c.conrelid::regclass::text as table, c.conname as name, pg_get_constraintdef(c.oid) as definition
    from pg_constraint c
    where c.contype = 'p' and c.conrelid::regclass::text in ${sql([...TABLES])}
      and not exists (select 1 from pg_constraint f where f.contype = 'f' and f.confrelid = c.conrelid)`;
  for (const key of keys) await sql.unsafe(`alter table "${key.table}" drop constraint "${key.name}"`);
  for (const [name, statement] of statements(sizes)) {
    const started = performance.now();
    const result = await sql.unsafe(statement);
    log(
      `  ${name.padEnd(30)} ${String(result.count).padStart(11)} rows in ${((performance.now() - started) / 1000).toFixed(0)} s`,
    );
  }
  await sql.unsafe(
    `select setval(pg_get_serial_sequence('notification_delivery', 'id'), (select coalesce(max(id), 1) from notification_delivery))`,
  );
  const started = performance.now();
  for (const key of keys) await sql.unsafe(`alter table "${key.table}" add constraint "${key.name}" ${key.definition}`);
  for (const index of indexes) await sql.unsafe(index.indexdef);
  log(
    `  ${keys.length} primary keys and ${indexes.length} secondary indexes built in ${((performance.now() - started) / 1000).toFixed(0)} s`,
  );
  await addReader(sql);
  const analyzed = performance.now();
  await sql.unsafe(`vacuum (analyze) ${TABLES.join(', ')}`);
  log(`  vacuum analyze in ${((performance.now() - analyzed) / 1000).toFixed(0)} s`);
}
