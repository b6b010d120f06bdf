/**
 * Country names and codes to ISO 3166-1 alpha-2, without a bundled list: the names come from the
 * ICU data in Node (Intl.DisplayNames) in several languages, plus common alpha-3 codes and aliases.
 */

/** Region codes ICU knows that are not countries (or are reserved), and deprecated ones. */
const NOT_COUNTRIES = new Set(["AC", "CP", "DG", "EA", "EU", "EZ", "IC", "QO", "TA", "UN", "XA", "XB", "ZZ"]);
const LOCALES = ["en", "de", "fr", "es", "it", "nl", "pt", "ja"];

const ALPHA3 =
  "USA:US GBR:GB DEU:DE FRA:FR NLD:NL BEL:BE LUX:LU CHE:CH AUT:AT ITA:IT ESP:ES PRT:PT IRL:IE DNK:DK " +
  "NOR:NO SWE:SE FIN:FI ISL:IS POL:PL CZE:CZ SVK:SK HUN:HU ROU:RO BGR:BG GRC:GR HRV:HR SVN:SI SRB:RS " +
  "UKR:UA RUS:RU TUR:TR EST:EE LVA:LV LTU:LT CAN:CA MEX:MX BRA:BR ARG:AR CHL:CL COL:CO PER:PE VEN:VE " +
  "URY:UY JPN:JP CHN:CN KOR:KR PRK:KP TWN:TW HKG:HK SGP:SG MYS:MY IDN:ID THA:TH VNM:VN PHL:PH IND:IN " +
  "PAK:PK BGD:BD AUS:AU NZL:NZ ZAF:ZA EGY:EG MAR:MA NGA:NG KEN:KE ISR:IL SAU:SA ARE:AE QAT:QA";
const ALIASES: Record<string, string> = {
  uk: "GB",
  greatbritain: "GB",
  england: "GB",
  scotland: "GB",
  wales: "GB",
  northernireland: "GB",
  unitedstatesofamerica: "US",
  america: "US",
  usa: "US",
  holland: "NL",
  thenetherlands: "NL",
  southkorea: "KR",
  republicofkorea: "KR",
  northkorea: "KP",
  czechrepublic: "CZ",
  ivorycoast: "CI",
  turkey: "TR",
  burma: "MM",
  swaziland: "SZ",
  macedonia: "MK",
  vatican: "VA",
  russianfederation: "RU",
};

let table: Map<string, string> | undefined;

function key(text: string): string {
  return text
    .normalize("NFD")
    .replace(/\p{M}/gu, "")
    .toLowerCase()
    .replace(/&/g, "and")
    .replace(/[^\p{L}\p{N}]/gu, "");
}

function countries(): Map<string, string> {
  if (table) return table;
  table = new Map();
  const codes: string[] = [];
  const english = new Intl.DisplayNames(["en"], { type: "region" });
  for (let a = 65; a < 91; a++)
    for (let b = 65; b < 91; b++) {
      const code = String.fromCharCode(a, b);
      if (NOT_COUNTRIES.has(code) || english.of(code) === code) continue;
      const canonical = /und-(\w\w)/.exec(Intl.getCanonicalLocales(`und-${code}`)[0])?.[1];
      if (canonical !== code) continue; // deprecated codes (ZR, UK...) resolve to the current one
      codes.push(code);
    }
  for (const locale of LOCALES)
    for (const style of ["long", "short"] as const) {
      const names = new Intl.DisplayNames([locale], { type: "region", style });
      for (const code of codes) {
        const name = key(names.of(code) ?? code);
        // Short forms such as "É.-U." would read as codes ("EU"); only English ones are kept.
        if (name.length > 3 || locale === "en" || !/^[a-z]+$/.test(name)) table.set(name, code);
      }
    }
  for (const code of codes) table.set(key(code), code);
  for (const pair of ALPHA3.split(" ")) {
    const [alpha3, alpha2] = pair.split(":");
    table.set(key(alpha3), alpha2);
  }
  for (const [alias, code] of Object.entries(ALIASES)) table.set(alias, code);
  return table;
}

/** "Deutschland", "germany", "DEU", "de" -> "DE"; undefined when not recognised. */
export function normaliseCountry(nameOrCode: string): string | undefined {
  if (typeof nameOrCode !== "string" || nameOrCode.trim() === "") return undefined;
  return countries().get(key(nameOrCode));
}

/** The English name of an ISO alpha-2 code ("DE" -> "Germany"). */
export function countryName(code: string, locale = "en"): string | undefined {
  const normal = normaliseCountry(code);
  return normal ? new Intl.DisplayNames([locale], { type: "region" }).of(normal) : undefined;
}
