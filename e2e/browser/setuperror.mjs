// The setup-error page, driven by e2e/views_browser_test.go against a dev
// stack where ROLE_ARN is granted to USER through an IAM SAML provider
// (PROVIDER_ARN) that its account does not have: AWS refuses the role,
// and the page says so in words, shows an administrator what to create
// (the trust statement), offers no "Sign in again", keeps the signed-in
// header, and has no serious or critical accessibility violation.
import assert from "node:assert/strict";
import { BROKER, env, step, newPage, signIn, axeCheck, finish, problems } from "./views.mjs";

const USER = env("TARGET_USER"), USER_PW = env("TARGET_PASSWORD"), DISPLAY = env("TARGET_NAME");
const ROLE_ARN = env("ROLE_ARN"), PROVIDER_ARN = env("PROVIDER_ARN");

await finish(async () => {
  for (const viewport of [{ width: 1280, height: 900 }, { width: 390, height: 844 }]) {
    const page = await newPage(viewport);
    await signIn(page, USER, USER_PW);
    const answer = page.waitForResponse((r) => r.url() === BROKER + "/console" && r.request().method() === "POST");
    await page.click(`button[name="grant"][value^="${ROLE_ARN}|"]`);
    const status = (await answer).status();
    await page.waitForSelector("h1");
    assert.equal(status, 502, "AWS refusing for a missing provider is a 502");
    // The browser logs the 502 as a failed load; it was meant.
    const i = problems.findIndex((p) => p.includes("status of 502"));
    if (i >= 0) problems.splice(i, 1);

    assert.equal((await page.textContent("h1")).trim(), "AWS refused this role");
    const body = await page.textContent("main");
    assert.ok(body.includes("no identity provider for this sign-in"), "the page does not say the account lacks the provider");
    assert.ok(body.includes("Contact your administrator"), "the page does not send the person to an administrator");
    assert.equal(await page.locator("#setup-advice").count(), 1, "no block for the administrator");
    assert.equal((await page.textContent("#setup-role")).trim(), ROLE_ARN);
    const statement = await page.textContent("#setup-statement");
    for (const want of [PROVIDER_ARN, "sts:AssumeRoleWithSAML", "SAML:aud"]) {
      assert.ok(statement.includes(want), `the trust statement lacks ${want}: ${statement}`);
    }
    assert.ok((await page.textContent("#setup-provider")).includes(PROVIDER_ARN), "the advice does not name the provider to create");
    assert.equal(await page.getByText("Sign in again", { exact: true }).count(), 0, "the page offers to sign in again");
    assert.equal((await page.textContent("#user")).trim(), DISPLAY, "the header does not show who is signed in");
    assert.equal(await page.locator("form.signout button").count(), 1, "the header has no sign-out");
    step("setup-error page", { viewport: viewport.width, status });
    await axeCheck(page, `the setup-error page (${viewport.width}px)`);
  }
});
