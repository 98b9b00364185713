import argon2 from 'argon2';

/**
 * argon2id with OWASP's minimum profile (Password Storage Cheat Sheet: m=19 MiB, t=2, p=1; RFC 9106
 * §4 names argon2id the default). Hashes carry their parameters, so raising these upgrades each
 * account at its next login (`needsRehash`).
 */
export interface HashParams {
  memoryCost: number;
  timeCost: number;
  parallelism: number;
}
export const defaultHashParams: HashParams = { memoryCost: 19_456, timeCost: 2, parallelism: 1 };

export class PasswordHasher {
  private dummy: Promise<string> | undefined;

  constructor(private readonly params: HashParams = defaultHashParams) {}

  hash(password: string): Promise<string> {
    return argon2.hash(password, { type: argon2.argon2id, ...this.params });
  }

  async verify(hash: string, password: string): Promise<boolean> {
    try {
      return await argon2.verify(hash, password);
    } catch {
      return false;
    }
  }

  needsRehash(hash: string): boolean {
    return argon2.needsRehash(hash, { ...this.params });
  }

  /**
   * Spends the same work as a real check when the account does not exist, so response time does
   * not tell which emails are registered (OWASP Authentication Cheat Sheet, "response times").
   */
  async verifyDummy(password: string): Promise<false> {
    this.dummy ??= this.hash('linkport-dummy-password-never-matches');
    await this.verify(await this.dummy, password);
    return false;
  }
}
