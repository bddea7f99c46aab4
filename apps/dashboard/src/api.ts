import { QueryClient, useQuery } from '@tanstack/react-query';
import { createGatewayClient, describeError, type GatewayClient, type Schemas } from '@wagw/sdk';
import { signOut, storedToken } from './credentials';

export type { Schemas };

/** The page's own origin: the dashboard is served by the gateway it manages. */
export const apiBase = location.origin;

export const queryClient = new QueryClient({
  defaultOptions: { queries: { retry: 1, refetchOnWindowFocus: true, staleTime: 2_000 } },
});

/** Thrown for an answer that is not 2xx: the envelope's code and message, and the status. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string | undefined,
    message: string,
  ) {
    super(message);
  }
}

let onSignedOut: () => void = () => undefined;
export function whenSignedOut(callback: () => void): void {
  onSignedOut = callback;
}

/** A client for the stored token; a 401 anywhere signs out and returns to the sign-in page. */
export function client(): GatewayClient {
  const api = createGatewayClient({ baseUrl: apiBase, token: storedToken() ?? '' });
  api.use({
    onResponse({ response }) {
      if (response.status === 401) {
        void signOut();
        queryClient.clear();
        onSignedOut();
      }
      return undefined;
    },
  });
  return api;
}

/** The data of an openapi-fetch answer, or an ApiError carrying its envelope. */
export async function unwrap<T>(call: Promise<{ data?: T; error?: unknown; response: Response }>): Promise<T> {
  const { data, error, response } = await call;
  if (error !== undefined || !response.ok) {
    const code = (error as { error?: { code?: string } } | undefined)?.error?.code;
    throw new ApiError(response.status, code, describeError(error, response.status));
  }
  return data as T;
}

/** The organization and the caller's capabilities: what the page shows or hides. */
export function useOrganization() {
  return useQuery({ queryKey: ['org'], queryFn: () => unwrap(client().GET('/api/v1/org')), staleTime: 30_000 });
}

export function useCan(capability: Schemas['Organization']['caller']['capabilities'][number]): boolean {
  const org = useOrganization();
  return org.data?.caller.capabilities.includes(capability) ?? false;
}
