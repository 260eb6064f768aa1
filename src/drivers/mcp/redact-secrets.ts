/** Shorter values are not secrets worth hiding, and hiding them would blot out ordinary words and numbers. */
const MIN_SECRET_LENGTH = 4;

/**
 * `text` with every occurrence of a secret replaced by `***`: an upstream's own output (its stderr) can
 * repeat the values it was given, and those are shown only as `***` everywhere else. A secret of several
 * lines (a PEM key) is hidden line by line too. When `text` is the tail of something longer
 * (`startsMidway`), it may begin with the end of a secret, which no match finds: that start is dropped.
 */
export function redactSecrets(text: string, secrets: readonly string[], startsMidway = false): string {
  const pieces = new Set<string>();
  for (const secret of secrets) {
    if (secret.length >= MIN_SECRET_LENGTH) pieces.add(secret);
    for (const line of secret.split(/\r?\n/)) if (line.trim().length >= 2 * MIN_SECRET_LENGTH) pieces.add(line.trim());
  }
  if (startsMidway) text = text.slice(cutOffEnding(text, pieces));
  // Longest first, so a secret containing another is hidden whole.
  for (const piece of [...pieces].sort((a, b) => b.length - a.length)) text = text.split(piece).join('***');
  return text;
}

/** The length of the longest start of `text` that ends one of the pieces (and is not a whole one). */
function cutOffEnding(text: string, pieces: Iterable<string>): number {
  let longest = 0;
  for (const piece of pieces) {
    for (let length = piece.length - 1; length > longest; length--) {
      if (text.startsWith(piece.slice(piece.length - length))) {
        longest = length;
        break;
      }
    }
  }
  return longest;
}
