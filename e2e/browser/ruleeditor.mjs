// The rule editor's results, driven by e2e/views_browser_test.go against
// a dev stack: after Simulate the simulation (#sim-result, in #results) is
// inside the viewport, on a desktop and on a phone; asking for the impact
// then keeps the simulation, still in view, next to the impact; axe-core
// finds no serious or critical violation on those pages.
import assert from "node:assert/strict";
import { BROKER, env, step, newPage, signIn, axeCheck, inView, finish } from "./views.mjs";

const ADMIN = env("ADMIN_USER"), ADMIN_PW = env("ADMIN_PASSWORD"), RULE = env("RULE");

await finish(async () => {
  for (const viewport of [{ width: 1280, height: 900 }, { width: 390, height: 844 }]) {
    const admin = await newPage(viewport);
    await signIn(admin, ADMIN, ADMIN_PW);
    await admin.goto(`${BROKER}/admin/rules/${RULE}`);
    await admin.waitForSelector("#op-simulate");
    await axeCheck(admin, `the rule editor (${viewport.width}px)`);
    const option = await admin.locator("#signin option", { hasText: ADMIN }).first().getAttribute("value");
    await admin.selectOption("#signin", option);

    await admin.click("#op-simulate");
    await admin.waitForSelector("#sim-result");
    await admin.waitForFunction(() => document.readyState === "complete");
    let sim = await inView(admin, "#sim-result");
    assert.ok(sim.visible, `after Simulate the simulation is out of view: ${JSON.stringify(sim)}`);
    assert.ok((await admin.textContent("#sim-trace")).includes(RULE), "the trace does not show the rule");
    step("simulation in view", { viewport: viewport.width, ...sim });
    await axeCheck(admin, `the rule editor with a simulation (${viewport.width}px)`);

    await admin.click("#op-preview");
    await admin.waitForSelector("#impact");
    await admin.waitForFunction(() => document.readyState === "complete");
    assert.equal(await admin.locator("#sim-result").count(), 1, "asking for the impact dropped the simulation");
    sim = await inView(admin, "#sim-result");
    const impact = await inView(admin, "#impact");
    assert.ok(sim.visible, `with the impact, the simulation is out of view: ${JSON.stringify(sim)}`);
    step("simulation kept in view with the impact", { viewport: viewport.width, sim, impact });
    await axeCheck(admin, `the rule editor with simulation and impact (${viewport.width}px)`);
  }
});
