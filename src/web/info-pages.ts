// The service's public information pages: help and contact (/hjalp) and the accessibility statement
// (/tillganglighet) that a Swedish public-sector web service must publish (lagen 2018:1937 om
// tillgänglighet till digital offentlig service). Reachable without signing in, from every page's footer.
import express, { type Router } from 'express';
import { html } from './html.js';
import { ACCESSIBILITY_PATH, HELP_PATH, pageFrame } from './page-frame.js';

/** When the statement was last reviewed; change it with the text. */
export const STATEMENT_REVIEWED = '1 december 2026';

function helpPage(): string {
  return pageFrame({
    title: 'Hjälp och kontakt',
    service: 'Inkorgen',
    home: '/inbox',
    main: html`<h1>Hjälp och kontakt</h1>
<section aria-labelledby="about-heading">
<h2 id="about-heading">Vad finns i inkorgen?</h2>
<p>Inkorgen visar meddelanden från mottagningar som du har en bokad tid eller en kallelse hos: kallelser,
bokningsbekräftelser, avbokningar och ombokningar. Under <a href="/inbox">Meddelanden och tider</a> ser du också dina
kommande bokade tider.</p>
</section>
<section aria-labelledby="change-heading">
<h2 id="change-heading">Avboka, boka om eller boka en tid</h2>
<p>Inkorgen kan inte själv avboka eller boka om. När mottagningen låter dig ändra tiden på webben finns en länk till
bokningstjänsten vid meddelandet och vid tiden. Annars kontaktar du mottagningen: telefonnummer och öppettider till
alla mottagningar finns på 1177.se under Hitta vård.</p>
</section>
<section aria-labelledby="calendar-heading">
<h2 id="calendar-heading">Lägg till i kalendern</h2>
<p>Knappen <strong>Lägg till i kalendern</strong> hämtar en kalenderfil (.ics) med tiden och mottagningen, som du kan
öppna i kalendern i telefonen eller datorn. Filen innehåller inget om vad besöket gäller. Om tiden ändras uppdateras
inte kalendern av sig själv: hämta filen igen.</p>
</section>
<section aria-labelledby="notify-heading">
<h2 id="notify-heading">Aviseringar med SMS och e-post</h2>
<p>Under <a href="/inbox/installningar">Aviseringar</a> väljer du om du vill få ett SMS eller e-postmeddelande när ett
nytt meddelande har kommit. Aviseringen säger bara att ett meddelande väntar, aldrig vad det gäller eller från vilken
mottagning. Du kan stänga av aviseringarna när du vill.</p>
</section>
<section aria-labelledby="contact-heading">
<h2 id="contact-heading">Kontakt</h2>
<ul>
<li>Frågor om en bokad tid eller en kallelse: kontakta mottagningen.</li>
<li>Sjukvårdsrådgivning dygnet runt: ring <a href="tel:1177">1177</a>.</li>
<li>Vid livshotande tillstånd: ring <a href="tel:112">112</a>.</li>
<li>Problem med inloggningen eller inkorgen: kontakta 1177:s support via 1177.se.</li>
</ul>
</section>
<section aria-labelledby="personuppgifter">
<h2 id="personuppgifter">Personuppgifter</h2>
<p>Inkorgen visar bara dina egna meddelanden och tider, efter inloggning med e-legitimation. Uppgifterna kommer från
mottagningarnas bokningssystem. Ditt mobilnummer och din e-postadress används bara för aviseringar. Ett meddelande som
du tar bort syns inte längre för dig.</p>
</section>`,
  });
}

function accessibilityPage(): string {
  return pageFrame({
    title: 'Tillgänglighetsredogörelse',
    service: 'Inkorgen',
    home: '/inbox',
    main: html`<h1>Tillgänglighetsredogörelse för 1177 Inkorgen</h1>
<p>Vi vill att så många som möjligt ska kunna använda inkorgen. Här beskriver vi hur den uppfyller lagen om
tillgänglighet till digital offentlig service, vilka kända brister som finns och hur du kan rapportera problem till
oss.</p>
<section aria-labelledby="status-heading">
<h2 id="status-heading">Hur tillgänglig är tjänsten?</h2>
<p>Tjänsten är <strong>delvis förenlig</strong> med kraven i standarden WCAG 2.1 på nivå AA, på grund av de brister
som beskrivs nedan.</p>
</section>
<section aria-labelledby="gaps-heading">
<h2 id="gaps-heading">Kända brister</h2>
<ul>
<li>Texter som kommer från mottagningarnas bokningssystem, till exempel namn på mottagningar och vårdtyper, visas som
mottagningen har skrivit dem. Vi kan inte garantera att de är begripliga eller på svenska.</li>
<li>Bokningstjänsten, som länkarna för att avboka, boka om eller boka leder till, är en annan tjänst med en egen
tillgänglighetsredogörelse.</li>
<li>Tjänsten har ännu inte granskats manuellt med skärmläsare och förstoringsprogram av en oberoende granskare.</li>
</ul>
</section>
<section aria-labelledby="report-heading">
<h2 id="report-heading">Rapportera brister eller be om innehållet i annan form</h2>
<p>Om du inte kan använda någon del av inkorgen, eller upptäcker en brist som inte står här, vill vi veta det. Kontakta
1177:s support, se <a href="${HELP_PATH}#contact-heading">Hjälp och kontakt</a>. Du kan också kontakta mottagningen
direkt för att få uppgifterna i ett meddelande på annat sätt.</p>
</section>
<section aria-labelledby="supervision-heading">
<h2 id="supervision-heading">Tillsyn</h2>
<p>Myndigheten för digital förvaltning (Digg) har ansvaret för tillsynen över lagen om tillgänglighet till digital
offentlig service. Om du inte är nöjd med hur vi hanterar dina synpunkter kan du anmäla det till Digg på digg.se.</p>
</section>
<section aria-labelledby="method-heading">
<h2 id="method-heading">Hur vi testat tjänsten</h2>
<p>Varje ändring av tjänsten testas automatiskt i webbläsaren Chromium i bredderna 320, 390 och 1280 pixlar: med
verktyget axe mot WCAG 2.1 nivå A och AA, att sidorna går att läsa utan att rulla i sidled, och att inkorgen, ett
meddelande, aviseringarna och borttagning av ett meddelande går att använda med enbart tangentbord.</p>
<p>Redogörelsen uppdaterades senast den ${STATEMENT_REVIEWED}.</p>
</section>`,
  });
}

function send(res: express.Response, page: string): void {
  res.set(
    'Content-Security-Policy',
    "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'",
  );
  res.set('X-Content-Type-Options', 'nosniff');
  res.status(200).type('html').send(page);
}

/** GET /hjalp and GET /tillganglighet. */
export function infoPagesRouter(): Router {
  const router = express.Router();
  const help = helpPage();
  const statement = accessibilityPage();
  router.get(HELP_PATH, (_req, res) => send(res, help));
  router.get(ACCESSIBILITY_PATH, (_req, res) => send(res, statement));
  return router;
}
