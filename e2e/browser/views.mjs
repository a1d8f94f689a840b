// Shared by setuperror.mjs and ruleeditor.mjs: chromium, pages that
// collect console errors, the demo IdP's sign-in, and axe-core failing on
// serious or critical violations.
import { chromium } from "playwright-core";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";

export const env = (k) => { const v = process.env[k]; if (!v) throw new Error(`${k} is not set`); return v; };
export const BROKER = env("BROKER_URL");
export const step = (name, extra = {}) => console.log(JSON.stringify({ step: name, ...extra }));

export const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--disable-quic", "--no-first-run"],
});

// problems collects console errors and page errors of every page.
export const problems = [];
export async function newPage(viewport) {
  const ctx = await browser.newContext({ viewport });
  const page = await ctx.newPage();
  page.on("console", (m) => { if (m.type() === "error") problems.push(m.text()); });
  page.on("pageerror", (e) => problems.push("pageerror: " + e.message));
  page.setDefaultTimeout(15000);
  return page;
}

// signIn signs user in at the demo IdP and ends on the portal.
export async function signIn(page, user, pw) {
  await page.goto(BROKER + "/");
  await page.click("a[data-provider=demo]");
  await page.waitForURL((u) => u.origin !== BROKER || u.pathname === "/");
  if (await page.locator("#username").count()) {
    await page.fill("#username", user);
    await page.fill("#password", pw);
    await page.keyboard.press("Enter");
  }
  await page.waitForURL((u) => (u.origin === BROKER && u.pathname === "/") || u.pathname === "/console");
  if (page.url() !== BROKER + "/") await page.goto(BROKER + "/");
}

// axeCheck runs axe-core through the DevTools protocol (not a script tag,
// so the broker's CSP stays in force) and fails on any serious or
// critical WCAG 2.x A/AA violation; lesser ones are printed.
const axeSource = readFileSync(createRequire(import.meta.url).resolve("axe-core/axe.min.js"), "utf8");
export async function axeCheck(page, name) {
  await page.evaluate(axeSource);
  const violations = await page.evaluate(async () => (await window.axe.run(document, {
    runOnly: { type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"] }, resultTypes: ["violations"],
  })).violations.map((v) => ({ impact: v.impact, text: `${v.id} (${v.impact}): ${v.help} (${v.nodes.map((n) => n.target.join(" ")).join(", ")})` })));
  const grave = violations.filter((v) => v.impact === "serious" || v.impact === "critical").map((v) => v.text);
  assert.deepEqual(grave, [], `serious or critical accessibility violations on ${name}`);
  step("axe: no serious or critical violations", { page: name, minor: violations.map((v) => v.text) });
}

// inView is where the element is relative to the viewport
// (getBoundingClientRect).
export async function inView(page, selector) {
  return page.locator(selector).evaluate((el) => {
    const r = el.getBoundingClientRect();
    // Its top edge inside the viewport (a pixel of sub-pixel scrolling
    // allowed): the person sees where the results begin.
    return { top: r.top, bottom: r.bottom, height: window.innerHeight,
      visible: r.top > -2 && r.top < window.innerHeight - 40 && r.bottom > 0 };
  });
}

// finish prints why a run failed (the error page's reason, console
// errors), sets the exit code and closes the browser.
export async function finish(run) {
  try {
    await run();
    assert.deepEqual(problems, [], "browser console errors");
    step("done");
  } catch (e) {
    console.error("FAIL:", e.message);
    for (const p of browser.contexts().flatMap((c) => c.pages())) {
      const reason = await p.locator("#error-reason").textContent().catch(() => null);
      if (reason) console.error("page", p.url(), "error reason:", reason);
    }
    if (problems.length) console.error("console:", JSON.stringify(problems));
    process.exitCode = 1;
  } finally {
    await browser.close();
  }
}
