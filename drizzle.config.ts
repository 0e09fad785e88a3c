import { defineConfig } from 'drizzle-kit';

// Tables are declared next to the component that owns them; src/db/schema.ts gathers them.
export default defineConfig({
  dialect: 'postgresql',
  schema: './src/db/schema.ts',
  out: './drizzle',
});
