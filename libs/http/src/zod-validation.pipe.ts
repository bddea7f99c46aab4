import { Injectable, type PipeTransform } from '@nestjs/common';
import { GatewayError } from '@wagw/contracts';
import type { z } from 'zod';

/** Where the value came from, for the message: "invalid query parameters". */
export type InputPart = 'body' | 'query parameters' | 'path parameters' | 'headers';

/** Per-field problems in `details.fields`: `{"limit": "must be at most 200"}`. */
export function parseInput<S extends z.ZodType>(schema: S, value: unknown, part: InputPart): z.infer<S> {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  const fields: Record<string, string> = {};
  for (const issue of parsed.error.issues) {
    const path = issue.path.length > 0 ? issue.path.join('.') : '(root)';
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
