// The planner's rules that need no page (static/js/planner-model.js), run by `node --test`.
import assert from "node:assert/strict";
import { describe, test } from "node:test";

import * as M from "../../static/js/planner-model.js";

const CHOICES = {
  area: ["midface", "jawline", "neck"],
  side: ["left", "right", "midline"],
  view: ["front", "profile"],
  depth: ["subdermal", "subcutaneous", "smas"],
  maxCount: 20,
};

function vector(fields) {
  return Object.assign(
    {
      area: "midface",
      side: "right",
      product: 1,
      count: 2,
      view: "front",
      entry: [0.3, 0.55],
      end: [0.2, 0.4],
      depth: "subcutaneous",
      notes: "",
    },
    fields
  );
}

describe("points and sides", function () {
  test("a point is kept inside the diagram to four decimals", function () {
    assert.deepEqual(M.point(0.123456, 0.98765), [0.1235, 0.9877]);
    assert.deepEqual(M.point(-0.2, 1.7), [0, 1]);
  });

  test("on the front view the diagram's left half is the patient's right", function () {
    assert.equal(M.guessSide([0.3, 0.5], [0.2, 0.4]), "right");
    assert.equal(M.guessSide([0.7, 0.5], [0.8, 0.4]), "left");
  });

  test("a vector along the centre line, or centred on it, is on the midline", function () {
    assert.equal(M.guessSide([0.5, 0.7], [0.51, 0.9]), "midline");
    assert.equal(M.guessSide([0.45, 0.8], [0.55, 0.8]), "midline");
    assert.equal(M.guessSide([0.4, 0.8], [0.56, 0.8]), "right");
  });
});

describe("mirroring", function () {
  test("a front vector's mirror is the line reflected onto the patient's other side", function () {
    const copy = M.mirrored(M.withUid(vector({ entry: [0.3, 0.55], end: [0.2125, 0.4] })));
    assert.equal(copy.side, "left");
    assert.deepEqual([copy.entry, copy.end], [[0.7, 0.55], [0.7875, 0.4]]);
  });

  test("a profile vector's mirror keeps its points: the drawing is either side", function () {
    const copy = M.mirrored(vector({ view: "profile", side: "left" }));
    assert.equal(copy.side, "right");
    assert.deepEqual([copy.entry, copy.end], [[0.3, 0.55], [0.2, 0.4]]);
  });

  test("a midline vector has no mirror", function () {
    assert.equal(M.mirrored(vector({ side: "midline" })), null);
  });

  test("a mirror is a new vector that a selection can tell from the original", function () {
    const original = M.withUid(vector());
    assert.notEqual(M.mirrored(original).uid, original.uid);
  });
});

describe("what is sent and compared", function () {
  test("the server gets a vector without its uid and with its notes trimmed", function () {
    const sent = M.payload(M.withUid(vector({ notes: "  two passes  " })));
    assert.equal("uid" in sent, false);
    assert.equal(sent.notes, "two passes");
  });

  test("two copies of a plan are the same whatever their uids and untrimmed notes", function () {
    const mine = [M.withUid(vector({ notes: "deep " }))];
    const theirs = [M.withUid(vector({ notes: "deep" }))];
    assert.equal(M.planKey(mine, "Plan"), M.planKey(theirs, "Plan"));
    assert.notEqual(M.planKey(mine, "Plan"), M.planKey(theirs, "Other notes"));
  });
});

