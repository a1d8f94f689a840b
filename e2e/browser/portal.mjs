// The portal at scale, driven by e2e/portal_browser_test.go against a dev
// stack seeded with 1,000 more roles: the person signs in, types in the
// search box and the role is found, the others hidden, without a reload;
// pins it, signs out and in again and finds it pinned at the top; axe-core
// finds no serious or critical violation on the 1,000-role page; on a
// 375 px wide phone nothing scrolls sideways. Reports the time from
// navigation to load and from the first keystroke to the search result.
// Any console error (a CSP violation included) fails the run. Prints one
// JSON line per step; exits non-zero on failure.
import { chromium } from "playwright-core";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";

const env = (k) => { const v = process.env[k]; if (!v) throw new Error(`${k} is not set`); return v; };
const BROKER = env("BROKER_URL");
const USER = env("TARGET_USER"), USER_PW = env("TARGET_PASSWORD");
const MIN_ROLES = Number(env("MIN_ROLES"));
const QUERY = env("QUERY"); // finds exactly ROLE_ARN
const ROLE_ARN = env("ROLE_ARN");
const step = (name, extra = {}) => console.log(JSON.stringify({ step: name, ...extra }));

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--disable-quic", "--no-first-run"],
});
const problems = [];
async function newPage(viewport) {
  const ctx = await browser.newContext({ viewport });
  const page = await ctx.newPage();
  page.on("console", (m) => { if (m.type() === "error") problems.push(m.text()); });
  page.on("pageerror", (e) => problems.push("pageerror: " + e.message));
  page.setDefaultTimeout(30000);
  return page;
}
async function signIn(page) {
  await page.goto(BROKER + "/");
  await page.click("a[data-provider=demo]");
  await page.waitForURL((u) => u.origin !== BROKER || u.pathname === "/");
  if (await page.locator("#username").count()) { // the IdP asks (no IdP session yet)
    await page.fill("#username", USER);
    await page.fill("#password", USER_PW);
    await page.keyboard.press("Enter");
  }
  await page.waitForURL((u) => u.origin === BROKER && u.pathname === "/");
}
// Loads the portal and returns the browser's navigation timing (ms).
async function loadPortal(page, path = "/") {
  await page.goto(BROKER + path, { waitUntil: "load" });
  return page.evaluate(() => {
    const n = performance.getEntriesByType("navigation")[0];
    return { ttfb: Math.round(n.responseStart), html_done: Math.round(n.responseEnd),
      dom_interactive: Math.round(n.domInteractive), scripts_on_dom_content_loaded: Math.round(n.domContentLoadedEventEnd - n.domContentLoadedEventStart),
      dom_content_loaded: Math.round(n.domContentLoadedEventEnd), load: Math.round(n.loadEventEnd),
      html_bytes: n.encodedBodySize };
  });
}
const visibleCards = (page) => page.evaluate(() => [...document.querySelectorAll("#portal .roles li")]
  .filter((li) => li.offsetParent !== null).map((li) => li.querySelector("button[name=grant]").value));
const noSideScroll = (page) => page.evaluate(() => ({
  scrollWidth: document.documentElement.scrollWidth, innerWidth: window.innerWidth,
  wider: [...document.querySelectorAll("body *")].filter((el) => el.offsetParent !== null && el.getBoundingClientRect().right > window.innerWidth + 1)
    .slice(0, 5).map((el) => el.tagName + (el.id ? "#" + el.id : "") + "." + el.className),
}));

// axe-core through the DevTools protocol (not a script tag: the broker's
// CSP stays in force). WCAG 2.x A/AA; serious and critical fail the run,
// the others are reported.
const axeSource = readFileSync(createRequire(import.meta.url).resolve("axe-core/axe.min.js"), "utf8");
async function axeCheck(page, name) {
  await page.evaluate(axeSource);
  const t0 = Date.now();
  const found = await page.evaluate(async () => (await window.axe.run(document, {
    runOnly: { type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"] }, resultTypes: ["violations"],
  })).violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.length, first: v.nodes[0].target.join(" ") })));
  const bad = found.filter((v) => v.impact === "serious" || v.impact === "critical");
  assert.deepEqual(bad, [], `serious or critical accessibility violations on ${name}`);
  step("axe: no serious or critical violations", { page: name, ms: Date.now() - t0, others: found });
}

