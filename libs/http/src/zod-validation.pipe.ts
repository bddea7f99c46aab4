import { Injectable, Param, type PipeTransform } from '@nestjs/common';
import { GatewayError } from '@wagw/contracts';
import type { z } from 'zod';

/** Where the value came from, for the message: "invalid query parameters". */
export type InputPart = 'body' | 'query parameters' | 'path parameters' | 'headers';

const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/**
 * The first string in `value` that no field may hold, with where it is: U+0000 (Postgres refuses it in
 * text and jsonb) or a lone surrogate (not Unicode at all; it would be stored as U+FFFD, silently
 * changed). Walks iteratively: a body nested thousands of levels deep cannot overflow the stack.
 */
function unstorableString(value: unknown): { path: string; problem: string } | null {
  const pending: Array<{ value: unknown; path: string }> = [{ value, path: '(root)' }];
  while (pending.length > 0) {
    const next = pending.pop();
    if (next === undefined) break;
    if (typeof next.value === 'string') {
      if (next.value.includes('\u0000')) return { path: next.path, problem: 'must not contain the NUL character (U+0000)' };
      if (LONE_SURROGATE.test(next.value)) return { path: next.path, problem: 'must be valid Unicode (it contains a lone surrogate)' };
    } else if (next.value !== null && typeof next.value === 'object') {
      for (const [key, child] of Object.entries(next.value)) {
        const childPath = next.path === '(root)' ? key : `${next.path}.${key}`;
        if (key.includes('\u0000') || LONE_SURROGATE.test(key)) return { path: childPath, problem: 'field names must be valid Unicode without NUL' };
        pending.push({ value: child, path: childPath });
      }
    }
  }
  return null;
}

/** Per-field problems in `details.fields`: `{"limit": "must be at most 200"}`. */
export function parseInput<S extends z.ZodType>(schema: S, value: unknown, part: InputPart, name = '(root)'): z.infer<S> {
  const unstorable = unstorableString(value);
  if (unstorable) throw new GatewayError('validation_failed', `invalid ${part}`, { fields: { [unstorable.path === '(root)' ? name : unstorable.path]: unstorable.problem } });
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  const fields: Record<string, string> = {};
  for (const issue of parsed.error.issues) {
    const path = issue.path.length > 0 ? issue.path.join('.') : name;
    fields[path] ??= issue.message;
  }
  throw new GatewayError('validation_failed', `invalid ${part}`, { fields });
}

@Injectable()
export class ZodValidationPipe<S extends z.ZodType> implements PipeTransform<unknown, z.infer<S>> {
  constructor(
    private readonly schema: S,
    private readonly part: InputPart,
  ) {}

  transform(value: unknown): z.infer<S> {
    return parseInput(this.schema, value, this.part);
  }
}

/**
 * One path parameter parsed by its schema before the handler runs: a malformed id is a 400 naming the
 * parameter (`{"fields": {"webhook": "must be a webhook endpoint id (UUID)"}}`) and never reaches SQL.
 */
class PathParamPipe implements PipeTransform<unknown, string> {
  constructor(
    private readonly name: string,
    private readonly schema: z.ZodType<string>,
  ) {}

  transform(value: unknown): string {
    return parseInput(this.schema, value, 'path parameters', this.name);
  }
}

/** `@PathParam('webhook', webhookIdParam) id: string`: Nest's `@Param`, validated. */
export function PathParam(name: string, schema: z.ZodType<string>): ParameterDecorator {
  return Param(name, new PathParamPipe(name, schema));
}
