// The cross-site scenario, driven by e2e/crosssite_browser_test.go against a
// running dev stack (broker on 127.0.0.1) and an "attacker" site on
// localhost (another host, so another site for the browser):
//   (a) the attacker auto-posts an unsolicited SAML Response for someone else
//       while the victim is signed in: the broker asks, naming both, and the
//       victim stays signed in;
//   (b) the attacker links to one of the victim's roles (login route, /open):
//       each lands on the confirmation page, never on AWS, and its button
//       opens the local console. Typed, /open opens the console at once;
//   (c) the portal's Copy link button (keyboard) puts the role's /go link on
//       the clipboard; (d) that link from the attacker's page asks first,
//       typed it opens the console at once.
// Any console error on a broker page (a CSP violation included) fails the
// run. Prints one JSON line per step; exits non-zero on failure.
import { chromium } from "playwright-core";
import assert from "node:assert/strict";

const env = (k) => { const v = process.env[k]; if (!v) throw new Error(`${k} is not set`); return v; };
const BROKER = env("BROKER_URL"), AWS = env("AWS_URL"), ATTACKER = env("ATTACKER_URL");
const USER = env("VICTIM_USER"), USER_PW = env("VICTIM_PASSWORD"), USER_NAME = env("VICTIM_NAME");
const ARRIVING = env("ARRIVING_NAME");
const step = (name, extra = {}) => console.log(JSON.stringify({ step: name, ...extra }));

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--disable-quic", "--no-first-run"],
});
const problems = [];
const text = async (page, sel) => ((await page.textContent(sel)) || "").trim();
const onBroker = (u) => u.origin === BROKER;

