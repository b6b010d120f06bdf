import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { type DstPolicy, formatDate, parseDate, toTimeZone } from "./dates.js";

test("parseDate with explicit formats gives ISO 8601", () => {
  const cases: Array<[string, string, string | undefined, string]> = [
    ["31/12/2024", "DD/MM/YYYY", undefined, "2024-12-31"],
    ["12/31/2024", "MM/DD/YYYY", "America/New_York", "2024-12-31"],
    ["2024-12-31", "YYYY-MM-DD", "Pacific/Kiritimati", "2024-12-31"], // a date is never shifted
    ["5 Mar 2024 14:05", "D MMM YYYY HH:mm", "Europe/Paris", "2024-03-05T14:05:00+01:00"],
    ["5 March 2024 2:05 pm", "D MMMM YYYY h:mm a", "Europe/Paris", "2024-03-05T14:05:00+01:00"],
    ["12:00 AM 01.07.24", "hh:mm A DD.MM.YY", "UTC", "2024-07-01T00:00:00Z"],
    ["01.07.69", "DD.MM.YY", undefined, "2069-07-01"],
    ["01.07.70", "DD.MM.YY", undefined, "1970-07-01"],
    ["20240701T120000", "YYYYMMDD[T]HHmmss", "Asia/Tokyo", "2024-07-01T12:00:00+09:00"],
    ["2024-07-01 12:00:00.250", "YYYY-MM-DD HH:mm:ss.SSS", undefined, "2024-07-01T12:00:00.250Z"],
    ["2024-07-01T12:00:00+0200", "YYYY-MM-DD[T]HH:mm:ssZ", undefined, "2024-07-01T12:00:00+02:00"],
    ["2024-07-01T12:00:00+02:00", "YYYY-MM-DD[T]HH:mm:ssZ", "UTC", "2024-07-01T10:00:00Z"],
    ["29/02/2024", "DD/MM/YYYY", undefined, "2024-02-29"],
  ];
  for (const [text, format, zone, expected] of cases)
    assert.equal(parseDate(text, format, zone), expected, `${text} ${format}`);
});

test("parseDate rejects what is not a date, naming it", () => {
  assert.throws(() => parseDate("29/02/2023", "DD/MM/YYYY"), /"29\/02\/2023" is not a calendar date/);
  assert.throws(() => parseDate("2024-13-01", "YYYY-MM-DD"), /not a calendar date/);
  assert.throws(() => parseDate("2024/07/01", "YYYY-MM-DD"), /does not match the date format "YYYY-MM-DD"/);
  assert.throws(() => parseDate("13:00 PM", "hh:mm A"), /not a 12-hour clock hour/);
  assert.throws(() => parseDate("1 Foo 2024", "D MMM YYYY"), /not an English month name/);
  assert.throws(() => parseDate("2024-07-01 10:00", "YYYY-MM-DD HH:mm", "Mars/Olympus"), /unknown time zone/);
});

test("DST gaps and overlaps follow the policy: compatible (default), earlier, later, reject", () => {
  // New York springs forward at 02:00 on 2024-03-10 (02:30 does not exist) and falls back at 02:00 on
  // 2024-11-03 (01:30 happens twice).
  const gap = "2024-03-10 02:30";
  const overlap = "2024-11-03 01:30";
  const zone = "America/New_York";
  const expected: Record<DstPolicy, [string, string]> = {
    compatible: ["2024-03-10T03:30:00-04:00", "2024-11-03T01:30:00-04:00"],
    earlier: ["2024-03-10T01:30:00-05:00", "2024-11-03T01:30:00-04:00"],
    later: ["2024-03-10T03:30:00-04:00", "2024-11-03T01:30:00-05:00"],
    reject: ["", ""],
  };
  for (const [policy, [gapResult, overlapResult]] of Object.entries(expected) as Array<
    [DstPolicy, [string, string]]
  >) {
    if (policy === "reject") {
      assert.throws(() => parseDate(gap, "YYYY-MM-DD HH:mm", zone, { dst: policy }), /does not exist/);
      assert.throws(() => parseDate(overlap, "YYYY-MM-DD HH:mm", zone, { dst: policy }), /ambiguous/);
    } else {
      assert.equal(parseDate(gap, "YYYY-MM-DD HH:mm", zone, { dst: policy }), gapResult, `${policy} gap`);
      assert.equal(parseDate(overlap, "YYYY-MM-DD HH:mm", zone, { dst: policy }), overlapResult, policy);
    }
  }
  // Southern hemisphere and a half-hour zone.
  assert.equal(
    parseDate("2024-10-06 02:30", "YYYY-MM-DD HH:mm", "Australia/Sydney"),
    "2024-10-06T03:30:00+11:00",
  );
  assert.equal(
    parseDate("2024-04-07 02:30", "YYYY-MM-DD HH:mm", "Australia/Adelaide", { dst: "later" }),
    "2024-04-07T02:30:00+09:30",
  );
});

