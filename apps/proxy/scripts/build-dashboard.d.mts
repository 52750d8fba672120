export const CLIENT_ENTRY: string;
export const CLIENT_MODULE: string;
/** The text apps/proxy/src/dashboard/client-script.ts must hold, built from the client's sources. */
export function renderClientModule(): Promise<string>;
