/** ID prefixes of SPEC §3: one per object type. */
export type IdPrefix = "wh" | "evt" | "res" | "dlv" | "att" | "in" | "aud";

// Crockford base32 keeps the UUIDv7 byte order, so ids sort by creation time as plain strings
// (cursor pagination relies on that) and stay free of look-alike letters.
const ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz";

/** encodeBase32 turns bytes into lowercase Crockford base32, most significant bits first. */
export function encodeBase32(bytes: Uint8Array): string {
  let out = "";
  let buffer = 0;
  let bits = 0;
  // Pad on the left so the first character carries the top bits: 128 bits -> 26 chars (130 bits).
  const pad = (5 - ((bytes.length * 8) % 5)) % 5;
  bits = pad;
  for (const byte of bytes) {
    buffer = (buffer << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      bits -= 5;
      out += ALPHABET[(buffer >> bits) & 31];
    }
    buffer &= (1 << bits) - 1;
  }
  return out;
}

/** newId makes `prefix_` + 26 base32 characters of a UUIDv7: time-ordered and unique. */
export function newId(prefix: IdPrefix): string {
  return `${prefix}_${encodeBase32(Bun.randomUUIDv7("buffer"))}`;
}

const ID_PATTERN = /^(wh|evt|res|dlv|att|in|aud)_[0-9a-hjkmnp-tv-z]{26}$/;

/** isId tells whether a string is a well-formed id with the given prefix; routes use it to answer 404 early. */
export function isId(value: string, prefix: IdPrefix): boolean {
  return value.startsWith(`${prefix}_`) && ID_PATTERN.test(value);
}
