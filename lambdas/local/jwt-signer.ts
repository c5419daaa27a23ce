/**
 * The local issuer's RS256 signing key and JWT signing.
 *
 * Signing a JWT is a dozen lines with node:crypto, so this takes no JOSE dependency; the
 * security-critical half, verification, is done by aws-jwt-verify exactly as in AWS.
 *
 * The key (RSA 2048, PKCS#8 PEM) is generated on first start and kept in
 * `<dataDir>/keys/idp-signing-key.pem` (file 0600, directory 0700), so tokens survive restarts.
 * Its `kid` is the RFC 7638 JWK thumbprint, which is stable for the same key.
 */
import {
  createHash,
  createPrivateKey,
  createPublicKey,
  generateKeyPair,
  randomBytes,
  sign,
  type KeyObject,
} from 'node:crypto';
import { chmod, link, mkdir, open, readFile, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { LocalStateError } from './local-state-error.js';

const generateRsaKeyPair = promisify(generateKeyPair);

export const SIGNING_KEY_FILE = join('keys', 'idp-signing-key.pem');
const MIN_MODULUS_BITS = 2048;

/** The public half of the signing key, as published in the JWKS. */
export interface PublicJwk {
  readonly kty: 'RSA';
  readonly n: string;
  readonly e: string;
  readonly kid: string;
  readonly alg: 'RS256';
  readonly use: 'sig';
}

export interface Jwks {
  readonly keys: readonly PublicJwk[];
}

function errorCode(error: unknown): string | undefined {
  return error instanceof Error && 'code' in error && typeof error.code === 'string' ? error.code : undefined;
}

function base64UrlJson(value: unknown): string {
  return Buffer.from(JSON.stringify(value), 'utf8').toString('base64url');
}

/** RFC 7638: SHA-256 over the required members of the JWK, in lexicographic order, no spaces. */
export function jwkThumbprint(jwk: { readonly e: string; readonly n: string }): string {
  return createHash('sha256')
    .update(JSON.stringify({ e: jwk.e, kty: 'RSA', n: jwk.n }))
    .digest('base64url');
}

export class JwtSigningKey {
  readonly kid: string;
  private readonly publicJwk: PublicJwk;

  private constructor(private readonly privateKey: KeyObject) {
    const exported = createPublicKey(privateKey).export({ format: 'jwk' });
    if (typeof exported.n !== 'string' || typeof exported.e !== 'string') {
      throw new Error('The signing key has no RSA public components');
    }
    this.kid = jwkThumbprint({ n: exported.n, e: exported.e });
    // Built member by member so that no private component can ever reach the JWKS.
    this.publicJwk = { kty: 'RSA', n: exported.n, e: exported.e, kid: this.kid, alg: 'RS256', use: 'sig' };
  }

  /** A fresh key that lives only in memory (in-memory runtime, tests). */
  static async generate(): Promise<JwtSigningKey> {
    const { privateKey } = await generateRsaKeyPair('rsa', { modulusLength: MIN_MODULUS_BITS });
    return new JwtSigningKey(privateKey);
  }

  /** Loads the key kept under `dataDir`, creating it on first start. */
  static async openOrCreate(dataDir: string): Promise<JwtSigningKey> {
    const directory = join(dataDir, 'keys');
    const file = join(dataDir, SIGNING_KEY_FILE);
    try {
      await mkdir(directory, { recursive: true, mode: 0o700 });
      await tightenMode(directory, 0o700);
    } catch (error: unknown) {
      throw new LocalStateError(
        `The key directory ${directory} cannot be used (${errorCode(error) ?? 'unknown error'}); make it a directory this user can write`,
        { cause: error },
      );
    }

    let pem: string | undefined = await readPem(file);
    if (pem === undefined) {
      const created = await JwtSigningKey.generate();
      pem = await createPemExclusively(file, created.privateKey);
      // Another process (a second start racing this one) may have won; theirs is the key then.
      if (pem === undefined) return JwtSigningKey.fromPem(file, (await readPem(file)) ?? '');
      return created;
    }
    try {
      await tightenMode(file, 0o600);
    } catch (error: unknown) {
      throw corruptKey(
        file,
        `its permissions cannot be narrowed to 0600 (${errorCode(error) ?? 'unknown error'})`,
        error,
      );
    }
    return JwtSigningKey.fromPem(file, pem);
  }

  private static fromPem(file: string, pem: string): JwtSigningKey {
    let key: KeyObject;
    try {
      key = createPrivateKey({ key: pem, format: 'pem' });
    } catch (error: unknown) {
      throw corruptKey(file, 'it is not a PEM private key', error);
    }
    if (key.asymmetricKeyType !== 'rsa')
      throw corruptKey(file, `it is a ${key.asymmetricKeyType ?? 'unknown'} key, not RSA`);
    const bits = key.asymmetricKeyDetails?.modulusLength ?? 0;
    if (bits < MIN_MODULUS_BITS)
      throw corruptKey(file, `its modulus has ${bits} bits, fewer than ${MIN_MODULUS_BITS}`);
    return new JwtSigningKey(key);
  }

  jwks(): Jwks {
    return { keys: [this.publicJwk] };
  }

  /** A compact JWS (RS256) over `claims`. */
  sign(claims: Readonly<Record<string, unknown>>): string {
    const input = `${base64UrlJson({ alg: 'RS256', typ: 'JWT', kid: this.kid })}.${base64UrlJson(claims)}`;
    // For an RSA key, crypto.sign with SHA-256 is RSASSA-PKCS1-v1_5, which is what RS256 means.
    const signature = sign('sha256', Buffer.from(input, 'ascii'), this.privateKey);
    return `${input}.${signature.toString('base64url')}`;
  }
}

function corruptKey(file: string, reason: string, cause?: unknown): LocalStateError {
  return new LocalStateError(
    `The signing key ${file} cannot be used: ${reason}. Restore it from a backup, or move it away to have a new key ` +
      'generated on the next start (tokens signed with the old key will then no longer verify)',
    cause === undefined ? undefined : { cause },
  );
}

async function readPem(file: string): Promise<string | undefined> {
  try {
    return await readFile(file, 'utf8');
  } catch (error: unknown) {
    if (errorCode(error) === 'ENOENT') return undefined;
    throw corruptKey(file, `it cannot be read (${errorCode(error) ?? 'unknown error'})`, error);
  }
}

/** Narrows permissions that are wider than `mode` (a key copied in with the umask's 0644). */
async function tightenMode(path: string, mode: number): Promise<void> {
  if (process.platform === 'win32') return;
  const { mode: current } = await stat(path);
  if ((current & 0o777 & ~mode) !== 0) await chmod(path, mode);
}

/**
 * Writes the key to a temporary file (0600, fsynced) and hard-links it into place: the key file
 * appears complete or not at all, and an existing key is never overwritten. Returns undefined
 * when another process created the key first.
 */
async function createPemExclusively(file: string, key: KeyObject): Promise<string | undefined> {
  const pem = key.export({ format: 'pem', type: 'pkcs8' }).toString();
  const temporary = `${file}.${randomBytes(6).toString('hex')}.tmp`;
  try {
    const handle = await open(temporary, 'wx', 0o600);
    try {
      await handle.writeFile(pem, 'utf8');
      await handle.sync();
    } finally {
      await handle.close();
    }
    try {
      await link(temporary, file);
    } catch (error: unknown) {
      if (errorCode(error) === 'EEXIST') return undefined;
      throw error;
    }
    return pem;
  } catch (error: unknown) {
    throw new LocalStateError(
      `The signing key ${file} cannot be written (${errorCode(error) ?? 'unknown error'}); make its directory writable by this user`,
      { cause: error },
    );
  } finally {
    await rm(temporary, { force: true });
  }
}
