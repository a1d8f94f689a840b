// The admin browser scenario, driven by e2e/admin_browser_test.go against a
// running dev stack: an admin creates a rule, simulates it for a recent
// sign-in, previews its impact, saves it, and the affected user then sees
// the new role in the portal; then registers an app (the secret shown
// once), and axe-core checks the apps pages, the consent page and /device
// for accessibility violations (none allowed). Any console error (a CSP
// violation included) fails the run. Prints one JSON line per step; exits
// non-zero on failure.
import { chromium } from "playwright-core";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";

const env = (k) => { const v = process.env[k]; if (!v) throw new Error(`${k} is not set`); return v; };
const BROKER = env("BROKER_URL");
const ADMIN = env("ADMIN_USER"), ADMIN_PW = env("ADMIN_PASSWORD");
const USER = env("TARGET_USER"), USER_PW = env("TARGET_PASSWORD");
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
  page.on("dialog", (d) => d.accept());
  page.setDefaultTimeout(15000);
  return page;
}
async function signIn(page, user, pw) {
  await page.goto(BROKER + "/");
  await page.click("a[data-provider=demo]");
  await page.waitForURL((u) => u.origin !== BROKER || u.pathname === "/");
  if (await page.locator("#username").count()) { // the IdP asks (no IdP session yet)
    await page.fill("#username", user);
    await page.fill("#password", pw);
    await page.keyboard.press("Enter");
  }
  // The portal, or straight on to the console when the user has exactly one role.
  await page.waitForURL((u) => (u.origin === BROKER && u.pathname === "/") || u.pathname === "/console");
  if (page.url() !== BROKER + "/") await page.goto(BROKER + "/");
}
// axe-core, evaluated through the DevTools protocol (not a script tag, so
// the broker's CSP stays in force): every WCAG 2.x A/AA violation on the
// page fails the run.
const axeSource = readFileSync(createRequire(import.meta.url).resolve("axe-core/axe.min.js"), "utf8");
async function axeCheck(page, name) {
  await page.evaluate(axeSource);
  const violations = await page.evaluate(async () => (await window.axe.run(document, {
    runOnly: { type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"] }, resultTypes: ["violations"],
  })).violations.map((v) => `${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(" ")).join(", ")})`));
  assert.deepEqual(violations, [], `accessibility violations on ${name}`);
  step("axe: no violations", { page: name });
}
// Every visible form control has an accessible label.
async function unlabelled(page) {
  return page.evaluate(() => [...document.querySelectorAll("input, select, textarea")]
    .filter((el) => el.type !== "hidden" && !(el.labels && el.labels.length) && !el.getAttribute("aria-label") && !el.closest("label"))
    .map((el) => el.name || el.id));
}

try {
  // The affected user signs in once first, so the simulator and the impact
  // preview know them, and has no such role yet.
  const user = await newPage({ width: 1280, height: 900 });
  await signIn(user, USER, USER_PW);
  assert.equal(await user.locator(`button[name="grant"][value^="${ROLE_ARN}|"]`).count(), 0, "the user already has the role");
  step("user signed in without the role");

  // The admin, on a phone-sized screen.
  const admin = await newPage({ width: 390, height: 844 });
  await signIn(admin, ADMIN, ADMIN_PW);
  await admin.click("#admin-link");
  await admin.waitForURL(BROKER + "/admin/rules");
  const overflow = await admin.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 1, `the rules page is ${overflow}px wider than a phone screen`);
  await admin.click("#new-rule");
  await admin.waitForURL(BROKER + "/admin/rules/new");
  assert.deepEqual(await unlabelled(admin), [], "unlabelled form controls");
  const editOverflow = await admin.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(editOverflow <= 1, `the rule editor is ${editOverflow}px wider than a phone screen`);

  await admin.fill("#name", "finance-readonly");
  await admin.fill("#description", "Finance can read production");
  // Conditions as rows: groups equals finance.
  await admin.fill("#cond-0-attribute", "groups");
  await admin.selectOption("#cond-0-op", "equals");
  await admin.fill("#cond-0-value", "finance");
  await admin.fill("#grant-account", "production");
  await admin.fill("#grant-role", "ReadOnly");
  await admin.fill("#grant-duration", "1h");

  // An error first: a bad duration is shown on its field, nothing saved.
  await admin.fill("#grant-console-duration", "forever");
  await admin.click("#op-save");
  await admin.waitForSelector("#grant-console-duration-err");
  assert.equal(await admin.getAttribute("#grant-console-duration", "aria-invalid"), "true");
  step("inline error shown", { error: (await admin.textContent("#grant-console-duration-err")).trim() });
  // That page's 422 status is logged by the browser as a failed load; it was meant.
  const i = problems.findIndex((p) => p.includes("status of 422"));
  if (i >= 0) problems.splice(i, 1);
  await admin.fill("#grant-console-duration", "2h");

  // Simulate for the user's recent sign-in.
  const option = await admin.locator("#signin option", { hasText: USER }).first().getAttribute("value");
  await admin.selectOption("#signin", option);
  await admin.click("#op-simulate");
  await admin.waitForSelector("#sim-roles");
  assert.ok((await admin.textContent("#sim-roles")).includes(ROLE_ARN), "the simulation does not grant the role");
  assert.ok((await admin.textContent("#sim-trace")).includes("finance-readonly"), "the trace does not show the new rule");
  step("simulated");

  // Impact preview: the user gains the role.
  await admin.click("#op-preview");
  await admin.waitForSelector("#impact");
  const row = admin.locator(`.impact-row[data-subject="${USER}"]`);
  assert.equal(await row.count(), 1, "the impact preview does not list the user");
  assert.ok((await row.textContent()).includes(ROLE_ARN), "the impact preview does not show the gained role");
  step("impact previewed", { changed: await admin.locator(".impact-row").count() });

  // Save with the keyboard: focus the button and press Enter.
  await admin.focus("#op-save");
  await admin.keyboard.press("Enter");
  await admin.waitForURL(BROKER + "/admin/rules");
  assert.ok((await admin.textContent("#flash")).includes("Saved rule finance-readonly"));
  assert.equal(await admin.locator('tr[data-rule="finance-readonly"]').count(), 1);
  step("saved");

  // The user signs out, signs in again and sees the new role.
  await user.goto(BROKER + "/");
  await user.click("form.signout button");
  await user.waitForSelector("a[data-provider=demo]");
  await signIn(user, USER, USER_PW);
  await user.waitForSelector(`button[name="grant"][value^="${ROLE_ARN}|"]`);
  step("user sees the new role");

  // Apps: the list (an app of the config file read-only), the register
  // form, a register with a problem shown on its field, the secret page,
  // the edit page and the delete question.
  await admin.click("a[href='/admin/apps']");
  await admin.waitForURL(BROKER + "/admin/apps");
  await axeCheck(admin, "/admin/apps");
  await admin.goto(BROKER + "/admin/apps/demo-app");
  assert.ok((await admin.textContent("#read-only")).includes("managed in the config file"));
  await axeCheck(admin, "/admin/apps/demo-app (read-only)");
  await admin.goto(BROKER + "/admin/apps");
  await admin.click("#app-new");
  await admin.waitForURL(BROKER + "/admin/apps/new");
  assert.deepEqual(await unlabelled(admin), [], "unlabelled form controls on the app form");
  await axeCheck(admin, "/admin/apps/new");
  await admin.fill("#app-id", "a11y-wiki");
  await admin.fill("#app-name", "Accessible wiki");
  await admin.fill("#app-redirect-uris", "http://wiki.example.com/cb");
  await admin.fill("#cond-0-attribute", "groups");
  await admin.fill("#cond-0-value", "broker-admins");
  await admin.click("#op-save");
  await admin.waitForSelector("#app-redirect-uris-err");
  assert.equal(await admin.getAttribute("#app-redirect-uris", "aria-invalid"), "true");
  await axeCheck(admin, "/admin/apps/new (a problem on a field)");
  const j = problems.findIndex((p) => p.includes("status of 422"));
  if (j >= 0) problems.splice(j, 1);
  await admin.fill("#app-redirect-uris", "https://wiki.example.com/cb");
  await admin.click("#op-save");
  await admin.waitForSelector("#secret-value");
  const secret = (await admin.textContent("#secret-value")).trim();
  assert.ok(secret.length >= 40, "no secret shown");
  await axeCheck(admin, "the secret page");
  await admin.goto(BROKER + "/admin/apps/a11y-wiki");
  assert.ok(!(await admin.content()).includes(secret), "the secret is shown again");
  await axeCheck(admin, "/admin/apps/a11y-wiki");
  await admin.click("#op-delete");
  await admin.waitForSelector("#confirm-form");
  await axeCheck(admin, "the delete question");
  step("apps pages checked");

  // The consent page of that (third-party) app, and /device.
  const authorize = new URL(BROKER + "/oauth/authorize");
  for (const [k, v] of Object.entries({ client_id: "a11y-wiki", redirect_uri: "https://wiki.example.com/cb", response_type: "code",
    scope: "openid email", state: "a11y-state", nonce: "a11y-nonce" })) authorize.searchParams.set(k, v);
  await admin.goto(authorize.toString());
  await admin.waitForSelector("#consent-allow");
  await axeCheck(admin, "the consent page");
  await admin.goto(BROKER + "/device");
  await admin.waitForSelector("#device");
  await axeCheck(admin, "/device");

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
