// The planner's model: plain functions over the plan's vectors, no DOM, so Node tests it
// (tests/js/planner-model.test.mjs) as the browser runs it.
//
// A vector is what the save endpoint takes (treatments.services.clean_vectors):
//   {area, side, product (id), count, view, entry: [x, y], end: [x, y], depth, notes}
// with points on the square diagram, 0 to 1 from its top left corner. In the browser
// each vector also carries a `uid` (never sent) so a selection survives undo and redo.
//
// Sides: on the front view the patient faces the clinician, so the patient's right is the
// diagram's left (x < 0.5). The profile drawing shows the patient's right side (nose to the
// diagram's right) and stands for either side: a left-side vector is stored at the same place
// on the face, so mirroring a profile vector keeps its points and only changes its side.
const DECIMALS = 10000; // points are kept to 4 decimals: 0.023 mm at the default scale
export const MIDLINE_BAND = 0.02; // within 2% of the diagram's width of the centre line: midline
let nextUid = 1;

export function round(value) {
  return Math.round(value * DECIMALS) / DECIMALS;
}

function clamp01(value) {
  return Math.min(1, Math.max(0, value));
}

export function point(x, y) {
  return [round(clamp01(x)), round(clamp01(y))];
}

export function withUid(vector) {
  const copy = clone(vector);
  copy.uid = nextUid++;
  return copy;
}

export function clone(vector) {
  return {
    uid: vector.uid,
    area: vector.area,
    side: vector.side,
    product: vector.product,
    count: vector.count,
    view: vector.view,
    entry: [vector.entry[0], vector.entry[1]],
    end: [vector.end[0], vector.end[1]],
    depth: vector.depth,
    notes: vector.notes || "",
  };
}

// What the server stores: the vector without its uid, fields in a fixed order, notes
// trimmed as treatments.services.clean_vectors trims them.
export function payload(vector) {
  return {
    area: vector.area,
    side: vector.side,
    product: vector.product,
    count: vector.count,
    view: vector.view,
    entry: [vector.entry[0], vector.entry[1]],
    end: [vector.end[0], vector.end[1]],
    depth: vector.depth,
    notes: (vector.notes || "").trim(),
  };
}

export function key(vector) {
  return JSON.stringify(payload(vector));
}

export function planKey(vectors, notes) {
  return JSON.stringify({ vectors: vectors.map(payload), notes: notes || "" });
}

// The side a front-view vector is on, from where its middle lies.
export function guessSide(entry, end) {
  const middle = (entry[0] + end[0]) / 2;
  if (Math.abs(entry[0] - 0.5) <= MIDLINE_BAND && Math.abs(end[0] - 0.5) <= MIDLINE_BAND) {
    return "midline";
  }
  if (Math.abs(middle - 0.5) <= MIDLINE_BAND / 2) {
    return "midline";
  }
  return middle < 0.5 ? "right" : "left";
}

const OTHER_SIDE = { left: "right", right: "left", midline: "midline" };

// The copy of a vector on the patient's other side, or null for a midline vector.
export function mirrored(vector) {
  if (vector.side === "midline") {
    return null;
  }
  const copy = withUid(vector);
  copy.side = OTHER_SIDE[vector.side];
  if (vector.view === "front") {
    copy.entry = point(1 - vector.entry[0], vector.entry[1]);
    copy.end = point(1 - vector.end[0], vector.end[1]);
  }
  return copy;
}

export function distance(a, b) {
  return Math.sqrt((a[0] - b[0]) * (a[0] - b[0]) + (a[1] - b[1]) * (a[1] - b[1]));
}

export function lengthMm(vector, mmPerUnit) {
  return distance(vector.entry, vector.end) * mmPerUnit;
}

// Whole millimetres as the server writes them (Python's round and "{:.0f}"): a length exactly
// halfway between two goes to the even one, 12.5 to 12 and 13.5 to 14, where Math.round
// would give 13 and 14.
export function wholeMm(length) {
  const rounded = Math.round(length);
  return rounded - length === 0.5 && rounded % 2 !== 0 ? rounded - 1 : rounded;
}

// The same checks as treatments.services.vector_warnings, for live feedback; the server's
// text without its "Area (side): " (the summary adds it). tests/vector_warning_cases.json
// runs both on the same cases.
export function vectorWarning(vector, product, mmPerUnit, shortShare) {
  if (!product) {
    return "";
  }
  const length = lengthMm(vector, mmPerUnit);
  if (length > product.reach_mm) {
    return (
      wholeMm(length) + " mm is longer than " + product.name + " can reach (" +
      product.reach_mm + " mm)."
    );
  }
  if (length < product.thread_length_mm * shortShare) {
    return (
      wholeMm(length) + " mm is much shorter than the " + product.thread_length_mm +
      " mm thread."
    );
  }
  return "";
}

function cents(price) {
  const parts = String(price).split(".");
  const whole = parseInt(parts[0], 10) || 0;
  const fraction = ((parts[1] || "") + "00").slice(0, 2);
  return whole * 100 + (parseInt(fraction, 10) || 0);
}

export function formatCents(total) {
  const whole = Math.floor(total / 100);
  const rest = String(total % 100);
  return whole + "." + (rest.length < 2 ? "0" + rest : rest);
}

