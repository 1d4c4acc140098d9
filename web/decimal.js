// Exact decimal strings for prices, quantities and balances: parsed to BigInt + scale, never to
// JavaScript numbers (floats cannot hold 0.1 or large atom counts exactly).

const DECIMAL = /^(-)?(\d+)(?:\.(\d*))?$/;

/** Parse "30000.50" -> {units: 3000050n, scale: 2}; null when the text is not a plain decimal. */
export function parse(text) {
  const match = DECIMAL.exec(String(text).trim());
  if (match === null) {
    return null;
  }
  const fraction = match[3] || "";
  const units = BigInt(match[2] + fraction);
  return { units: match[1] ? -units : units, scale: fraction.length };
}

function rescale(value, scale) {
  return value.units * 10n ** BigInt(scale - value.scale);
}

/** -1, 0 or 1, like a sort comparator; throws on text that is not a decimal. */
export function compare(a, b) {
  const x = parse(a);
  const y = parse(b);
  if (x === null || y === null) {
    throw new Error(`not a decimal: ${x === null ? a : b}`);
  }
  const scale = Math.max(x.scale, y.scale);
  const left = rescale(x, scale);
  const right = rescale(y, scale);
  return left < right ? -1 : left > right ? 1 : 0;
}

export function isZero(text) {
  const value = parse(text);
  return value !== null && value.units === 0n;
}

/** A canonical key for equal values written differently ("1.50" and "1.5"). */
export function canonical(text) {
  const value = parse(text);
  if (value === null) {
    return String(text);
  }
  const text_ = format(value.units, value.scale);
  return text_.includes(".") ? text_.replace(/0+$/, "").replace(/\.$/, "") : text_;
}

function format(units, scale) {
  const negative = units < 0n;
  const digits = (negative ? -units : units).toString().padStart(scale + 1, "0");
  const whole = scale ? digits.slice(0, -scale) : digits;
  const fraction = scale ? "." + digits.slice(-scale) : "";
  return (negative ? "-" : "") + whole + fraction;
}

/** Exact product of two decimal strings, e.g. an order's value price x quantity. */
export function multiply(a, b) {
  const x = parse(a);
  const y = parse(b);
  if (x === null || y === null) {
    return null;
  }
  return format(x.units * y.units, x.scale + y.scale);
}

/** Exact difference a - b at the larger scale (e.g. the spread ask - bid); null for non-decimals. */
export function subtract(a, b) {
  const x = parse(a);
  const y = parse(b);
  if (x === null || y === null) {
    return null;
  }
  const scale = Math.max(x.scale, y.scale);
  return format(rescale(x, scale) - rescale(y, scale), scale);
}

/** Exact sum of two decimal strings; null for non-decimals. */
export function add(a, b) {
  const x = parse(a);
  const y = parse(b);
  if (x === null || y === null) {
    return null;
  }
  const scale = Math.max(x.scale, y.scale);
  return format(rescale(x, scale) + rescale(y, scale), scale);
}

/** value x bps / 10,000 rounded UP to `scale` decimals (a fee, as the exchange holds it). */
export function feeUp(value, bps, scale) {
  const x = parse(value);
  if (x === null) {
    return null;
  }
  const numerator = x.units * BigInt(bps); // at scale x.scale + 4 after the / 10,000
  const from = x.scale + 4;
  const divisor = from > scale ? 10n ** BigInt(from - scale) : 1n;
  const scaled = from > scale ? (numerator + divisor - 1n) / divisor : numerator * 10n ** BigInt(scale - from);
  return format(scaled, scale);
}

/**
 * The largest quantity on the lot grid that `share`% of `available` pays for (a sell: of the base
 * itself; a buy at `price` with a `bps` fee: of the quote). Exact (BigInt); null without a price.
 */
export function sizeFor(available, share, lot, { price = null, bps = 0 } = {}) {
  const a = parse(available);
  const l = parse(lot);
  if (a === null || l === null || l.units <= 0n) {
    return null;
  }
  const q = l.scale; // the quantity's decimals
  let units; // the quantity in 10^-q
  if (price === null) {
    // available x share / 100, at scale q (floor)
    units = (a.units * BigInt(share) * 10n ** BigInt(q)) / (100n * 10n ** BigInt(a.scale));
  } else {
    const p = parse(price);
    if (p === null || p.units <= 0n) {
      return null;
    }
    // floor(available x share/100 x 10^q x 10,000 x 10^p.scale / (10^a.scale x P x (10,000 + bps)))
    const top = a.units * BigInt(share) * 10n ** BigInt(q) * 10000n * 10n ** BigInt(p.scale);
    const bottom = 100n * 10n ** BigInt(a.scale) * p.units * (10000n + BigInt(bps));
    units = top / bottom;
  }
  units -= units % l.units; // down to a multiple of the lot
  return format(units < 0n ? 0n : units, q);
}
