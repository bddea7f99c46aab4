// A module resolve hook (node --import): reports each module of Baileys the process loads.
import { register } from 'node:module';

register(
  'data:text/javascript,' +
    encodeURIComponent("export async function resolve(specifier, context, next) { const resolved = await next(specifier, context); if (resolved.url.includes('/@whiskeysockets/')) process.stderr.write('baileys-loaded ' + resolved.url + '\\n'); return resolved; }"),
);
