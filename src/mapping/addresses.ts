import { MappingError } from "../api/errors.js";
import { countryName, normaliseCountry } from "./countries.js";

/**
 * Postal addresses: a parser for one-line or multi-line text and a formatter in each country's
 * order. No lookups: nothing is checked against a postal database, and what the parser cannot place
 * is returned in `unparsed` with `ambiguous: true` rather than guessed.
 */

export interface Address {
  /** House number and street, as written ("221B Baker Street", "Unter den Linden 77"). */
  street?: string;
  /** Apartment, suite, flat, floor. */
  unit?: string;
  /** Lines between the street and the locality that are neither (building names, c/o). */
  extra?: string[];
  city?: string;
  /** State, province or prefecture, as a code where the country uses codes (US, CA, AU). */
  region?: string;
  postalCode?: string;
  /** ISO 3166-1 alpha-2. */
  country?: string;
  unparsed?: string[];
  ambiguous?: boolean;
  reasons?: string[];
}

interface CountryRule {
  postcode: RegExp;
  /** The postcode comes before the city ("10115 Berlin") rather than after ("London SW1A 2AA"). */
  postcodeFirst: boolean;
  /** Region codes written between city and postcode ("Springfield, IL 62704"). */
  regions?: Set<string>;
  /** A region written alone before the postcode ("Tokyo 100-8111"): the city is the line before. */
  regionName?: RegExp;
  normalise?: (postcode: string) => string;
}

const US_STATES = new Set(
  (
    "AL AK AZ AR CA CO CT DE FL GA HI ID IL IN IA KS KY LA ME MD MA MI MN MS MO MT NE NV NH NJ NM NY NC ND OH " +
    "OK OR PA RI SC SD TN TX UT VT VA WA WV WI WY DC PR GU VI AS MP AA AE AP"
  ).split(" "),
);
const CA_PROVINCES = new Set("AB BC MB NB NL NS NT NU ON PE QC SK YT".split(" "));
const AU_STATES = new Set("NSW VIC QLD WA SA TAS ACT NT".split(" "));

const spacedBefore = (last: number) => (value: string) => {
  const compact = value.toUpperCase().replace(/\s+/g, "");
  return `${compact.slice(0, -last)} ${compact.slice(-last)}`;
};

const RULES: Record<string, CountryRule> = {
  US: { postcode: /\d{5}(?:-\d{4})?/, postcodeFirst: false, regions: US_STATES },
  CA: {
    postcode: /[ABCEGHJ-NPRSTVXY]\d[ABCEGHJ-NPRSTV-Z] ?\d[ABCEGHJ-NPRSTV-Z]\d/i,
    postcodeFirst: false,
    regions: CA_PROVINCES,
    normalise: spacedBefore(3),
  },
  AU: { postcode: /\d{4}/, postcodeFirst: false, regions: AU_STATES },
  GB: {
    postcode: /GIR ?0AA|[A-Z]{1,2}\d[A-Z\d]? ?\d[A-Z]{2}/i,
    postcodeFirst: false,
    normalise: spacedBefore(3),
  },
  IE: {
    postcode: /(?:[AC-FHKNPRTV-Y]\d{2}|D6W)(?: ?[\dAC-FHKNPRTV-Y]{4})?/i,
    postcodeFirst: false,
    normalise: (value) => spacedBefore(4)(value).trim(),
  },
  JP: {
    postcode: /〒?\s?\d{3}-?\d{4}/,
    postcodeFirst: false,
    regionName: /^(?:tokyo|osaka|kyoto|hokkaido|.+-(?:ken|fu|to)|.+ prefecture|.+[都道府県])$/i,
    normalise: (value) => value.replace(/[〒\s-]/g, "").replace(/^(\d{3})/, "$1-"),
  },
  DE: { postcode: /\d{5}/, postcodeFirst: true },
  FR: { postcode: /\d{2} ?\d{3}/, postcodeFirst: true, normalise: (value) => value.replace(/\s/g, "") },
  ES: { postcode: /\d{5}/, postcodeFirst: true },
  IT: { postcode: /\d{5}/, postcodeFirst: true },
  NL: { postcode: /\d{4} ?[A-Z]{2}/i, postcodeFirst: true, normalise: spacedBefore(2) },
  BE: { postcode: /\d{4}/, postcodeFirst: true },
  AT: { postcode: /\d{4}/, postcodeFirst: true },
  CH: { postcode: /\d{4}/, postcodeFirst: true },
  DK: { postcode: /\d{4}/, postcodeFirst: true },
  NO: { postcode: /\d{4}/, postcodeFirst: true },
  SE: { postcode: /\d{3} ?\d{2}/, postcodeFirst: true, normalise: spacedBefore(2) },
  PL: { postcode: /\d{2}-\d{3}/, postcodeFirst: true },
  PT: { postcode: /\d{4}-\d{3}/, postcodeFirst: true },
};

