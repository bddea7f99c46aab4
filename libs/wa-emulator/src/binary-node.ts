import type { BinaryNode } from '@whiskeysockets/baileys';

export type { BinaryNode } from '@whiskeysockets/baileys';

export const SERVER_JID = 's.whatsapp.net';

export function child(node: BinaryNode | undefined, tag: string): BinaryNode | undefined {
  return Array.isArray(node?.content) ? node.content.find((item) => item.tag === tag) : undefined;
}

export function children(node: BinaryNode | undefined, tag?: string): BinaryNode[] {
  if (!Array.isArray(node?.content)) return [];
  return tag === undefined ? node.content : node.content.filter((item) => item.tag === tag);
}

export function bytes(node: BinaryNode | undefined): Buffer {
  const content = node?.content;
  if (content instanceof Uint8Array) return Buffer.from(content);
  if (typeof content === 'string') return Buffer.from(content, 'utf8');
  return Buffer.alloc(0);
}

export function node(tag: string, attrs: Record<string, string> = {}, content?: BinaryNode[] | Uint8Array | string): BinaryNode {
  return content === undefined ? { tag, attrs } : { tag, attrs, content };
}

export function uintBE(value: Uint8Array): number {
  return Buffer.from(value).readUIntBE(0, value.length);
}

export function toBE(value: number, length: number): Buffer {
  const buffer = Buffer.alloc(length);
  buffer.writeUIntBE(value, 0, length);
  return buffer;
}
