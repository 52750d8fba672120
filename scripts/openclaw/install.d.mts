export const OPENCLAW_VERSION: string;
export const NODE24_VERSION: string;
export const OPENCLAW_DIR: string;
export function node24Path(dir?: string): string;
export function openclawEntry(dir?: string): string;
export function openclawInstalled(dir?: string): boolean;
export function ensureOpenClaw(options?: { dir?: string; log?: (line: string) => void }): {
  dir: string;
  node: string;
  entry: string;
  installed: boolean;
};
