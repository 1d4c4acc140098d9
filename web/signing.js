// Request signing exactly as trading.client / trading.auth do it (docs/adr/0003-request-signing.md):
//   X-Content-SHA256 = hex SHA-256 of the exact body bytes ("" when there is no body)
//   X-Signature      = hex HMAC-SHA256(key = SHA-256(secret), "{ts}\n{METHOD}\n{path?canonical-query}\n{body hash}")
// WebSocket $connect signs "{ts}\nGET\n/ws\n" with the same key (query parameters key, ts, sig).

const encoder = new TextEncoder();

function hex(buffer) {
  return Array.from(new Uint8Array(buffer), (byte) => byte.toString(16).padStart(2, "0")).join("");
}

/** RFC 3986 percent-encoding: everything but A-Z a-z 0-9 - _ . ~ (Python quote(safe="-_.~")). */
export function rfc3986(text) {
  return encodeURIComponent(text).replace(/[!'()*]/g, (c) => "%" + c.charCodeAt(0).toString(16).toUpperCase());
}

/** Parameters sorted by name then value, each name=value encoded, joined by "&". */
export function canonicalQuery(params) {
  const pairs = [];
  for (const [name, value] of Object.entries(params || {})) {
    if (value === undefined || value === null) {
      continue;
    }
    for (const item of Array.isArray(value) ? value : [value]) {
      pairs.push([String(name), String(item)]);
    }
  }
  pairs.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0));
  return pairs.map(([name, value]) => `${rfc3986(name)}=${rfc3986(value)}`).join("&");
}

export async function sha256Hex(bytes) {
  return hex(await crypto.subtle.digest("SHA-256", bytes));
}

export function stringToSign(timestampMs, method, path, bodySha256) {
  return `${timestampMs}\n${method.toUpperCase()}\n${path}\n${bodySha256}`;
}

export function wsStringToSign(timestampMs) {
  return `${timestampMs}\nGET\n/ws\n`;
}

/** An API key ready to sign: the HMAC key is SHA-256 of the secret; the secret itself is not kept. */
export class Signer {
  static async create(keyId, secret) {
    const digest = await crypto.subtle.digest("SHA-256", encoder.encode(secret));
    const key = await crypto.subtle.importKey("raw", digest, { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
    return new Signer(keyId, key);
  }

  constructor(keyId, hmacKey) {
    this.keyId = keyId;
    this.hmacKey = hmacKey;
  }

  async sign(message) {
    return hex(await crypto.subtle.sign("HMAC", this.hmacKey, encoder.encode(message)));
  }

  /** Headers for METHOD target (path plus "?" canonical query) with these exact body bytes. */
  async headers(method, target, body, timestampMs = Date.now()) {
    const bodyHash = await sha256Hex(body || new Uint8Array());
    return {
      "X-API-Key": this.keyId,
      "X-Timestamp": String(timestampMs),
      "X-Content-SHA256": bodyHash,
      "X-Signature": await this.sign(stringToSign(timestampMs, method, target, bodyHash)),
    };
  }

  /** The WebSocket URL with key, ts and sig query parameters. */
  async wsUrl(base, timestampMs = Date.now()) {
    const url = new URL(base);
    url.searchParams.set("key", this.keyId);
    url.searchParams.set("ts", String(timestampMs));
    url.searchParams.set("sig", await this.sign(wsStringToSign(timestampMs)));
    return url.toString();
  }
}

/** The REST target the way trading.client builds it: quoted path, then "?" and the canonical query. */
export function target(path, params) {
  const quoted = path
    .split("/")
    .map((segment) => rfc3986(decodeURIComponent(segment)))
    .join("/");
  const query = canonicalQuery(params);
  return query ? `${quoted}?${query}` : quoted;
}
