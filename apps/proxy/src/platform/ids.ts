/**
 * ULIDs (https://github.com/ulid/spec): 48 bits of milliseconds then 80 random bits, in Crockford's
 * base32. Made here instead of with the `ulid` package because that one asks the runtime for one
 * random byte per character (16 `getRandomValues` calls an id); the relay makes one or two ids
 * per message, and this takes one call. Each of the 16 random characters is 5 bits of its own
 * byte: 256 is a multiple of 32, so every character stays uniform.
 */
const ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
const MAX_TIME = 2 ** 48 - 1;

export function newUlid(now: number = Date.now()): string {
  if (!Number.isInteger(now) || now < 0 || now > MAX_TIME) throw new RangeError("ULID time out of range");
  let time = "";
  let rest = now;
  for (let i = 0; i < 10; i++) {
    time = ALPHABET.charAt(rest % 32) + time;
    rest = Math.floor(rest / 32);
  }
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  let random = "";
  for (const byte of bytes) random += ALPHABET.charAt(byte & 31);
  return time + random;
}