/** Country guesses from the locality line when no country is given, most specific first. */
const GUESSES: Array<[string, RegExp]> = [
  ["US", /\b([A-Z]{2})\s+\d{5}(?:-\d{4})?$/],
  ["CA", /\b([A-Z]{2})\s+[A-Z]\d[A-Z] ?\d[A-Z]\d$/i],
  ["JP", /〒|\d{3}-\d{4}$/],
  ["NL", /^\d{4} ?[A-Z]{2}\s+\p{L}/u],
  ["GB", /(^|\s)[A-Z]{1,2}\d[A-Z\d]? ?\d[A-Z]{2}$/],
];

// A unit is a keyword then an identifier with a digit or of one or two letters ("Apt 4B", "Suite 300",
// "Flat B", "#12"): "12 Apple Road" and "Floor Street" are streets, not units.
const UNIT_SOURCE =
  "(?:(?:apt|apartment|suite|ste|unit|flat|floor|fl|room|rm|wohnung|whg|app|appt|bureau|étage|etage)\\.?(?:\\s+|\\s*#\\s*)|#\\s*)(?:[a-z-]*\\d[\\w-]*|[a-z]{1,2})";
const UNIT = new RegExp(`^${UNIT_SOURCE}$`, "i");
const TRAILING_UNIT = new RegExp(`[\\s,]+(${UNIT_SOURCE})$`, "i");

/**
 * Parse an address written on one line (comma-separated) or several. `country` (name or code) is
 * used when the text does not end with a country; otherwise the country is guessed from the postcode
 * shape (US ZIP with a state code, Canadian, Dutch, Japanese, British postcodes) and flagged.
 */
export function parseAddress(text: string, country?: string): Address {
  const reasons: string[] = [];
  if (typeof text === "string" && text.length > 2000)
    throw new MappingError(`address text is ${text.length} characters long: not an address`, {
      code: "JUNCTION_MAPPING_ADDRESS",
    });
  const segments = String(text ?? "")
    .split(/\n|,/)
    .map((segment) => segment.replace(/\s+/g, " ").trim())
    .filter((segment) => segment !== "");
  const address: Address = {};
  const last = segments[segments.length - 1];
  const named = segments.length > 1 && last !== undefined ? normaliseCountry(last) : undefined;
  if (named) {
    address.country = named;
    segments.pop();
  } else if (country !== undefined && country !== null && country !== "") {
    address.country = normaliseCountry(country);
    if (!address.country) reasons.push(`unknown country "${country}"`);
  } else {
    const lines = segments.slice(-2);
    const guess = GUESSES.find(([code, pattern]) =>
      lines.some(
        (line) => pattern.test(line) && (code !== "US" || US_STATES.has(pattern.exec(line)?.[1] ?? "")),
      ),
    );
    if (guess) {
      address.country = guess[0];
      reasons.push(`country guessed as ${guess[0]} from the postcode`);
    } else reasons.push("country not given and not recognisable");
  }
  const rule = address.country ? RULES[address.country] : undefined;
  if (address.country && !rule) reasons.push(`no postcode rule for ${address.country}: locality not split`);

  let localityIndex = -1;
  if (rule) {
    for (let index = segments.length - 1; index >= 0 && localityIndex < 0; index--) {
      localityIndex = placeLocality(segments, index, rule, address);
    }
    if (localityIndex < 0) reasons.push("no postcode found");
  }
  const before = localityIndex < 0 ? segments.length : localityIndex;
  const rest = segments.slice(0, before);
  const after = localityIndex < 0 ? [] : segments.slice(localityIndex + 1);
  // The street is the first line that is not a unit ("Flat 3, 12 High Street").
  const unparsed: string[] = [];
  const extra: string[] = [];
  for (const segment of rest) {
    if (UNIT.test(segment) && !address.unit) address.unit = segment;
    else if (!address.street) {
      const unit = TRAILING_UNIT.exec(segment);
      if (unit && !address.unit) {
        address.unit = unit[1];
        address.street = segment.slice(0, unit.index).trim();
      } else address.street = segment;
    } else if (localityIndex < 0 || !address.city) unparsed.push(segment);
    else extra.push(segment);
  }
  unparsed.push(...after);
  if (extra.length) address.extra = extra;
  if (unparsed.length) {
    address.unparsed = unparsed;
    reasons.push(`could not place: ${unparsed.join(" | ")}`);
  }
  if (!address.city && rule) reasons.push("no city found");
  if (!address.street) reasons.push("no street found");
  address.ambiguous = reasons.length > 0;
  if (reasons.length) address.reasons = reasons;
  return address;
}

