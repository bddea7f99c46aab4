// Migration authoring pulls in Prisma's WASM schema engine (~5 MB); only the CLI needs it.
export * from './migrations/create-migration.js';
