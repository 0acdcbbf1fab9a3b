// The planner page's length warnings, from the cases the server is tested on too
// (tests/vector_warning_cases.json, run by tests/treatments/test_vector_warning_cases.py).
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";

import { summarise, vectorWarning } from "../../static/js/planner-model.js";

const CASES = JSON.parse(readFileSync(new URL("../vector_warning_cases.json", import.meta.url)));
const PRODUCT_ID = 7;

// The vector and its product as the page has them (treatments.views.plans sends both).
function pageVector(item) {
  const fixed = { product: PRODUCT_ID, count: 1, depth: "subcutaneous", notes: "" };
  return Object.assign(fixed, item.vector);
}

function pageProduct(item) {
  const fixed = { id: PRODUCT_ID, unit_price: "40.00", on_hand: 20, colour: 0 };
  return Object.assign(fixed, item.product);
}

for (const item of CASES.cases) {
  test(item.name, function () {
    const summary = summarise([pageVector(item)], {
      products: { [PRODUCT_ID]: pageProduct(item) },
      labels: { area: CASES.area_labels, side: {}, depth: {}, view: {} },
      mmPerUnit: item.mm_per_unit,
      shortShare: CASES.short_share,
      location: "the clinic",
    });
    // The summary numbers the vector; the server's line is the rest of it.
    assert.deepEqual(summary.warnings, item.warning ? ["Vector 1, " + item.warning] : []);
    const alone = vectorWarning(
      pageVector(item),
      pageProduct(item),
      item.mm_per_unit,
      CASES.short_share
    );
    assert.equal(alone, item.warning ? item.warning.slice(item.warning.indexOf(": ") + 2) : "");
    assert.equal(summary.vectorWarnings[0], alone);
  });
}
