// Sign-out that ends API access as a person sees it, in Chromium: two browsers signed in as the
// same user, "sign out everywhere", the devices page, and a key rotation the API has not caught up
// with (a plain error, never a sign-out or a loop). The front end reaches the API through a
// recording proxy, which is where the tests take the tokens they replay (never from a page).
import assert from "node:assert/strict";
import { join } from "node:path";
import { describe, it } from "node:test";
import { SHOTS, browserAndStackForSuite, cspCheckedPage, requireChromium } from "./chromium.mjs";
import { NATIVE_TOKENS, Visitor, api, kid, requireTools, waitUntil } from "./helpers.mjs";

requireTools();
requireChromium();

const REVOCATION_TTL_S = 1;

/**
 * A browser of its own (cookies and all) signed in as `email` on the task page. At the end, the
 * test fails if it met a Content-Security-Policy violation.
 */
async function signedInBrowser(t, browser, stack, email, viewport) {
  const page = await cspCheckedPage(t, browser, viewport);
  await page.goto(`${stack.baseURL}/sign-in`);
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill("correct horse battery");
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.waitForURL(`${stack.baseURL}/tasks`);
  return page;
}

/** The tokens the front end has sent for this user so far (as the proxy saw them). */
const tokensOf = (stack, user) => [...new Set(stack.apiCalls.filter((c) => c.path.startsWith(`/api/${user.id}/`)).map((c) => c.token))];

describe("in the browser: sign out everywhere and the devices page", () => {
  const running = browserAndStackForSuite({ recordApiCalls: true, webEnv: NATIVE_TOKENS, apiEnv: { REVOCATION_TTL_S: String(REVOCATION_TTL_S) } });

  it("sign out everywhere in one browser: it shows sign-in with a message, the other goes to sign-in on its next action, earlier tokens are 401 at the API", async (t) => {
    const { browser, stack } = running;
    const user = new Visitor(stack.baseURL);
    await user.signUp("Ada");
    const laptop = await signedInBrowser(t, browser, stack, user.email);
    const phone = await signedInBrowser(t, browser, stack, user.email, { width: 390, height: 844 });
    const captured = [...tokensOf(stack, user.user), await user.token()];
    assert.ok(captured.length >= 3, "each browser's token and a token of the script's own session");
    for (const token of captured) assert.equal((await api(stack.apiURL, token, "GET", `/api/${user.user.id}/tasks`)).status, 200);

    await laptop.getByRole("link", { name: "Devices" }).click();
    await laptop.waitForURL(`${stack.baseURL}/devices`);
    await laptop.getByRole("button", { name: "Sign out everywhere" }).click();
    await laptop.waitForURL(`${stack.baseURL}/sign-in?notice=signed-out-everywhere`);
    await laptop.getByRole("status").filter({ hasText: "You have signed out on every device." }).waitFor();
    await laptop.screenshot({ path: join(SHOTS, "signed-out-everywhere.png") });

    const start = Date.now();
    await waitUntil(
      "the API to refuse every token issued before",
      async () => {
        for (const token of captured) if ((await api(stack.apiURL, token, "GET", `/api/${user.user.id}/tasks`)).status !== 401) return false;
        return true;
      },
      { timeoutMs: (REVOCATION_TTL_S + 2) * 1000, intervalMs: 100 },
    );
    const seconds = (Date.now() - start) / 1000;
    console.log(`sign out everywhere in the browser: ${captured.length} earlier tokens refused after ${seconds.toFixed(2)} s (bound ${REVOCATION_TTL_S} s)`);
    assert.ok(seconds <= REVOCATION_TTL_S + 0.5, `${seconds} s`);

    // The phone's next action sends it to sign in, saying why.
    await phone.getByRole("button", { name: "Done" }).click();
    await phone.waitForURL(`${stack.baseURL}/sign-in?notice=session-ended`);
    await phone.getByRole("status").filter({ hasText: "Your session has ended" }).waitFor();
    await phone.screenshot({ path: join(SHOTS, "signed-out-everywhere-other-device.png") });
  });

  it("the devices page lists both sessions, this one marked, and signs out the other, which then goes to sign-in on its next action", async (t) => {
    const { browser, stack } = running;
    const user = new Visitor(stack.baseURL);
    await user.signUp("Grace");
    const laptop = await signedInBrowser(t, browser, stack, user.email);
    const phone = await signedInBrowser(t, browser, stack, user.email);
    await user.fetch("/api/auth/sign-out", { method: "POST", body: {} }); // two sessions left: the browsers'
    await phone.getByLabel("New task").fill("From the phone");
    await phone.getByLabel("New task").press("Enter");
    await phone.getByRole("list").getByText("From the phone").waitFor();
    const phoneToken = stack.apiCalls.findLast((c) => c.method === "POST").token;

    await laptop.getByRole("link", { name: "Devices" }).click();
    await laptop.getByRole("heading", { name: "Your devices" }).waitFor();
    const devices = laptop.getByRole("list", { name: "Signed-in devices" }).getByRole("listitem");
    assert.equal(await devices.count(), 2);
    const current = devices.filter({ hasText: "This device" });
    assert.equal(await current.count(), 1);
    assert.match(await current.textContent(), /Chrome \d+ on Linux/);
    assert.match(await current.textContent(), /Signed in .*\d{4}.*Last active .*\d{4}/);
    assert.equal(await current.getByRole("button", { name: "Sign out" }).count(), 0, "this device is signed out from the top bar");
    await laptop.screenshot({ path: join(SHOTS, "devices.png") });
    await laptop.setViewportSize({ width: 390, height: 844 });
    const button = await devices.filter({ hasNotText: "This device" }).getByRole("button", { name: "Sign out" }).boundingBox();
    assert.ok(button.x >= 0 && button.x + button.width <= 390, JSON.stringify(button));
    await laptop.screenshot({ path: join(SHOTS, "devices-phone.png") });
    await laptop.setViewportSize({ width: 1100, height: 760 });

    const other = devices.filter({ hasNotText: "This device" });
    const from = stack.apiCalls.length;
    await other.getByRole("button", { name: "Sign out" }).click();
    await waitUntil("the other device to leave the list", async () => (await devices.count()) === 1);
    assert.deepEqual(
      stack.apiCalls.slice(from).map((c) => `${c.method} ${c.status}`),
      ["DELETE 204"],
    );
    assert.match(stack.apiCalls[from].path, new RegExp(`^/api/${user.user.id}/sessions/[^/]+$`));
    await laptop.screenshot({ path: join(SHOTS, "devices-after-sign-out.png") });
    assert.equal((await api(stack.apiURL, phoneToken, "GET", `/api/${user.user.id}/tasks`)).status, 401, "the phone's token");

    // The phone's next action sends it to sign in; the laptop carries on.
    await phone.getByRole("button", { name: "Done" }).click();
    await phone.waitForURL(`${stack.baseURL}/sign-in?notice=session-ended`);
    await laptop.getByRole("link", { name: "Tasks" }).click();
    await laptop.getByRole("list").getByText("From the phone").waitFor();
  });
});

