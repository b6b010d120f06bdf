/**
 * Field names to concepts for map-suggest: words split on case and separators, then synonyms
 * (zip ~ postalCode, surname ~ familyName, qty ~ quantity), then a weighted overlap score.
 */

/** Whole names (separators removed) that stand for a concept. */
const WHOLE: Record<string, string> = {
  emailaddress: "email",
  mail: "email",
  zip: "postalcode",
  zipcode: "postalcode",
  postcode: "postalcode",
  postal: "postalcode",
  plz: "postalcode",
  firstname: "givenname",
  forename: "givenname",
  lastname: "familyname",
  surname: "familyname",
  fullname: "fullname",
  displayname: "fullname",
  contactname: "fullname",
  personname: "fullname",
  phonenumber: "phone",
  mobilenumber: "phone",
  streetaddress: "street",
  addressline1: "street",
  address1: "street",
  addr1: "street",
  line1: "street",
  addressline2: "line2",
  address2: "line2",
  dateofbirth: "birthdate",
  lifecyclestage: "status",
  optin: "consent",
  countrycode: "country",
  stateorprovince: "region",
  shipto: "address",
  lineitems: "lineitem",
  orderlines: "lineitem",
};
const CONCEPTS = new Set(Object.values(WHOLE));

/** Single words that stand for a concept. */
const WORDS: Record<string, string> = {
  qty: "quantity",
  tel: "phone",
  telephone: "phone",
  mobile: "phone",
  cell: "phone",
  mail: "email",
  email: "email",
  org: "company",
  organisation: "company",
  organization: "company",
  employer: "company",
  business: "company",
  customer: "party",
  client: "party",
  contact: "party",
  account: "party",
  id: "id",
  number: "id",
  no: "id",
  nr: "id",
  identifier: "id",
  ref: "id",
  reference: "id",
  state: "region",
  province: "region",
  county: "region",
  prefecture: "region",
  town: "city",
  locality: "city",
  street: "street",
  created: "created",
  since: "created",
  registered: "created",
  joined: "created",
  signup: "created",
  dob: "birthdate",
  birthday: "birthdate",
  stage: "status",
  lifecycle: "status",
  consent: "consent",
  subscribed: "consent",
  turnover: "revenue",
  amt: "amount",
  total: "amount",
  desc: "description",
  addr: "address",
  zip: "postalcode",
  postcode: "postalcode",
  surname: "familyname",
  forename: "givenname",
  item: "lineitem",
  items: "lineitem",
  line: "lineitem",
  lines: "lineitem",
  positions: "lineitem",
};

/** Words that say little on their own. */
const WEAK = new Set([
  "name",
  "code",
  "value",
  "text",
  "data",
  "info",
  "field",
  "address",
  "type",
  "details",
]);

function words(name: string): string[] {
  const raw = name
    .replace(/([a-z\d])([A-Z])/g, "$1 $2")
    .replace(/([A-Z]+)([A-Z][a-z])/g, "$1 $2")
    .toLowerCase()
    .split(/[^a-z0-9]+/)
    .filter(Boolean);
  // "address_line_1": a lone digit belongs to the word before it.
  const merged: string[] = [];
  for (const word of raw) {
    if (/^\d+$/.test(word) && merged.length) merged[merged.length - 1] += word;
    else merged.push(word);
  }
  return merged;
}

/** The concepts a field name stands for, after synonyms. */
export function concepts(name: string): string[] {
  const list = words(name);
  const joined = list.join("");
  const whole = WHOLE[joined] ?? (CONCEPTS.has(joined) ? joined : undefined);
  if (whole) return [whole];
  const out: string[] = [];
  for (let index = 0; index < list.length; index++) {
    const pair = index + 1 < list.length ? WHOLE[list[index] + list[index + 1]] : undefined;
    if (pair) {
      out.push(pair);
      index++;
    } else
      out.push(WHOLE[list[index]] ?? WORDS[list[index]] ?? list[index].replace(/(?<=[a-z]{3}[^su])s$/, ""));
  }
  return out;
}

const weight = (concept: string) =>
  WEAK.has(concept) ? 0.3 : concept === "id" || concept === "party" ? 0.6 : 1;
const sum = (list: string[]) => list.reduce((total, concept) => total + weight(concept), 0);

/** 0..1 for how well two field names agree, with the reason. */
export function nameScore(target: string[], source: string[]): { score: number; reason: string } {
  const targetName = target[target.length - 1];
  const sourceName = source[source.length - 1];
  if (words(targetName).join("") === words(sourceName).join("")) return { score: 1, reason: "same name" };
  const t = [...new Set(concepts(targetName))];
  const s = [...new Set(concepts(sourceName))];
  const common = t.filter((concept) => s.includes(concept));
  let score = 0;
  let reason = "";
  if (common.length === t.length && common.length === s.length && common.length > 0) {
    score = 0.9;
    reason = `synonyms (${sourceName} ~ ${targetName})`;
  } else if (common.length > 0) {
    const union = [...new Set([...t, ...s])];
    const jaccard = sum(common) / sum(union);
    const containment = sum(common) / Math.min(sum(t), sum(s));
    const strong = common.some((concept) => weight(concept) >= 0.6);
    score = Math.max(0.8 * jaccard, strong ? 0.65 * containment : 0);
    reason = `names share ${common.join(", ")}`;
  }
  // Context: billingAddress.city ~ mailing_address.city more than ~ company.city.
  const targetContext = target.slice(0, -1).flatMap(concepts);
  const sourceContext = source.slice(0, -1).flatMap(concepts);
  const related =
    (targetContext.length === 0 && sourceContext.length === 0) ||
    sourceContext.some((concept) => targetContext.includes(concept));
  if (!related) score *= 0.95;
  return { score, reason };
}
