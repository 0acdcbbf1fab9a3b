// The summary beside the diagram: threads per area, side and product, the estimated cost, and
// the warnings (lengths a product cannot reach or that waste most of the thread, and stock
// the location cannot cover). The diagram and the table read the lengths and warnings from it.
import * as M from "../planner-model.js";
import { fillList } from "./dom.js";

export function createSummaryPanel(planner) {
  const root = planner.root;
  const data = planner.data;

  function fill(selector, items, empty) {
    const list = root.querySelector(selector);
    if (list) {
      fillList(list, items, empty);
    }
  }

  function render() {
    const summary = M.summarise(planner.model.vectors, {
      products: planner.products,
      labels: planner.labels,
      mmPerUnit: data.plan.mm_per_unit,
      shortShare: data.short_share,
      location: data.plan.location,
    });
    planner.summary = summary;
    root.querySelector("[data-summary-total]").textContent = String(summary.total);
    root.querySelector("[data-summary-total-word]").textContent =
      summary.total === 1 ? "thread" : "threads";
    root.querySelector("[data-summary-cost]").textContent = M.formatMoney(
      summary.cost,
      data.currency
    );
    fill("[data-summary-area]", summary.byArea);
    fill("[data-summary-side]", summary.bySide);
    fill("[data-summary-product]", summary.byProduct);
    fill("[data-summary-warnings]", summary.warnings.concat(summary.stockWarnings), "None.");
  }

  return { render: render };
}