describe("in the browser: a key rotation inside the API's unknown-kid cooldown", () => {
  // Better Auth signs with a new key once its key is 8 s old; the API, having fetched the JWKS
  // when it started, fetches it again for an unknown kid only 30 s after that.
  const running = browserAndStackForSuite({ recordApiCalls: true, webEnv: { ...NATIVE_TOKENS, JWKS_ROTATION_INTERVAL_SECONDS: "8", JWKS_GRACE_PERIOD_SECONDS: "600" } });

  it("a fresh token the API cannot verify yet: a plain error, still signed in, two API calls per action, then it works again", async (t) => {
    const { browser, stack } = running;
    const user = new Visitor(stack.baseURL);
    await user.signUp("Rita");
    const oldToken = await user.token();
    assert.equal((await api(stack.apiURL, oldToken, "GET", `/api/${user.user.id}/tasks`)).status, 200, "the API knows the first key");
    const page = await signedInBrowser(t, browser, stack, user.email);

    await waitUntil("Better Auth to sign with a new key", async () => kid(await user.token()) !== kid(oldToken), {
      timeoutMs: 15_000,
      intervalMs: 500,
    });
    // Every token issued so far is revoked at the API (by another client), so the front end's
    // cached one is refused and it must mint one, with the new key.
    assert.equal((await api(stack.apiURL, oldToken, "DELETE", `/api/${user.user.id}/sessions`)).status, 204);

    const from = stack.apiCalls.length;
    await page.getByRole("button", { name: "Done" }).click();
    await page.getByRole("alert").filter({ hasText: "not accepting this app's sign-in just now" }).waitFor();
    assert.equal(await page.getByRole("button", { name: "All" }).getAttribute("aria-pressed"), "true", "the filter stays as it was");
    assert.equal(await page.getByText("Nothing here.").count(), 0, "the Done list, which could not be loaded, is not called empty");
    const calls = stack.apiCalls.slice(from);
    assert.deepEqual(calls.map((c) => c.status), [401, 401], "one retry, then a plain answer");
    assert.equal(kid(calls[0].token), kid(oldToken));
    assert.notEqual(kid(calls[1].token), kid(oldToken), "the fresh token has the new key");
    await page.screenshot({ path: join(SHOTS, "api-rejects-tokens.png") });

    // No loop: nothing more is sent, the page stays, and the session lives.
    await new Promise((r) => setTimeout(r, 1_500));
    assert.equal(stack.apiCalls.length, from + 2);
    assert.equal(new URL(page.url()).pathname, "/tasks");
    assert.equal((await (await page.request.get(`${stack.baseURL}/api/auth/get-session`)).json())?.user.email, user.email);
    assert.match(stack.web.output(), /refused this app's token.*"kid":"[^"]+"/);

    // Once the API may fetch the JWKS again, the next action works.
    await waitUntil("the API to accept the new key", async () => (await page.request.get(`${stack.baseURL}/api/tasks`)).status() === 200, {
      timeoutMs: 40_000,
      intervalMs: 2_000,
    });
    await page.getByRole("button", { name: "All" }).click();
    await page.getByText("No tasks yet").waitFor();
    assert.equal(await page.locator(".error").count(), 0, "the error has gone");
  });
});