// A cost in cents as the location writes prices, the same as clinic/currency.py's
// format_money: "£1,234.50", "$38.00", "12.00 CHF". `currency` is the page's
// {code, before, after}.
export function formatMoney(total, currency) {
  const sign = total < 0 ? "-" : "";
  const parts = formatCents(Math.abs(total)).split(".");
  const whole = parts[0].replace(/\B(?=(\d{3})+(?!\d))/g, ",");
  const money = currency || { before: "", after: "" };
  return sign + (money.before || "") + whole + "." + parts[1] + (money.after || "");
}

// Threads per area, side and product, the cost, each vector's length and warning, and the
// products the location's usable stock (in date, not quarantined or recalled) cannot cover.
export function summarise(vectors, options) {
  const products = options.products;
  const labels = options.labels;
  const result = {
    total: 0,
    cost: 0,
    byArea: [],
    bySide: [],
    byProduct: [],
    lengths: [],
    warnings: [],
    vectorWarnings: [],
    stockWarnings: [],
  };
  const area = {};
  const side = {};
  const product = {};
  const order = { area: [], side: [], product: [] };
  function add(table, list, name, count) {
    if (!(name in table)) {
      table[name] = 0;
      list.push(name);
    }
    table[name] += count;
  }
  vectors.forEach(function (vector, index) {
    const item = products[vector.product];
    const count = vector.count;
    result.total += count;
    add(area, order.area, labels.area[vector.area] || vector.area, count);
    add(side, order.side, labels.side[vector.side] || vector.side, count);
    add(product, order.product, item ? item.name : "Unknown product", count);
    if (item) {
      result.cost += cents(item.unit_price) * count;
    }
    result.lengths.push(lengthMm(vector, options.mmPerUnit));
    const warning = vectorWarning(vector, item, options.mmPerUnit, options.shortShare);
    result.vectorWarnings.push(warning);
    if (warning) {
      result.warnings.push(
        "Vector " + (index + 1) + ", " + (labels.area[vector.area] || vector.area) + " (" +
          vector.side + "): " + warning
      );
    }
  });
  result.byArea = order.area.map(function (name) { return [name, area[name]]; });
  result.bySide = order.side.map(function (name) { return [name, side[name]]; });
  result.byProduct = order.product.map(function (name) { return [name, product[name]]; });
  const needed = {};
  vectors.forEach(function (vector) {
    needed[vector.product] = (needed[vector.product] || 0) + vector.count;
  });
  Object.keys(needed).forEach(function (id) {
    const item = products[id];
    const have = item ? item.on_hand : 0;
    if (have < needed[id]) {
      result.stockWarnings.push(
        "Stock: " + (item ? item.name : "product " + id) + " needs " + needed[id] + ", " +
          options.location + " has " + have + " usable."
      );
    }
  });
  result.costText = formatCents(result.cost);
  return result;
}

// How the server's copy differs from mine, in words, for a save conflict.
export function differences(mine, theirs, myNotes, theirNotes) {
  function threads(list) {
    return list.reduce(function (sum, v) { return sum + v.count; }, 0);
  }
  function counted(list) {
    const table = {};
    list.forEach(function (v) {
      const k = key(v);
      table[k] = (table[k] || 0) + 1;
    });
    return table;
  }
  const mineCounted = counted(mine);
  const theirsCounted = counted(theirs);
  let onlyMine = 0;
  let onlyTheirs = 0;
  Object.keys(mineCounted).forEach(function (k) {
    onlyMine += Math.max(0, mineCounted[k] - (theirsCounted[k] || 0));
  });
  Object.keys(theirsCounted).forEach(function (k) {
    onlyTheirs += Math.max(0, theirsCounted[k] - (mineCounted[k] || 0));
  });
  function some(count, word) {
    return count + " " + word + (count === 1 ? "" : "s");
  }
  const lines = [
    "The server has " + some(theirs.length, "vector") + " (" + some(threads(theirs), "thread") +
      "); you have " + some(mine.length, "vector") + " (" + some(threads(mine), "thread") + ").",
  ];
  if (onlyMine) {
    lines.push(
      onlyMine + " of your vectors " + (onlyMine === 1 ? "is" : "are") +
        " not in the server's version."
    );
  }
  if (onlyTheirs) {
    lines.push(
      onlyTheirs + " of the server's vectors " + (onlyTheirs === 1 ? "is" : "are") +
        " not in yours."
    );
  }
  if (!onlyMine && !onlyTheirs) {
    lines.push("The vectors are the same.");
  }
  if ((myNotes || "") !== (theirNotes || "")) {
    lines.push("The plan notes differ.");
  }
  return lines;
}

// A preset's or a stored copy's vectors, checked field by field; bad ones are left out.
export function accept(raw, choices) {
  if (!Array.isArray(raw)) {
    return [];
  }
  return raw
    .filter(function (v) {
      return (
        v && typeof v === "object" &&
        choices.area.indexOf(v.area) >= 0 &&
        choices.side.indexOf(v.side) >= 0 &&
        choices.view.indexOf(v.view) >= 0 &&
        choices.depth.indexOf(v.depth) >= 0 &&
        Number.isInteger(v.product) &&
        Number.isInteger(v.count) && v.count >= 1 && v.count <= choices.maxCount &&
        isPoint(v.entry) && isPoint(v.end)
      );
    })
    .map(function (v) {
      const copy = withUid(v);
      copy.notes = typeof v.notes === "string" ? v.notes.slice(0, 300) : "";
      return copy;
    });
}

export function isPoint(value) {
  return (
    Array.isArray(value) && value.length === 2 &&
    value.every(function (c) { return typeof c === "number" && isFinite(c) && c >= 0 && c <= 1; })
  );
}
