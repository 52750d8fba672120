export function recordChildLine(source: string, line: string): void;
export function mark(): number;
export function childLinesSince(seq: number): string[];
export function lineSplitter(onLine: (line: string) => void): ((chunk: Buffer | string) => void) & { flush(): void };