try {
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await ctx.newPage();
  page.on("console", (m) => { if (m.type() === "error" && page.url().startsWith(BROKER)) problems.push(m.text()); });
  page.on("pageerror", (e) => problems.push("pageerror: " + e.message));
  page.setDefaultTimeout(15000);

  // The victim signs in from the broker's own sign-in page.
  await page.goto(BROKER + "/");
  await page.click("a[data-provider=demo]");
  await page.waitForSelector("#username");
  await page.fill("#username", USER);
  await page.fill("#password", USER_PW);
  await page.keyboard.press("Enter");
  await page.waitForURL((u) => onBroker(u) && u.pathname === "/");
  assert.equal(await text(page, "#user"), USER_NAME);
  const role = page.locator('form[action="/console"] button[name="grant"]').first();
  const grant = await role.getAttribute("value");
  const roleARN = grant.split("|")[0];
  step("victim signed in", { user: USER_NAME, grant });

  // (a) Another site posts a Response for someone else to the ACS.
  await page.goto(ATTACKER + "/post-bob");
  await page.waitForURL((u) => onBroker(u) && u.pathname === "/switch");
  assert.ok((await text(page, "#switch-current")).includes(USER_NAME), "the page does not name who is signed in");
  assert.ok((await text(page, "#switch-arriving")).includes(ARRIVING), "the page does not name who is arriving");
  assert.equal(await text(page, "#user"), USER_NAME, "the arriving sign-in replaced the session");
  step("asked", { current: await text(page, "#switch-current"), arriving: await text(page, "#switch-arriving") });
  // Until the person chooses, the portal asks again; nothing switched.
  await page.goto(BROKER + "/");
  await page.waitForURL((u) => onBroker(u) && u.pathname === "/switch");
  await page.click("#switch-stay");
  await page.waitForURL((u) => onBroker(u) && u.pathname === "/");
  assert.equal(await text(page, "#user"), USER_NAME, "not signed in as the victim after staying");
  assert.ok((await text(page, "#flash")).includes("discarded"));
  step("stayed", { user: await text(page, "#user") });

  // (b1) Another site links to the login route naming the victim's role.
  // The demo IdP still has the victim's session: the sign-in is invisible.
  await page.goto(ATTACKER + "/links?grant=" + encodeURIComponent(grant));
  await page.click("#login-link");
  await page.waitForURL((u) => (onBroker(u) && u.pathname === "/open") || u.origin === AWS);
  assert.ok(onBroker(new URL(page.url())), "a cross-site role link opened AWS without a click: " + page.url());
  await page.waitForSelector("#confirm-role");
  assert.equal(await page.getAttribute("#confirm-open", "data-role-arn"), roleARN);
  const account = roleARN.split(":")[4];
  assert.ok((await text(page, "#confirm-account")).includes(account), "the confirmation does not name the account id");
  assert.ok((await text(page, "#confirm-user")).includes(USER_NAME));
  assert.ok((await text(page, "#confirm-duration")).length > 0);
  step("login link confirmed", { account: await text(page, "#confirm-account"), role: await text(page, "#confirm-role-name") });
  await page.click("#confirm-open");
  await page.waitForURL((u) => u.origin === AWS && u.pathname.startsWith("/console"));
  assert.equal(await text(page, "#role"), roleARN.split("/").pop());
  step("console opened after confirmation", { url: page.url().split("?")[0] });

  // (b2) The same role through /open from another site: asked again;
  // "Not now" goes back to the portal.
  await page.goto(ATTACKER + "/links?grant=" + encodeURIComponent(grant));
  await page.click("#open-link");
  await page.waitForURL((u) => (onBroker(u) && u.pathname === "/open") || u.origin === AWS);
  assert.ok(onBroker(new URL(page.url())), "a cross-site /open link opened AWS without a click");
  await page.waitForSelector("#confirm-role");
  await page.click("#confirm-not-now");
  await page.waitForURL((u) => onBroker(u) && u.pathname === "/");
  step("open link confirmed, not now");

  // Typed into the address bar (Sec-Fetch-Site: none), /open opens the role.
  await page.goto(BROKER + "/open?grant=" + encodeURIComponent(grant));
  await page.waitForURL((u) => u.origin === AWS && u.pathname.startsWith("/console"));
  step("typed /open opened the console");

  // (c) The portal's Copy link, from the keyboard: the role's /go link (the
  // account by its alias, the role by its name) lands on the clipboard and
  // the status region says so.
  await ctx.grantPermissions(["clipboard-read", "clipboard-write"], { origin: BROKER });
  await page.goto(BROKER + "/");
  const copy = page.locator("button.copy-link").first();
  assert.match((await copy.getAttribute("aria-label")) || "", /^Copy link to /, "the Copy link button has no label");
  assert.equal(await page.locator("#portal .roles a[href^='/go?']").first().isVisible(), false, "the plain link stays next to the button");
  await copy.focus();
  await page.keyboard.press("Enter");
  await page.waitForFunction(() => document.getElementById("copy-status").textContent.startsWith("Link copied"));
  const goLink = await page.evaluate(() => navigator.clipboard.readText());
  assert.equal(goLink, await copy.getAttribute("data-href"));
  assert.ok(goLink.startsWith(BROKER + "/go?account="), "not a /go link: " + goLink);
  assert.ok(!/account=\d{12}/.test(goLink), "the link names the account by id, not its alias: " + goLink);
  step("copied", { link: goLink });

  // (d) Another site links to that /go link: the confirmation page, for
  // the role whose card it came from; its button opens the console.
  await page.goto(ATTACKER + "/links?grant=" + encodeURIComponent(grant) + "&go=" + encodeURIComponent(goLink));
  await page.click("#go-link");
  await page.waitForURL((u) => (onBroker(u) && u.pathname === "/go") || u.origin === AWS);
  assert.ok(onBroker(new URL(page.url())), "a cross-site /go link opened AWS without a click");
  await page.waitForSelector("#confirm-role");
  assert.equal(await page.getAttribute("#confirm-open", "data-role-arn"), roleARN);
  step("go link confirmed", { account: await text(page, "#confirm-account"), role: await text(page, "#confirm-role-name") });
  await page.click("#confirm-open");
  await page.waitForURL((u) => u.origin === AWS && u.pathname.startsWith("/console"));
  assert.equal(await text(page, "#role"), roleARN.split("/").pop());

  // Typed, the /go link opens the role at once.
  await page.goto(goLink);
  await page.waitForURL((u) => u.origin === AWS && u.pathname.startsWith("/console"));
  assert.equal(await text(page, "#role"), roleARN.split("/").pop());
  step("typed /go opened the console");

  assert.deepEqual(problems, [], "browser console errors");
  step("done");
} catch (e) {
  console.error("FAIL:", e.message);
  for (const p of browser.contexts().flatMap((c) => c.pages())) {
    console.error("page at", p.url());
    const reason = await p.locator("#error-reason").textContent().catch(() => null);
    if (reason) console.error("error reason:", reason);
  }
  if (problems.length) console.error("console:", JSON.stringify(problems));
  process.exitCode = 1;
} finally {
  await browser.close();
}
