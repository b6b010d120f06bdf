/**
 * Splitting and joining person names. Names do not have a universal structure, so the split is a
 * policy, not a truth: every guess is flagged `ambiguous: true` with the reasons, for a person or a
 * later step to decide. The policy is documented in docs/guides/mapping.md.
 */

export interface NameParts {
  title?: string;
  given?: string;
  middle?: string;
  /** The family name, with its particle when there is one ("van der Berg"). */
  family?: string;
  /** The particle that starts the family name ("van der", "de la", "bin"), also kept inside `family`. */
  particle?: string;
  suffix?: string;
  /** Family name first in `joinName`: set when the split saw East Asian order. */
  familyFirst?: boolean;
  ambiguous: boolean;
  reasons: string[];
}

export interface SplitNameOptions {
  /** "family-first" for East Asian order; the default "auto" uses it only for CJK script. */
  order?: "auto" | "given-first" | "family-first";
  /** How many trailing words form the family name when there is no particle (2 for "García Márquez"). */
  familyWords?: number;
}

const TITLES = new Set(
  "mr mrs ms miss mx dr prof professor sir dame lord lady rev revd fr hon mme mlle m herr frau sr sra srta dott ing".split(
    " ",
  ),
);
const SUFFIXES = new Set(
  "jr jnr sr snr ii iii iv phd md dds dvm esq mba cpa jd llm obe mbe cbe kc qc rn".split(" "),
);
const PARTICLES = new Set(
  "van von der den de del della dei degli di da das dos do du la le lo ter ten zu zur op bin binti bint ibn al el st ste".split(
    " ",
  ),
);
const PATRONYMIC = new Set(["bin", "binti", "bint", "ibn"]);
const CJK = /[\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af]/;

function bare(word: string): string {
  return word.toLowerCase().replace(/[.,]/g, "");
}

function isTitle(word: string): boolean {
  return TITLES.has(bare(word)) && word !== "M"; // a bare "M" is more often an initial than "Monsieur"
}
function isSuffix(word: string): boolean {
  return SUFFIXES.has(bare(word));
}
function isParticle(word: string): boolean {
  return PARTICLES.has(bare(word));
}
function isInitial(word: string): boolean {
  return /^\p{Lu}\.?$/u.test(word);
}