test("toTimeZone converts instants, keeps dates, and refuses to guess a missing offset", () => {
  assert.equal(toTimeZone("2024-07-01T12:00:00Z", "Europe/Paris"), "2024-07-01T14:00:00+02:00");
  assert.equal(toTimeZone("2024-01-01T12:00:00Z", "Europe/Paris"), "2024-01-01T13:00:00+01:00");
  assert.equal(toTimeZone("2024-07-01T23:30:00-07:00", "Asia/Kolkata"), "2024-07-02T12:00:00+05:30");
  assert.equal(toTimeZone("2024-07-01T12:00:00.123+05:30", "UTC"), "2024-07-01T06:30:00.123Z");
  assert.equal(toTimeZone("2024-07-01", "Pacific/Kiritimati"), "2024-07-01");
  assert.equal(toTimeZone("2024-07-01T12:00:00", "Asia/Tokyo", "Europe/London"), "2024-07-01T20:00:00+09:00");
  assert.throws(() => toTimeZone("2024-07-01T12:00:00", "Asia/Tokyo"), /has no offset/);
  assert.throws(() => toTimeZone("yesterday", "UTC"), /not an ISO 8601/);
  assert.throws(() => toTimeZone("2024-02-30", "UTC"), /not a calendar date/);
});

const ZONES = [
  "UTC",
  "Europe/Paris",
  "America/New_York",
  "America/St_Johns",
  "Asia/Kolkata",
  "Asia/Kathmandu",
  "Australia/Lord_Howe",
  "Pacific/Chatham",
  "America/Sao_Paulo",
];

test("instants survive any zone, and a zone's wall time reads back to the same instant (property)", () => {
  fc.assert(
    fc.property(
      fc.integer({ min: Date.UTC(1971, 0, 1) / 1000, max: Date.UTC(2037, 11, 31) / 1000 }),
      fc.constantFrom(...ZONES),
      (seconds, zone) => {
        const utc = new Date(seconds * 1000).toISOString().replace(".000Z", "Z");
        const local = toTimeZone(utc, zone);
        assert.equal(toTimeZone(local, "UTC"), utc);
        // The wall time without its offset: in an overlap only one policy finds the same instant.
        const wall = local.slice(0, 19);
        const readings = (["earlier", "later"] as const).map((dst) =>
          toTimeZone(parseDate(wall, "YYYY-MM-DD[T]HH:mm:ss", zone, { dst }), "UTC"),
        );
        assert.ok(
          readings.includes(utc),
          `${utc} in ${zone} is ${local}; read back as ${readings.join(", ")}`,
        );
      },
    ),
    { numRuns: 1000 },
  );
});

test("formatDate writes ISO values with a format, in a zone when given", () => {
  assert.equal(formatDate("2024-07-01T12:00:00Z", "DD.MM.YYYY HH:mm", "Europe/Berlin"), "01.07.2024 14:00");
  assert.equal(formatDate("2024-07-01T00:05:00Z", "M/D/YY h:mm A", "UTC"), "7/1/24 12:05 AM");
  assert.equal(
    formatDate("2024-12-31T23:59:59.5-05:00", "D MMMM YYYY, h:mm:ss.SSS a Z"),
    "31 December 2024, 11:59:59.500 pm -05:00",
  );
  assert.equal(formatDate("2024-03-05", "D MMM YYYY"), "5 Mar 2024");
  assert.equal(formatDate("2024-03-05", "YYYYMMDD", "Asia/Tokyo"), "20240305"); // a date is not shifted
  assert.equal(
    formatDate("2024-07-01T12:00:00+02:00", "YYYY-MM-DD[T]HH:mm:ssZZ"),
    "2024-07-01T12:00:00+0200",
  );
  assert.throws(() => formatDate("2024-03-05", "HH:mm"), /is a date: it has no HH to write/);
  assert.throws(() => formatDate("2024-03-05T10:00:00", "HH:mm Z"), /has no offset to write/);
});

test("parseDate reads back what formatDate wrote (property)", () => {
  const formats = [
    "YYYY-MM-DD[T]HH:mm:ss.SSSZ",
    "DD.MM.YYYY HH:mm:ss ZZ",
    "D MMMM YYYY h:mm:ss.SSS A Z",
    "MMM D, YYYY hh:mm:ss a ZZ",
  ];
  fc.assert(
    fc.property(
      fc.integer({ min: Date.UTC(1971, 0, 1), max: Date.UTC(2037, 11, 31) }),
      fc.constantFrom(...ZONES),
      fc.constantFrom(...formats),
      (time, zone, format) => {
        const ms = format.includes("SSS") ? time : time - (time % 1000);
        const utc = new Date(ms).toISOString();
        const text = formatDate(utc, format, zone);
        assert.equal(
          toTimeZone(parseDate(text, format), "UTC"),
          utc.replace(".000Z", "Z"),
          `${text} (${format})`,
        );
      },
    ),
    { numRuns: 500 },
  );
});
