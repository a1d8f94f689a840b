// The demo app's sign-in with the demo app registered as a third-party
// client, driven by e2e/apps_browser_test.go against a running dev stack:
//   (a) the demo app (its own origin) sends the browser to the broker; alice
//       signs in at the demo IdP; the broker's consent screen names the app,
//       its client id, alice and each scope in words;
//   (b) Allow: the demo app shows alice's name and her roles;
//   (c) a role's console button (a /go link on the demo app's origin) lands
//       on the broker's confirmation page, not AWS; confirming opens the
//       local console;
//   (d) signing in to the app again skips the screen (remembered);
//   (e) the broker's "Apps you allowed" page lists the app; Revoke removes it.
// Any console error on a broker page (a CSP violation included: the consent
// form's redirect to the app must be allowed) fails the run. Prints one JSON
// line per step; exits non-zero on failure.
import { chromium } from "playwright-core";
import assert from "node:assert/strict";

const env = (k) => { const v = process.env[k]; if (!v) throw new Error(`${k} is not set`); return v; };
const BROKER = env("BROKER_URL"), AWS = env("AWS_URL"), APP = env("APP_URL");
const USER = env("USER_NAME_LOGIN"), USER_PW = env("USER_PASSWORD"), NAME = env("USER_DISPLAY_NAME");
const CLIENT = env("CLIENT_ID"), ROLE_ARN = env("ROLE_ARN");
const step = (name, extra = {}) => console.log(JSON.stringify({ step: name, ...extra }));

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--disable-quic", "--no-first-run"],
});
const problems = [];
const text = async (page, sel) => ((await page.textContent(sel)) || "").trim();
const onBroker = (u) => u.origin === BROKER;
const onApp = (u) => u.origin === APP;

try {
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await ctx.newPage();
  page.on("console", (m) => { if (m.type() === "error" && page.url().startsWith(BROKER)) problems.push(m.text()); });
  page.on("pageerror", (e) => problems.push("pageerror: " + e.message));
  page.setDefaultTimeout(15000);
  // Every consent screen the broker serves (the bridge answering 200).
  let screens = 0;
  page.on("response", (r) => {
    const u = new URL(r.url());
    if (onBroker(u) && u.pathname === "/apps/login" && r.status() === 200) screens++;
  });

  // (a) The demo app, then the broker's sign-in page, then the demo IdP.
  await page.goto(APP + "/");
  await page.click("#signin button");
  await page.waitForURL((u) => onBroker(u) && u.pathname === "/");
  await page.click("a[data-provider=demo]");
  await page.waitForSelector("#username");
  await page.fill("#username", USER);
  await page.fill("#password", USER_PW);
  await page.keyboard.press("Enter");
  await page.waitForURL((u) => onBroker(u) || onApp(u));
  await page.waitForSelector("#consent-decide");
  assert.ok(onBroker(new URL(page.url())), "the app got the person back without the consent screen: " + page.url());
  assert.equal(await text(page, "#consent-app"), "Demo app");
  assert.equal(await text(page, "#consent-client"), CLIENT);
  assert.equal(await text(page, "#consent-user"), NAME);
  const scopes = await page.$$eval("#consent-scopes li", (lis) => Object.fromEntries(lis.map((l) => [l.dataset.scope, l.textContent.trim()])));
  assert.deepEqual(scopes, {
    profile: "your name", email: "your email address", groups: "your groups", offline_access: "stay signed in",
    "aws:roles": "which AWS roles you have", "aws:credentials": "get short-lived AWS credentials for your roles",
  });
  assert.equal(screens, 1);
  step("consent screen", { app: await text(page, "#consent-app"), client: CLIENT, user: NAME, scopes: Object.keys(scopes) });

  // (b) Allow: back at the demo app, signed in as alice with her roles.
  await page.click("#consent-allow");
  await page.waitForURL((u) => onApp(u) && u.pathname === "/");
  await page.waitForSelector("#logout");
  assert.equal(await text(page, "#name"), NAME);
  const roles = await page.$$eval("#roles tr[data-role-arn]", (trs) => trs.map((t) => t.dataset.roleArn));
  assert.ok(roles.includes(ROLE_ARN), `roles ${roles} lack ${ROLE_ARN}`);
  step("signed in to the app", { name: await text(page, "#name"), roles });

  // (c) The role's console button: the broker's /go link from the app's
  // origin lands on the confirmation page, never on AWS.
  const link = page.locator(`tr[data-role-arn="${ROLE_ARN}"] a.console`);
  const href = await link.getAttribute("href");
  assert.ok(href.startsWith(BROKER + "/go?"), "the console button is not a broker /go link: " + href);
  await link.click();
  await page.waitForURL((u) => (onBroker(u) && u.pathname === "/go") || u.origin === AWS);
  assert.ok(onBroker(new URL(page.url())), "a /go link from the app opened AWS without a click: " + page.url());
  await page.waitForSelector("#confirm-role");
  assert.equal(await page.getAttribute("#confirm-open", "data-role-arn"), ROLE_ARN);
  assert.ok((await text(page, "#confirm-account")).includes(ROLE_ARN.split(":")[4]), "the confirmation does not name the account");
  assert.ok((await text(page, "#confirm-user")).includes(NAME));
  step("deep link asked first", { url: page.url().split("?")[0], account: await text(page, "#confirm-account") });
  await page.click("#confirm-open");
  await page.waitForURL((u) => u.origin === AWS && u.pathname.startsWith("/console"));
  assert.equal(await text(page, "#role"), ROLE_ARN.split("/").pop());
  step("console opened after confirmation", { url: page.url().split("?")[0] });

  // (d) Signing in to the app again: the consent is remembered.
  await page.goto(APP + "/login");
  await page.waitForURL((u) => onApp(u) && u.pathname === "/");
  await page.waitForSelector("#logout");
  assert.equal(screens, 1, "the consent screen came back although remembered");
  step("second sign-in remembered");

  // (e) The broker lists the app; Revoke takes the consent back.
  await page.goto(BROKER + "/apps/consents");
  const row = page.locator(`tr[data-client="${CLIENT}"]`);
  assert.equal(await row.count(), 1, "the app is not on Apps you allowed");
  await row.locator("button").click();
  await page.waitForURL((u) => onBroker(u) && u.pathname === "/apps/consents");
  await page.waitForSelector("#no-consents");
  step("revoked");
  // The next sign-in to the app asks again.
  await page.goto(APP + "/login");
  await page.waitForSelector("#consent-decide");
  assert.equal(screens, 2);
  step("asked again after revoking");

  assert.deepEqual(problems, [], "console errors on broker pages");
  step("done");
} catch (e) {
  console.error("FAIL:", e.message);
  for (const p of browser.contexts().flatMap((c) => c.pages())) {
    console.error("page at", p.url());
    const reason = await p.locator("#error-reason").textContent().catch(() => null);
    if (reason) console.error("error reason:", reason);
  }
  if (problems.length) console.error("console errors:", problems);
  process.exitCode = 1;
} finally {
  await browser.close();
}
