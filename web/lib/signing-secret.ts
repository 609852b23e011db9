// The HS256 secret the backend-for-frontend signs API tokens with (HS256 mode): from AWS Secrets
// Manager (`AUTH_HS256_SECRET_ID`, stage AWSCURRENT, re-read on an interval, so a rotation needs
// no redeploy), or for development the value itself (`AUTH_HS256_SECRET`). Server only.
import "server-only";
import { GetSecretValueCommand, SecretsManagerClient } from "@aws-sdk/client-secrets-manager";

/** Where the secret comes from: the value itself, or a Secrets Manager secret re-read every `refreshSeconds`. */
export type SecretSource = { value: string } | { secretId: string; refreshSeconds: number };

/** At least 32 bytes, like the API asks of every HS256 secret. */
function checked(bytes: Uint8Array, name: string): Uint8Array {
  if (bytes.byteLength < 32) throw new Error(`${name} must be at least 32 bytes`);
  return bytes;
}

// What was read, and the read under way: one of each per process (Next.js compiles this module
// once for the pages and once for the route handlers).
type Held = { client?: SecretsManagerClient; secret?: { value: Uint8Array; readAt: number }; reading?: Promise<Uint8Array> };
const processWide = globalThis as typeof globalThis & { taskgateSigningSecret?: Held };
const held = (processWide.taskgateSigningSecret ??= {});

/** AWSCURRENT of the secret, as the API reads it: the string's bytes, or the binary value. */
async function read(secretId: string): Promise<Uint8Array> {
  // Region, credentials and `AWS_ENDPOINT_URL_SECRETS_MANAGER` come from the environment.
  held.client ??= new SecretsManagerClient({});
  const output = await held.client.send(new GetSecretValueCommand({ SecretId: secretId, VersionStage: "AWSCURRENT" }));
  const bytes = output.SecretString !== undefined ? new TextEncoder().encode(output.SecretString) : output.SecretBinary;
  if (!bytes) throw new Error(`the secret ${secretId} has no value in AWSCURRENT`);
  return checked(bytes, "AUTH_HS256_SECRET_ID's value");
}

/**
 * The secret to sign with now. From Secrets Manager it is read once per interval (one read at a
 * time); a failed re-read keeps the last good secret for one more interval (logged), a failed
 * first read throws.
 */
export async function signingSecret(source: SecretSource): Promise<Uint8Array> {
  if ("value" in source) return checked(new TextEncoder().encode(source.value), "AUTH_HS256_SECRET");
  const last = held.secret;
  if (last && Date.now() - last.readAt < source.refreshSeconds * 1000) return last.value;
  held.reading ??= read(source.secretId)
    .catch((error: unknown) => {
      if (!last) throw error;
      console.warn(
        "taskgate: re-reading the HS256 secret failed; signing with the last one read:",
        error instanceof Error ? error.message : error,
      );
      return last.value;
    })
    .then((value) => {
      held.secret = { value, readAt: Date.now() };
      return value;
    })
    .finally(() => {
      held.reading = undefined;
    });
  return held.reading;
}
