import { createGatewayClient, describeError, type Schemas } from '@wagw/sdk';

/** Deletes a sent message for everyone in its chat; a retry with the same key never revokes twice. */
export async function revokeForEveryone(baseUrl: string, token: string, session: string, messageId: string): Promise<Schemas['SendResult']> {
  const client = createGatewayClient({ baseUrl, token });
  const { data, error, response } = await client.DELETE('/api/v1/sessions/{session}/messages/{mid}', {
    params: { path: { session, mid: messageId }, header: { 'Idempotency-Key': `revoke-${messageId}` } },
    body: {},
  });
  if (error) throw new Error(`revoke failed: ${describeError(error, response.status)}`);
  return data;
}
