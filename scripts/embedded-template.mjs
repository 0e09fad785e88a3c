// Part of `npm run build`: writes dist/db/embedded-template.tar.gz, the migrated embedded database a
// fresh DATA_DIR starts from (see EMBEDDED_TEMPLATE in src/db/database.ts).
import { EMBEDDED_TEMPLATE, writeEmbeddedTemplate } from '../dist/db/database.js';

await writeEmbeddedTemplate(EMBEDDED_TEMPLATE);
console.log(`wrote ${EMBEDDED_TEMPLATE}`);