/**
 * Find the postcode (and region, city) in `segments[index]`; the city may be the segment before, which
 * is then merged. Returns the index of the locality segment, or -1.
 */
function placeLocality(segments: string[], index: number, rule: CountryRule, address: Address): number {
  const segment = segments[index];
  const source = rule.postcode.source;
  const flags = rule.postcode.flags;
  const match = rule.postcodeFirst
    ? new RegExp(`^(?:[A-Z]{1,2}-)?(${source})(?:\\s+(.+))?$`, flags).exec(segment)
    : new RegExp(`^(?:(.*?)\\s+)?(${source})$`, flags).exec(segment);
  if (!match) return -1;
  const postcode = rule.postcodeFirst ? match[1] : match[2];
  let locality = (rule.postcodeFirst ? match[2] : match[1])?.trim() ?? "";
  address.postalCode = rule.normalise ? rule.normalise(postcode) : postcode;
  if (rule.regions) {
    const region = /(?:^|\s)([A-Za-z]{2,3})$/.exec(locality);
    if (region && rule.regions.has(region[1].toUpperCase())) {
      address.region = region[1].toUpperCase();
      locality = locality.slice(0, region.index).trim();
    }
  }
  if (locality && rule.regionName?.test(locality)) {
    address.region = locality;
    locality = "";
  }
  if (locality) address.city = locality;
  else if (index > 1 || (index === 1 && !/\d/.test(segments[0]))) {
    // "London, SW1A 2AA", "Springfield, IL 62704", "Dublin 2, D02 X285": the city is the previous
    // segment, unless that is the only other one and looks like a street (it has a number).
    address.city = segments[index - 1];
    segments.splice(index - 1, 1);
    return index - 1;
  }
  return index;
}

export interface FormatAddressOptions {
  /** The sender's country: the country line is left out for domestic mail. */
  from?: string;
  /** Line separator; "\n" by default. */
  separator?: string;
}

/** Format an address in the order its country uses, the country name last in capitals. */
export function formatAddress(address: Address, options: FormatAddressOptions = {}): string {
  const country = address.country ? (normaliseCountry(address.country) ?? address.country) : undefined;
  const rule = country ? RULES[country] : undefined;
  const lines: string[] = [];
  const usStyle = country === "US" || country === "CA" || country === "AU";
  // US-style addresses put the unit after the street on one line; elsewhere it is a line before.
  if (!usStyle && address.unit) lines.push(address.unit);
  if (address.street)
    lines.push(usStyle && address.unit ? `${address.street} ${address.unit}` : address.street);
  else if (usStyle && address.unit) lines.push(address.unit);
  lines.push(...(address.extra ?? []));
  const city = address.city ?? "";
  const postal = address.postalCode ?? "";
  const region = address.region ?? "";
  if (usStyle || country === "JP") {
    const tail = [region, postal].filter(Boolean).join(" ");
    lines.push([city, tail].filter(Boolean).join(", "));
  } else if (country === "GB" || country === "IE") {
    lines.push(city, region);
    lines.push(postal);
  } else if (rule?.postcodeFirst) {
    lines.push([postal, city].filter(Boolean).join(" "));
    if (region) lines.push(region);
  } else {
    lines.push([city, region, postal].filter(Boolean).join(" "));
  }
  const from = options.from ? normaliseCountry(options.from) : undefined;
  if (country && country !== from) lines.push((countryName(country) ?? country).toUpperCase());
  return lines.filter((line) => line.trim() !== "").join(options.separator ?? "\n");
}
