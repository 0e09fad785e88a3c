// The message texts, rendered for every kind with and without a booking-service link: they offer no
// action the service does not have, say how to reach the care unit whenever they ask the citizen to,
// say each fact once with the pages' labels, and put a blank line before what to do. docs/MESSAGES.md
// holds the same examples and must be up to date.
import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { examplesMarkdown, MESSAGES_DOC, renderExamples } from '../../scripts/message-examples.js';
import { FACT_LABEL } from '../../src/inbox/pages/views.js';
import { loadMessageRenderer } from '../../src/message-engine/render-message.js';

const rendered = renderExamples();
const LABELS = new Set<string>(Object.values(FACT_LABEL));
const CONTACT_HOW = /finns på 1177\.se under Hitta vård\./;

function name(r: (typeof rendered)[number]): string {
  return `${r.example.title} (${r.withService ? 'with' : 'without'} link)`;
}

describe('Message texts', () => {
  it('When examples of every kind are rendered, then every kind is covered with and without a link, with purpose and reason', () => {
    const kinds = new Set(rendered.map((r) => r.example.kind));
    expect([...kinds].sort()).toEqual([
      'booking_confirmation',
      'cancellation',
      'invitation',
      'invitation_updated',
      'rebooking',
    ]);
    expect(
      rendered.some(
        (r) => r.message.body.includes('Syfte: Vaccination') && r.message.body.includes('Anledning: 4-årskontroll'),
      ),
    ).toBe(true);
  });

  it('When a text is rendered, then it never says the inbox can cancel, rebook or book', () => {
    for (const r of rendered) {
      expect(r.message.body, name(r)).not.toMatch(/i inkorgen|här i|via inkorgen/i);
    }
  });

  it('When no booking-service link is configured, then no text names the booking service and the page shows no link', () => {
    for (const r of rendered.filter((x) => !x.withService)) {
      expect(r.message.body, name(r)).not.toMatch(/bokningstjänsten/);
      expect(r.message.body, name(r)).not.toMatch(/Du kan (avboka|boka)/);
      expect(r.links, name(r)).toEqual([]);
    }
  });

  it('When a text names the booking service, then the page links to it for exactly the actions the text names', () => {
    for (const r of rendered.filter((x) => x.withService)) {
      const line = r.message.body.split('\n').find((l) => l.includes('bokningstjänsten'));
      const actions = r.links.flatMap((link) => link.actions).sort();
      if (!line) {
        expect(actions, name(r)).toEqual([]);
        continue;
      }
      const named = [
        ...(/\bavboka\b/.test(line) ? ['avboka'] : []),
        ...(/boka om/.test(line) ? ['omboka'] : []),
        ...(/[Bb]oka (en tid|den)/.test(line) ? ['boka'] : []),
      ].sort();
      expect(actions, name(r)).toEqual(named);
    }
  });

  it('When the producer does not allow changes, then no text or link offers them', () => {
    for (const r of rendered.filter((x) => x.example.details.cancelBookingAllowed !== true)) {
      expect(r.message.body, name(r)).not.toMatch(/(Du kan|behöver) avboka/);
      expect(
        r.links.flatMap((l) => l.actions),
        name(r),
      ).not.toContain('avboka');
    }
    for (const r of rendered.filter((x) => x.example.details.rebookingAllowed !== true)) {
      expect(r.message.body, name(r)).not.toMatch(/(Du kan|behöver)[^.]* boka om/);
      expect(
        r.links.flatMap((l) => l.actions),
        name(r),
      ).not.toContain('omboka');
    }
  });

  it('When a text asks the citizen to contact the care unit, then it says how', () => {
    for (const r of rendered) {
      if (/[Kk]ontakta/.test(r.message.body)) expect(r.message.body, name(r)).toMatch(CONTACT_HOW);
    }
  });

  it('When a time is cancelled, then the text tells how to get a new one', () => {
    for (const r of rendered.filter((x) => x.example.kind === 'cancellation')) {
      expect(r.message.body, name(r)).toMatch(/ny tid/);
      expect(r.message.body, name(r)).toMatch(CONTACT_HOW);
    }
  });

  it("When a text lists facts, then each label is one of the pages' labels and each is said once", () => {
    for (const r of rendered) {
      const labelled = r.message.body
        .split('\n')
        .filter((line) => /^[A-ZÅÄÖ][a-zåäö ]+: /.test(line))
        .map((line) => line.slice(0, line.indexOf(':')));
      for (const label of labelled) expect(LABELS.has(label), `${name(r)}: ${label}`).toBe(true);
      expect(new Set(labelled).size, name(r)).toBe(labelled.length);
      for (const value of [r.example.details.purpose, r.example.details.reason, r.example.details.careTypeName].filter(
        Boolean,
      )) {
        expect(
          r.message.body.split(`: ${value}\n`).length - 1 + (r.message.body.endsWith(`: ${value}`) ? 1 : 0),
          `${name(r)}: ${value}`,
        ).toBeLessThanOrEqual(1);
      }
    }
  });

  it('When a text says what to do, then a blank line comes before it', () => {
    for (const r of rendered) {
      const lines = r.message.body.split('\n');
      const action = lines.findIndex((line) =>
        /^(Du kan|Kontakta|Kallelsen har ingen|Tiden går inte|Om du behöver)/.test(line),
      );
      expect(action, name(r)).toBeGreaterThan(0);
      expect(lines[action - 1], name(r)).toBe('');
    }
  });

  it('When the templates are rendered, then docs/MESSAGES.md shows exactly these texts', () => {
    expect(fs.readFileSync(MESSAGES_DOC, 'utf8')).toBe(examplesMarkdown());
  });

  it('When a producer value is empty or repeats another, then it is left out rather than said twice', () => {
    const render = loadMessageRenderer();
    const { body } = render('booking_confirmation', {
      healthcareFacility: 'SE1',
      healthcareFacilityName: 'Mottagningen',
      start: '2027-05-04T08:00:00.000Z',
      purpose: 'Provtagning',
      careTypeName: 'provtagning',
      timeTypeName: '',
    });
    expect(body).toContain('Syfte: Provtagning');
    expect(body).not.toMatch(/Vårdtyp|Besöksform/);
  });
});