describe("the summary", function () {
  const products = {
    1: { name: "Cog 90", unit_price: "40.50", reach_mm: 100, thread_length_mm: 90, on_hand: 3 },
    2: { name: "Mono 50", unit_price: "7", reach_mm: 60, thread_length_mm: 50, on_hand: 100 },
  };
  const options = {
    products: products,
    labels: {
      area: { midface: "Midface / cheek", jawline: "Jawline / jowl" },
      side: { right: "Right", left: "Left" },
    },
    mmPerUnit: 230,
    shortShare: 0.5,
    location: "Harley Street",
  };

  test("threads are counted per area, side and product in the order first met", function () {
    const summary = M.summarise(
      [
        vector({ count: 2, end: [0.1, 0.3] }),
        vector({
          area: "jawline",
          side: "left",
          product: 2,
          count: 3,
          entry: [0.6, 0.7],
          end: [0.75, 0.75],
        }),
        vector({ count: 1, side: "left", entry: [0.7, 0.55], end: [0.9, 0.3] }),
      ],
      options
    );
    assert.equal(summary.total, 6);
    assert.deepEqual(summary.byArea, [["Midface / cheek", 3], ["Jawline / jowl", 3]]);
    assert.deepEqual(summary.bySide, [["Right", 2], ["Left", 4]]);
    assert.deepEqual(summary.byProduct, [["Cog 90", 3], ["Mono 50", 3]]);
  });

  test("the cost is counted in cents, so prices add up exactly", function () {
    const summary = M.summarise(
      [
        vector({ count: 3, end: [0.1, 0.3] }),
        vector({ product: 2, count: 1, entry: [0.5, 0.5], end: [0.5, 0.62] }),
      ],
      options
    );
    assert.equal(summary.costText, "128.50");
    assert.equal(M.formatCents(705), "7.05");
  });

  test("a cost is written in the location's currency, as the server writes it", function () {
    assert.equal(M.formatMoney(12850, { code: "GBP", before: "£", after: "" }), "£128.50");
    assert.equal(M.formatMoney(123450005, { code: "USD", before: "$", after: "" }), "$1,234,500.05");
    assert.equal(M.formatMoney(1200, { code: "CHF", before: "", after: " CHF" }), "12.00 CHF");
    assert.equal(M.formatMoney(705), "7.05");
  });

  test("a product the location's stock cannot cover is named with what it has", function () {
    const summary = M.summarise([vector({ count: 4, end: [0.1, 0.3] })], options);
    assert.deepEqual(summary.stockWarnings, [
      "Stock: Cog 90 needs 4, Harley Street has 3 usable.",
    ]);
  });

  test("each vector's length and warning is kept in the plan's order", function () {
    const summary = M.summarise(
      [vector({ end: [0.1, 0.3] }), vector({ entry: [0.3, 0.55], end: [0.24, 0.42], count: 1 })],
      options
    );
    assert.equal(Math.round(summary.lengths[0]), 74);
    assert.deepEqual(summary.vectorWarnings, ["", "33 mm is much shorter than the 90 mm thread."]);
    assert.deepEqual(summary.warnings, [
      "Vector 2, Midface / cheek (right): 33 mm is much shorter than the 90 mm thread.",
    ]);
  });
});

describe("a save conflict", function () {
  test("says how many vectors and threads each side has and how many differ", function () {
    const mine = [vector(), vector({ count: 1, side: "left" })];
    const theirs = [vector()];
    assert.deepEqual(M.differences(mine, theirs, "notes", "notes"), [
      "The server has 1 vector (2 threads); you have 2 vectors (3 threads).",
      "1 of your vectors is not in the server's version.",
    ]);
  });

  test("says so when only the notes differ", function () {
    assert.deepEqual(M.differences([vector()], [vector()], "mine", "theirs"), [
      "The server has 1 vector (2 threads); you have 1 vector (2 threads).",
      "The vectors are the same.",
      "The plan notes differ.",
    ]);
  });
});

describe("vectors from a preset or a kept copy", function () {
  test("only vectors whose every field is one the planner saves are taken", function () {
    const taken = M.accept(
      [
        vector(),
        vector({ area: "forehead" }),
        vector({ count: 21 }),
        vector({ count: 1.5 }),
        vector({ entry: [0.2, 1.2] }),
        vector({ product: "1" }),
        null,
        "a vector",
      ],
      CHOICES
    );
    assert.equal(taken.length, 1);
    assert.equal(typeof taken[0].uid, "number");
  });

  test("anything but a list gives no vectors; notes are cut to 300 characters", function () {
    assert.deepEqual(M.accept({ vectors: [] }, CHOICES), []);
    assert.equal(M.accept([vector({ notes: "x".repeat(400) })], CHOICES)[0].notes.length, 300);
  });
});

describe("whole millimetres", function () {
  test("round as the server writes them, a half to the even neighbour", function () {
    const lengths = [0.5, 1.5, 2.5, 12.5, 13.5, 12.49, 12.51, 7];
    assert.deepEqual(lengths.map(M.wholeMm), [0, 2, 2, 12, 14, 12, 13, 7]);
  });
});
