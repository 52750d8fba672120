import { describe, expect, it } from "vitest";
import { contrast, DARK, LIGHT, SERIES_TOKENS, TEXT_TOKENS } from "../../src/dashboard/palette.js";

// WCAG 2.1 AA: 4.5:1 for text, 3:1 for graphics (chart lines, points and legend marks).
describe("dashboard palette", () => {
  for (const [scheme, palette] of [
    ["light", LIGHT],
    ["dark", DARK],
  ] as const) {
    it(`${scheme}: text keeps 4.5:1 on the page and on cards, series 3:1`, () => {
      for (const token of TEXT_TOKENS) {
        for (const background of [palette.bg, palette.card]) {
          expect(contrast(palette[token], background), `${token} on ${background}`).toBeGreaterThanOrEqual(4.5);
        }
      }
      for (const token of SERIES_TOKENS) {
        expect(contrast(palette[token], palette.bg), token).toBeGreaterThanOrEqual(3);
      }
      // The pressed range button inverts fg and bg.
      expect(contrast(palette.bg, palette.fg)).toBeGreaterThanOrEqual(4.5);
    });
  }

  it("measures contrast as WCAG does", () => {
    expect(contrast("#000000", "#ffffff")).toBeCloseTo(21, 5);
    expect(contrast("#777777", "#ffffff")).toBeCloseTo(4.48, 2);
  });
});
