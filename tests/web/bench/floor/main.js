// The frame-time floor: a plain react-virtuoso list of 10,000 static rows (no engine, no
// worker, no live data), shaped roughly like the demo's messages, starting at the bottom.
import { createElement as h } from "react";
import { createRoot } from "react-dom/client";
import { Virtuoso } from "react-virtuoso";

const COUNT = 10_000;
const rows = Array.from({ length: COUNT }, (_, i) => ({
  id: `row-${i}`,
  author: i % 3 ? "Dave Bowman" : "Carol Danvers",
  text: `big #${String(i + 1).padStart(5, "0")}`,
}));

function Row(_index, row) {
  return h(
    "div",
    { className: "row", "data-message-id": row.id },
    h("span", { className: "avatar", style: { "--h": row.author.length * 37 } }),
    h("div", null, h("div", { className: "author" }, row.author), h("div", null, row.text)),
  );
}

createRoot(document.getElementById("root")).render(
  h(Virtuoso, {
    style: { height: "100%" },
    className: "floor-scroller",
    data: rows,
    computeItemKey: (_i, row) => row.id,
    itemContent: Row,
    initialTopMostItemIndex: { index: "LAST", align: "end" },
    increaseViewportBy: { top: 400, bottom: 200 },
  }),
);
