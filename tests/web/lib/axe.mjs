// axe-core (npm, injected into the page) for the accessibility scenario: serious and
// critical violations fail; the rest are only logged.

import { createRequire } from "node:module";

const AXE = createRequire(import.meta.url).resolve("axe-core/axe.min.js");

/** Runs axe on the page (or `selector`); returns { failing, minor, ms } (violations by impact). */
export async function axeCheck(page, selector) {
  const started = Date.now();
  if (!(await page.evaluate(() => "axe" in window))) await page.addScriptTag({ path: AXE });
  const violations = await page.evaluate(async (sel) => {
    const result = await window.axe.run(sel ? document.querySelector(sel) : document, {
      resultTypes: ["violations"],
    });
    return result.violations.map((v) => ({
      id: v.id,
      impact: v.impact,
      help: v.help,
      nodes: v.nodes.slice(0, 3).map((n) => n.target.join(" ")),
    }));
  }, selector ?? null);
  const failing = violations.filter((v) => v.impact === "serious" || v.impact === "critical");
  const minor = violations.filter((v) => !failing.includes(v));
  return { failing, minor, ms: Date.now() - started };
}
