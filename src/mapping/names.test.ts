import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { joinName, type NameParts, splitName } from "./names.js";

type Expected = Partial<Omit<NameParts, "reasons">>;

const CASES: Array<[string, Expected, Parameters<typeof splitName>[1]?]> = [
  ["Ada Lovelace", { given: "Ada", family: "Lovelace", ambiguous: false }],
  ["  Ada   Lovelace ", { given: "Ada", family: "Lovelace", ambiguous: false }],
  ["John F. Kennedy", { given: "John", middle: "F.", family: "Kennedy", ambiguous: false }],
  ["Dr. Ada Lovelace", { title: "Dr.", given: "Ada", family: "Lovelace", ambiguous: false }],
  ["Mme Marie Curie", { title: "Mme", given: "Marie", family: "Curie", ambiguous: false }],
  ["Mr John Smith", { title: "Mr", given: "John", family: "Smith", ambiguous: false }],
  ["Jane Doe PhD", { given: "Jane", family: "Doe", suffix: "PhD", ambiguous: false }],
  ["Henry Ford III", { given: "Henry", family: "Ford", suffix: "III", ambiguous: false }],
  ["Sammy Davis, Jr.", { given: "Sammy", family: "Davis", suffix: "Jr.", ambiguous: false }],
  ["Smith, John", { given: "John", family: "Smith", ambiguous: false }],
  [
    "King, Martin Luther, Jr.",
    { given: "Martin", middle: "Luther", family: "King", suffix: "Jr.", ambiguous: false },
  ],
  ["van Beethoven, Ludwig", { given: "Ludwig", family: "van Beethoven", particle: "van", ambiguous: false }],
  ["Ludwig van Beethoven", { given: "Ludwig", family: "van Beethoven", particle: "van", ambiguous: false }],
  ["Johannes van der Waals", { given: "Johannes", family: "van der Waals", particle: "van der" }],
  ["Maria de la Cruz", { given: "Maria", family: "de la Cruz", particle: "de la", ambiguous: false }],
  ["Ursula von der Leyen", { given: "Ursula", family: "von der Leyen", particle: "von der" }],
  ["Vincent Van Gogh", { given: "Vincent", family: "Van Gogh", particle: "Van", ambiguous: false }],
  ["Van Morrison", { given: "Van", family: "Morrison", ambiguous: false }],
  ["Khalid al-Rashid", { given: "Khalid", family: "al-Rashid", particle: "al", ambiguous: false }],
  ["Mohamed bin Rashid", { given: "Mohamed", family: "bin Rashid", particle: "bin", ambiguous: true }],
  ["Mary Smith-Jones", { given: "Mary", family: "Smith-Jones", ambiguous: false }],
  ["Jean-Luc Picard", { given: "Jean-Luc", family: "Picard", ambiguous: false }],
  // Spanish double surname or middle name: a guess either way, unless told.
  ["Gabriel García Márquez", { given: "Gabriel", middle: "García", family: "Márquez", ambiguous: true }],
  [
    "Gabriel García Márquez",
    { given: "Gabriel", family: "García Márquez", ambiguous: false },
    { familyWords: 2 },
  ],
  ["Martin Luther King", { given: "Martin", middle: "Luther", family: "King", ambiguous: true }],
  // East Asian order only when signalled: by the script, or by the caller.
  ["山田 太郎", { family: "山田", given: "太郎", familyFirst: true, ambiguous: false }],
  ["山田太郎", { given: "山田太郎", ambiguous: true }],
  ["Tanaka Hiroshi", { given: "Tanaka", family: "Hiroshi", ambiguous: false }],
  ["Tanaka Hiroshi", { family: "Tanaka", given: "Hiroshi", ambiguous: false }, { order: "family-first" }],
  ["Madonna", { given: "Madonna", ambiguous: true }],
  ["", { ambiguous: true }],
];

test("splitName: titles, suffixes, particles, comma form, compound and East Asian names", () => {
  for (const [input, expected, options] of CASES) {
    const parts = splitName(input, options);
    for (const [key, value] of Object.entries(expected))
      assert.deepEqual(parts[key as keyof NameParts], value, `${JSON.stringify(input)}: ${key}`);
    assert.equal(parts.ambiguous, parts.reasons.length > 0, `${input}: ambiguous iff a reason is given`);
  }
});

test("splitName gives a reason for every guess", () => {
  assert.match(splitName("Gabriel García Márquez").reasons[0], /compound family name/);
  assert.match(splitName("Madonna").reasons[0], /single-word/);
  assert.match(splitName("Mohamed bin Rashid").reasons[0], /patronymic/);
  assert.match(splitName("山田太郎").reasons[0], /CJK/);
});

test("joinName: display order, family first when flagged, blanks skipped", () => {
  assert.equal(joinName({ given: "Ada", family: "Lovelace" }), "Ada Lovelace");
  assert.equal(
    joinName({ title: "Dr.", given: "Martin", middle: "Luther", family: "King", suffix: "Jr." }),
    "Dr. Martin Luther King Jr.",
  );
  assert.equal(joinName({ given: "太郎", family: "山田", familyFirst: true }), "山田 太郎");
  assert.equal(joinName({ given: " ", family: "Cher" }), "Cher");
});

const RESERVED = /^(miss|lady|lord|dame|prof|revd|herr|frau|srta|dott|binti|bint|della|degli|professor)$/i;
const word = fc.stringMatching(/^[A-Z][a-z]{3,9}$/).filter((w) => !RESERVED.test(w));

test("joinName then splitName gives the parts back for unambiguous names (property)", () => {
  fc.assert(
    fc.property(
      fc.record({
        title: fc.option(fc.constantFrom("Dr.", "Mr", "Mrs", "Ms", "Prof.", "Mme"), { nil: undefined }),
        given: word,
        particle: fc.option(fc.constantFrom("van", "van der", "de la", "von", "di", "da"), {
          nil: undefined,
        }),
        family: fc.oneof(
          word,
          fc.tuple(word, word).map(([a, b]) => `${a}-${b}`),
        ),
        suffix: fc.option(fc.constantFrom("Jr.", "Sr.", "III", "PhD"), { nil: undefined }),
      }),
      (input) => {
        const family = input.particle ? `${input.particle} ${input.family}` : input.family;
        const parts = splitName(joinName({ ...input, family }));
        assert.equal(parts.ambiguous, false, parts.reasons.join("; "));
        assert.equal(parts.title, input.title);
        assert.equal(parts.given, input.given);
        assert.equal(parts.family, family);
        assert.equal(parts.particle, input.particle);
        assert.equal(parts.suffix, input.suffix);
      },
    ),
    { numRuns: 500 },
  );
});