/** Split a full name into title, given, middle, family (with particle) and suffix. */
export function splitName(fullName: string, options: SplitNameOptions = {}): NameParts {
  const reasons: string[] = [];
  const parts: NameParts = { ambiguous: false, reasons };
  let text = String(fullName ?? "")
    .replace(/\s+/g, " ")
    .trim();
  if (text === "") {
    reasons.push("empty name");
    parts.ambiguous = true;
    return parts;
  }
  // "King, Martin Luther, Jr." and "Smith, John": the comma form puts the family name first.
  const commaParts = text.split(/\s*,\s*/).filter((part) => part !== "");
  const suffixes: string[] = [];
  while (commaParts.length > 1 && commaParts[commaParts.length - 1].split(" ").every(isSuffix)) {
    suffixes.unshift(commaParts.pop()!);
  }
  let words: string[];
  let commaFamily: string | undefined;
  if (commaParts.length === 2) {
    commaFamily = commaParts[0];
    words = commaParts[1].split(" ");
  } else {
    if (commaParts.length > 2) {
      reasons.push("more than one comma");
      parts.ambiguous = true;
    }
    text = commaParts.join(" ");
    words = text.split(" ");
  }
  while (words.length > 1 && isTitle(words[0])) parts.title = join(parts.title, words.shift()!);
  while (words.length > 1 && isSuffix(words[words.length - 1])) suffixes.unshift(words.pop()!);
  if (commaFamily && commaFamily.split(" ").length > 1) {
    const familyWords = commaFamily.split(" ");
    while (familyWords.length > 1 && isTitle(familyWords[0])) {
      parts.title = join(parts.title, familyWords.shift()!);
    }
    commaFamily = familyWords.join(" ");
  }
  if (suffixes.length > 0) parts.suffix = suffixes.join(" ");

  if (commaFamily !== undefined) {
    parts.family = commaFamily;
    const particle = leadingParticle(commaFamily.split(" "));
    if (particle) parts.particle = particle;
    assignGiven(parts, words);
    return finish(parts, reasons);
  }

  const familyFirst =
    options.order === "family-first" || ((options.order ?? "auto") === "auto" && CJK.test(text));
  if (words.length === 1) {
    if (CJK.test(words[0]) && words[0].length > 1) {
      reasons.push("CJK name without a space: family and given names cannot be told apart");
    } else reasons.push("single-word name: kept as the given name");
    parts.given = words[0];
    parts.ambiguous = true;
    return finish(parts, reasons);
  }
  if (familyFirst) {
    parts.familyFirst = true;
    parts.family = words[0];
    assignGiven(parts, words.slice(1));
    if (words.length > 2) {
      reasons.push("more than two words in family-first order");
      parts.ambiguous = true;
    }
    return finish(parts, reasons);
  }
  // A particle after the first word starts the family name: "Ludwig van Beethoven", "Maria de la Cruz".
  const start = words.findIndex((word, index) => index > 0 && index < words.length - 1 && isParticle(word));
  if (start > 0) {
    const familyWords = words.slice(start);
    parts.family = familyWords.join(" ");
    parts.particle = leadingParticle(familyWords);
    assignGiven(parts, words.slice(0, start));
    if (PATRONYMIC.has(bare(words[start]))) {
      reasons.push(`"${words[start]}" is patronymic: there may be no family name in the Western sense`);
      parts.ambiguous = true;
    }
    return finish(parts, reasons);
  }
  const familyWords = Math.min(Math.max(options.familyWords ?? 1, 1), words.length - 1);
  parts.family = words.slice(words.length - familyWords).join(" ");
  const particle = leadingParticle(parts.family.split(" "));
  if (particle) parts.particle = particle;
  const rest = words.slice(0, words.length - familyWords);
  assignGiven(parts, rest);
  if (options.familyWords === undefined && rest.length > 1 && !rest.slice(1).every(isInitial)) {
    reasons.push(
      `"${rest.slice(1).join(" ")}" may be a middle name or the first part of a compound family name (García Márquez)`,
    );
    parts.ambiguous = true;
  }
  return finish(parts, reasons);
}

function assignGiven(parts: NameParts, words: string[]): void {
  if (words.length === 0) return;
  parts.given = words[0];
  if (words.length > 1) parts.middle = words.slice(1).join(" ");
}

function leadingParticle(words: string[]): string | undefined {
  const hyphenated = /^(al|el)-/i.exec(words[0]);
  if (hyphenated) return hyphenated[1];
  const particles: string[] = [];
  for (const word of words.slice(0, -1)) {
    if (!isParticle(word)) break;
    particles.push(word);
  }
  return particles.length ? particles.join(" ") : undefined;
}

function finish(parts: NameParts, reasons: string[]): NameParts {
  parts.ambiguous = parts.ambiguous || reasons.length > 0;
  return parts;
}

function join(a: string | undefined, b: string): string {
  return a ? `${a} ${b}` : b;
}

export interface JoinNameInput {
  title?: string;
  given?: string;
  middle?: string;
  family?: string;
  suffix?: string;
  familyFirst?: boolean;
}

/**
 * Join name parts into a display name: "Dr. Ludwig van Beethoven Jr.", or family first when
 * `familyFirst` is set. Empty parts are skipped. The inverse of `splitName` for unambiguous names.
 */
export function joinName(parts: JoinNameInput, familyFirst = parts.familyFirst === true): string {
  const clean = (value: unknown) =>
    typeof value === "string" && value.trim() !== "" ? value.replace(/\s+/g, " ").trim() : undefined;
  const order = familyFirst
    ? [parts.title, parts.family, parts.given, parts.middle, parts.suffix]
    : [parts.title, parts.given, parts.middle, parts.family, parts.suffix];
  return order.map(clean).filter(Boolean).join(" ");
}
