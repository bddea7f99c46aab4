import { defineConfig } from 'prisma/config';

// Only `prisma generate` uses this file. Migrations are created and applied by `npm run db:migration:create`
// and `npm run db:migrate` (tools/cli), which need no engine download.
export default defineConfig({
  schema: 'prisma/schema.prisma',
  migrations: { path: 'prisma/migrations' },
});