try {
  const page = await newPage({ width: 1280, height: 900 });
  await signIn(page);
  const load = await loadPortal(page);
  const total = await page.locator("#accounts button[name=grant]").count();
  assert.ok(total >= MIN_ROLES, `the portal lists ${total} roles, want at least ${MIN_ROLES}`);
  assert.equal(await page.locator("form[action='/console']").count(), 1, "one form for the roles");
  step("portal loaded", { roles: total, timing_ms: load });

  // Screen readers hear which role a pin or copy button is for.
  const pinLabel = await page.locator("#accounts button[form=pins]").first().getAttribute("aria-label");
  assert.match(pinLabel || "", /^Pin .+ in .+/, "pin buttons are not named after their role");
  const copyLabel = await page.locator("#accounts button.copy-link").first().getAttribute("aria-label");
  assert.match(copyLabel || "", /^Copy link to .+ in .+/, "copy buttons are not named after their role");

  // Search as you type: the role is found, every other card hidden, no reload.
  await page.evaluate(() => { window.noReload = true; });
  const search = page.locator("#role-search");
  await search.click();
  await page.evaluate(() => { window.typed = performance.now(); });
  await search.pressSequentially(QUERY);
  const searchMs = await page.evaluate((arn) => new Promise((resolve) => {
    const done = () => {
      const shown = [...document.querySelectorAll("#portal .roles li")].filter((li) => li.offsetParent !== null);
      if (shown.length === 1 && shown[0].querySelector("button[name=grant]").value.startsWith(arn + "|")) {
        resolve(Math.round(performance.now() - window.typed));
        return true;
      }
      return false;
    };
    if (!done()) { const t = setInterval(() => { if (done()) { clearInterval(t); } }, 5); }
  }), ROLE_ARN);
  const found = await visibleCards(page);
  assert.equal(found.length, 1, `search shows ${found.length} cards`);
  assert.ok(found[0].startsWith(ROLE_ARN + "|"), `search shows ${found[0]}`);
  assert.equal(await page.evaluate(() => window.noReload), true, "the search reloaded the page");
  assert.match(await page.textContent("#role-count"), /^1 of \d+ roles match/);
  assert.equal(new URL(page.url()).searchParams.get("q"), QUERY, "the address does not keep the search");
  // The same search from a fresh page, timed inside it: from the input
  // event to the filtered list (portal.js waits 80 ms after a keystroke).
  await loadPortal(page);
  const inputMs = await page.evaluate((q) => new Promise((resolve) => {
    const input = document.getElementById("role-search");
    const count = document.getElementById("role-count");
    const t0 = performance.now();
    new MutationObserver((_, obs) => { obs.disconnect(); resolve(Math.round(performance.now() - t0)); })
      .observe(count, { childList: true, characterData: true, subtree: true });
    input.value = q;
    input.dispatchEvent(new Event("input"));
  }), QUERY);
  assert.equal((await visibleCards(page)).length, 1);
  // A one-letter search matches every card: the page's worst case.
  await loadPortal(page);
  const allMs = await page.evaluate(() => new Promise((resolve) => {
    const input = document.getElementById("role-search");
    const t0 = performance.now();
    new MutationObserver((_, obs) => { obs.disconnect(); requestAnimationFrame(() => resolve(Math.round(performance.now() - t0))); })
      .observe(document.getElementById("role-count"), { childList: true, characterData: true, subtree: true });
    input.value = "t";
    input.dispatchEvent(new Event("input"));
  }));
  step("search found the role", { query: QUERY, shown: found.length, first_keystroke_to_result_ms: searchMs,
    input_event_to_result_ms: inputMs, one_letter_matching_all_to_next_frame_ms: allMs, debounce_ms: 80 });

  // Pin it, from the server's search (?q=, as without JavaScript): the
  // page comes back with the search, the role under Pinned.
  await loadPortal(page, "/?q=" + encodeURIComponent(QUERY));
  assert.equal((await visibleCards(page)).length, 1, "the server's search");
  const card = page.locator("#accounts li", { has: page.locator(`button[name=grant][value^="${ROLE_ARN}|"]`) });
  await card.locator("button[form=pins]").click();
  await page.waitForSelector(`#pinned button[name=grant][value^="${ROLE_ARN}|"]`);
  assert.equal(new URL(page.url()).searchParams.get("q"), QUERY, "pinning lost the search");
  step("pinned");

  // Sign out, sign in again: still pinned, at the top.
  await page.click("form.signout button");
  await page.waitForSelector("a[data-provider=demo]");
  await signIn(page);
  await loadPortal(page);
  const top = await page.evaluate(() => {
    const first = document.querySelector("#portal .roles");
    return { section: first.closest("section, details").id, grant: first.querySelector("button[name=grant]").value };
  });
  assert.equal(top.section, "pinned", "the first list is not Pinned");
  assert.ok(top.grant.startsWith(ROLE_ARN + "|"), `the top role is ${top.grant}`);
  assert.equal(await page.locator("#pinned button[name=unpin]").count(), 1);
  step("still pinned at the top after signing in again");

  await axeCheck(page, "/ (1,000 roles)");
  await page.fill("#role-search", "team-01");
  await page.waitForFunction(() => document.getElementById("role-count").textContent.includes("match"));
  await axeCheck(page, "/ (1,000 roles, searched: open accounts)");

  // A phone: nothing wider than the screen, before and during a search.
  const phone = await newPage({ width: 375, height: 812 });
  await signIn(phone);
  const phoneLoad = await loadPortal(phone);
  let w = await noSideScroll(phone);
  assert.ok(w.scrollWidth <= w.innerWidth, `the phone scrolls sideways: ${JSON.stringify(w)}`);
  await phone.fill("#role-search", "team-37");
  await phone.waitForFunction(() => document.getElementById("role-count").textContent.includes("match"));
  w = await noSideScroll(phone);
  assert.ok(w.scrollWidth <= w.innerWidth, `the phone scrolls sideways with open accounts: ${JSON.stringify(w)}`);
  const box = await phone.locator("#accounts button[name=grant]:visible").first().boundingBox();
  assert.ok(box && box.x >= 0 && box.x + box.width <= 375, `a role button is off screen: ${JSON.stringify(box)}`);
  step("phone: no horizontal scroll", { width: w.innerWidth, scrollWidth: w.scrollWidth, timing_ms: phoneLoad });

  assert.deepEqual(problems, [], "console errors");
  step("done");
} finally {
  await browser.close();
}
