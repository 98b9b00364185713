import { domainToUnicode } from 'node:url';

/**
 * Emails: trim, Unicode NFC (so a composed and a decomposed "é" are one account), lower-case, and
 * NFC again because case mapping can leave a string denormalised. Internationalised addresses are
 * allowed (RFC 6531); the database CHECK keeps other writers to the same canonical form.
 */
export function normalizeEmail(raw: string): string {
  const email = raw.trim().normalize('NFC').toLowerCase().normalize('NFC');
  const at = email.lastIndexOf('@');
  if (at < 0) return email;
  // IDNA (UTS #46): "xn--exmple-cua.com" and "exämple.com" are one domain, so one account.
  const domain = domainToUnicode(email.slice(at + 1));
  return domain ? `${email.slice(0, at)}@${domain.normalize('NFC')}` : email;
}

/**
 * Characters never accepted in names shown to other people: C0/C1 controls, lone surrogates,
 * bidi overrides/isolates (the "Trojan Source" trick, CVE-2021-42574), and zero-width/format
 * characters outside joiners that real scripts need (ZWJ/ZWNJ stay: emoji, Persian, Indic).
 */
const forbidden = /[\p{Cc}\p{Cs}\p{Co}\u202A-\u202E\u2066-\u2069\u200B\u200E\u200F\u2060-\u2064\uFEFF]/u;

export function hasForbiddenChars(s: string): boolean {
  return forbidden.test(s);
}

/** Display names: NFC, trimmed, inner runs of whitespace collapsed to one space. */
export function normalizeName(raw: string): string {
  return raw.normalize('NFC').trim().replace(/\s+/gu, ' ');
}
