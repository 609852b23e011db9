// The whole stack in a real browser: Debian's Chromium driven by playwright-core (never a
// downloaded browser), against `next start` and `taskgate-local`, in JWKS and HS256 modes.
import assert from "node:assert/strict";
import { createServer } from "node:http";
import { join } from "node:path";
import { describe, it } from "node:test";
import { SHOTS, browserAndStackForSuite, cspCheckedPage, cspViolations, requireChromium } from "./chromium.mjs";
import { Visitor, requireTools, waitUntil } from "./helpers.mjs";

const JWT = /eyJ[\w-]+\.eyJ[\w-]+\.[\w-]+/;
/** A little more than the time a deleted task can be brought back (components/useUndoableDelete.ts). */
const UNDO_OVER_MS = 6_000;

requireTools();
requireChromium();

/**
 * Another site: one page whose form posts to the app's handler as soon as it loads. Served as
 * `localhost` (another site than the app's `127.0.0.1`: the SameSite=Lax cookie is not sent)
 * and as `127.0.0.1` on another port (same site, other origin: the cookie is sent, and only the
 * Origin check stands in the way).
 */
async function hostileSite(target) {
  const html = `<!doctype html><form id="f" method="POST" action="${target}" enctype="text/plain">
<input name='{"title":"planted by another site","x":"' value='"}'></form><script>document.getElementById("f").submit()</script>`;
  const server = createServer((_, response) => response.writeHead(200, { "content-type": "text/html" }).end(html));
  await new Promise((r) => server.listen(0, "127.0.0.1", r));
  const { port } = server.address();
  return {
    urls: [`http://localhost:${port}/`, `http://127.0.0.1:${port}/`],
    close: () => new Promise((r) => server.close(r)),
  };
}

for (const mode of ["jwks", "hs256"]) {
  describe(`in the browser (${mode})`, () => {
    const running = browserAndStackForSuite({ mode });

    it("sign up, manage tasks, reload, conflicts in words, no JWT in the page, CSRF refused, sign out, a second user sees nothing", async () => {
      const { browser, stack } = running;
      const second = new Visitor(stack.baseURL);
      await second.signUp("Grace");

      const context = await browser.newContext({ viewport: { width: 1100, height: 760 } });
      const violations = cspViolations(context);
      const page = await context.newPage();
      page.setDefaultTimeout(15_000);
      await page.clock.install(); // time runs as usual; the undo time after a delete is skipped
      const url = (path) => `${stack.baseURL}${path}`;

      // Signed out, the task page redirects to sign in on the server.
      await page.goto(url("/tasks"));
      assert.equal(new URL(page.url()).pathname, "/sign-in");
      await page.getByRole("heading", { name: "Sign in" }).waitFor();
      if (mode === "jwks") await page.screenshot({ path: join(SHOTS, "sign-in.png") });

      // Sign up.
      await page.getByRole("link", { name: "Create an account" }).click();
      await page.getByRole("heading", { name: "Create your account" }).waitFor();
      const email = `ada-${mode}-${Date.now()}@example.com`;
      await page.getByLabel("Name").fill("Ada Lovelace");
      await page.getByLabel("Email").fill(email);
      await page.getByLabel("Password").fill("correct horse battery");
      await page.getByRole("button", { name: "Create account" }).click();
      await page.waitForURL(url("/tasks"));
      await page.getByText("No tasks yet").waitFor();

      // Three tasks, one of them with a double-click: each creates one task.
      const list = page.getByRole("list");
      const titleInput = page.getByLabel("New task");
      for (const [title, notes] of [["Buy milk", "Oat, 2 litres"], ["Call the bank", ""], ["Write the report", "Due Friday"]]) {
        await titleInput.fill(title);
        await page.getByLabel("Notes (optional)").fill(notes);
        if (title === "Call the bank") await page.getByRole("button", { name: "Add task" }).dblclick();
        else await titleInput.press("Enter");
        await list.getByText(title, { exact: true }).waitFor();
        await page.waitForFunction(() => !document.querySelector(".new-task button")?.hasAttribute("disabled"));
      }
      assert.equal(await list.getByRole("listitem").count(), 3);

      // Toggle, edit, delete.
      await page.getByRole("checkbox", { name: /Buy milk/ }).click();
      await page.waitForFunction(() => document.querySelector(".task.done") !== null);
      await page.getByRole("button", { name: "Edit “Call the bank”" }).click();
      await page.getByLabel("Title").fill("Call the bank about the card");
      await page.getByRole("button", { name: "Save" }).click();
      await list.getByText("Call the bank about the card").waitFor();
      await page.getByRole("button", { name: "Delete “Write the report”" }).click();
      await list.getByText("Write the report").waitFor({ state: "detached" });
      const deleted = page.waitForResponse((r) => r.request().method() === "DELETE");
      await page.clock.fastForward(UNDO_OVER_MS);
      assert.equal((await deleted).status(), 204);

      // Reload: the same state, from the API.
      await page.reload();
      await list.getByText("Call the bank about the card").waitFor();
      assert.deepEqual(await list.locator(".title").allTextContents(), ["Call the bank about the card", "Buy milk"]);
      assert.equal(await page.getByRole("checkbox", { name: /Buy milk/ }).isChecked(), true);
      assert.equal(await page.getByRole("checkbox", { name: /Call the bank/ }).isChecked(), false);

      // Filter.
      await page.getByRole("button", { name: "Done" }).click();
      await page.waitForFunction(() => document.querySelectorAll(".task").length === 1);
      assert.deepEqual(await list.locator(".title").allTextContents(), ["Buy milk"]);
      await page.getByRole("button", { name: "All" }).click();
      await page.waitForFunction(() => document.querySelectorAll(".task").length === 2);
      if (mode === "jwks") {
        await page.screenshot({ path: join(SHOTS, "tasks.png") });
        await page.setViewportSize({ width: 390, height: 760 });
        await page.screenshot({ path: join(SHOTS, "tasks-phone.png") });
        await page.setViewportSize({ width: 1100, height: 760 });
      }

      // No JWT is reachable from page JavaScript: not in cookies, not in storage, not from the token endpoint.
      const reachable = await page.evaluate(async () => {
        const token = await fetch("/api/auth/token").then(async (r) => `${r.status} ${await r.text()}`);
        const session = await fetch("/api/auth/get-session").then(async (r) => `${[...r.headers].join(" ")} ${await r.text()}`);
        return { cookie: document.cookie, local: JSON.stringify(localStorage), session: JSON.stringify(sessionStorage), token, getSession: session };
      });
      for (const [where, value] of Object.entries(reachable)) assert.doesNotMatch(value, JWT, `a JWT in ${where}`);
      assert.match(reachable.token, /^404 /, "the token endpoint is closed to the page");
      assert.doesNotMatch(reachable.cookie, /session_token/, "the session cookie is httpOnly");

      // The task changed elsewhere: the page says so in words and shows the current version.
      const id = (await page.getByRole("checkbox", { name: /Call the bank/ }).getAttribute("id")).replace("done-", "");
      const elsewhere = await page.request.put(url(`/api/tasks/${id}`), {
        headers: { origin: stack.baseURL, "if-match": "*" },
        data: { title: "Call the bank (changed on the phone)" },
      });
      assert.equal(elsewhere.status(), 200);
      await page.getByRole("checkbox", { name: /Call the bank about the card/ }).click();
      await page.getByRole("alert").filter({ hasText: "changed elsewhere" }).waitFor();
      await list.getByText("Call the bank (changed on the phone)").waitFor();
      if (mode === "jwks") await page.screenshot({ path: join(SHOTS, "tasks-conflict.png") });

      // A form on another site, or another origin of the same site, posting to a handler is
      // refused, and nothing changes.
      const site = await hostileSite(url("/api/tasks"));
      try {
        for (const attackerURL of site.urls) {
          const attacker = await context.newPage();
          const refused = attacker.waitForResponse((r) => r.url() === url("/api/tasks") && r.request().method() === "POST");
          await attacker.goto(attackerURL);
          assert.equal((await refused).status(), 403, attackerURL);
          await attacker.close();
        }
      } finally {
        await site.close();
      }
      await page.reload();
      await list.getByText("Buy milk").waitFor();
      assert.equal(await list.getByRole("listitem").count(), 2);

      // Sign out; the sign-in page says so, and the task page then redirects to sign in.
      await page.getByRole("button", { name: "Sign out" }).click();
      await page.waitForURL(url("/sign-in?notice=signed-out"));
      await page.getByRole("status").filter({ hasText: "You have signed out." }).waitFor();
      await page.goto(url("/tasks"));
      assert.equal(new URL(page.url()).pathname, "/sign-in");

      // A second user signs in and sees an empty list.
      await page.getByLabel("Email").fill(second.email);
      await page.getByLabel("Password").fill("correct horse battery");
      await page.getByRole("button", { name: "Sign in" }).click();
      await page.waitForURL(url("/tasks"));
      await page.getByText("No tasks yet").waitFor();
      assert.equal(await page.locator(".task").count(), 0);

      // The session ends behind the page's back: the next action sends the user to sign in.
      assert.equal((await page.request.post(url("/api/auth/sign-out"), { headers: { origin: stack.baseURL }, data: {} })).status(), 200);
      await page.getByRole("button", { name: "Done" }).click();
      await page.waitForURL(url("/sign-in?notice=session-ended"));
      await page.getByRole("status").filter({ hasText: "Your session has ended" }).waitFor();
      assert.deepEqual(violations, [], "everything works under the Content-Security-Policy");
      await context.close();
    });
  });
}

describe("in the browser: what a person sees", () => {
  const running = browserAndStackForSuite({ apiEnv: { TASK_QUOTA: "3" } });
  const url = (path) => `${running.stack.baseURL}${path}`;
  const newPage = (t, viewport) => cspCheckedPage(t, running.browser, viewport);

  async function signUp(page, name, email = `${name.split(" ")[0].toLowerCase()}-${Date.now()}@example.com`) {
    await page.goto(url("/sign-up"));
    await page.getByLabel("Name").fill(name);
    await page.getByLabel("Email").fill(email);
    await page.getByLabel("Password").fill("correct horse battery");
    await page.getByRole("button", { name: "Create account" }).click();
    await page.waitForURL(url("/tasks"));
    return email;
  }

  async function addTask(page, title) {
    await page.getByLabel("New task").fill(title);
    await page.getByLabel("New task").press("Enter");
    await page.waitForFunction(() => !document.querySelector(".new-task button")?.hasAttribute("disabled"));
  }

  it("a page asked for by the other loopback name sends the browser to the app's own address, where sign-up works", async (t) => {
    const page = await newPage(t);
    const other = running.stack.baseURL.replace("127.0.0.1", "localhost");
    await page.goto(`${other}/sign-up`);
    await page.waitForURL(url("/sign-up"));
    await page.getByLabel("Name").fill("Lin");
    await page.getByLabel("Email").fill(`lin-${Date.now()}@example.com`);
    await page.getByLabel("Password").fill("correct horse battery");
    await page.getByRole("button", { name: "Create account" }).click();
    await page.waitForURL(url("/tasks"));
    await page.getByText("No tasks yet").waitFor();
  });

  it("delete offers undo: undo keeps the task, no undo deletes it, leaving the page deletes it", async (t) => {
    const page = await newPage(t);
    await page.clock.install(); // time runs as usual; the undo time is skipped where it is waited for
    await signUp(page, "Uma");
    for (const title of ["Keep me", "Delete me", "Leave me"]) await addTask(page, title);
    const list = page.getByRole("list");
    const deletes = [];
    page.on("request", (r) => r.method() === "DELETE" && deletes.push(r.url()));

    // Undo: the task comes back, and nothing is sent.
    await page.getByRole("button", { name: "Delete “Keep me”" }).click();
    await list.getByText("Keep me").waitFor({ state: "detached" });
    await page.getByRole("status").filter({ hasText: "Deleted “Keep me”." }).waitFor();
    await page.screenshot({ path: join(SHOTS, "tasks-undo.png") });
    await page.getByRole("button", { name: "Undo" }).click();
    await list.getByText("Keep me").waitFor();
    await page.clock.fastForward(UNDO_OVER_MS);
    assert.deepEqual(deletes, []);

    // No undo: deleted when the notice goes.
    await page.getByRole("button", { name: "Delete “Delete me”" }).click();
    await list.getByText("Delete me").waitFor({ state: "detached" });
    const deleted = page.waitForResponse((r) => r.request().method() === "DELETE");
    await page.clock.fastForward(UNDO_OVER_MS);
    assert.equal((await deleted).status(), 204);
    await page.getByRole("button", { name: "Undo" }).waitFor({ state: "detached" });

    await page.reload();
    await list.getByText("Keep me").waitFor();
    assert.deepEqual(await list.locator(".title").allTextContents(), ["Leave me", "Keep me"]);

    // Leaving the page during the undo time: the deletion is sent as the page goes.
    const id = (await page.getByRole("checkbox", { name: /Leave me/ }).getAttribute("id")).replace("done-", "");
    await page.getByRole("button", { name: "Delete “Leave me”" }).click();
    await list.getByText("Leave me").waitFor({ state: "detached" });
    await page.goto("about:blank");
    await waitUntil("the task to be deleted", async () => (await page.request.get(url(`/api/tasks/${id}`))).status() === 404, {
      timeoutMs: 10_000,
    });
  });

  it("past the task limit, the page says so in plain words", async (t) => {
    const page = await newPage(t);
    await signUp(page, "Quinn");
    for (const title of ["One", "Two", "Three"]) await addTask(page, title);
    await addTask(page, "Four");
    await page.getByRole("alert").filter({ hasText: "You have reached your task limit. Delete some tasks to add more." }).waitFor();
    assert.equal(await page.locator(".task").count(), 3);
    await page.screenshot({ path: join(SHOTS, "tasks-quota.png") });
  });

  it("on a phone, who is signed in is shown; after signing out, the sign-in page says so", async (t) => {
    const page = await newPage(t, { width: 390, height: 844 });
    await signUp(page, "Ada Lovelace");
    const user = page.locator(".topbar .user");
    await user.getByText("Ada Lovelace").waitFor();
    assert.equal(await user.isVisible(), true);
    const box = await user.boundingBox();
    assert.ok(box.x >= 0 && box.x + box.width <= 390 && box.width > 40, JSON.stringify(box));
    assert.equal(await user.evaluate((el) => el.scrollWidth <= el.clientWidth), true, "the name is cut off");
    await page.screenshot({ path: join(SHOTS, "phone-signed-in.png") });

    await page.getByRole("button", { name: "Sign out" }).click();
    await page.getByRole("status").filter({ hasText: "You have signed out." }).waitFor();
    await page.getByRole("heading", { name: "Sign in" }).waitFor();
    await page.screenshot({ path: join(SHOTS, "signed-out.png") });
  });

  it("signing up with an email that has an account does not say so; a short password gets useful words", async (t) => {
    const first = new Visitor(running.stack.baseURL);
    await first.signUp("Sam");
    const page = await newPage(t);
    await page.goto(url("/sign-up"));
    await page.getByLabel("Name").fill("Sam again");
    await page.getByLabel("Email").fill(first.email);
    await page.getByLabel("Password").fill("another good password");
    await page.getByRole("button", { name: "Create account" }).click();
    const alert = page.locator("#auth-error");
    await alert.waitFor();
    const words = await alert.textContent();
    assert.match(words, /could not be created/);
    assert.doesNotMatch(words, /exist|already|registered|taken|in use/i);
    await page.screenshot({ path: join(SHOTS, "sign-up-refused.png") });

    // The browser itself asks for 8 characters; past that check, the server's answer is in words too.
    await page.getByLabel("Email").fill(`sam-${Date.now()}@example.com`);
    await page.getByLabel("Password").evaluate((input) => input.removeAttribute("minlength"));
    await page.getByLabel("Password").fill("short");
    await page.getByRole("button", { name: "Create account" }).click();
    await alert.filter({ hasText: "Use a password of at least 8 characters." }).waitFor();
  });

  it("an address that is no page shows the app's own not-found page, styled, under the policy", async (t) => {
    const page = await newPage(t);
    const response = await page.goto(url("/no-such-page"));
    assert.equal(response.status(), 404);
    await page.getByRole("heading", { name: "There is no such page" }).waitFor();
    await page.getByRole("link", { name: "Go to your tasks" }).waitFor();
    await page.screenshot({ path: join(SHOTS, "not-found.png") });
  });

  it("a script injected into a page without the nonce is blocked, reported to the report endpoint, and the page still works", async (t) => {
    const context = await running.browser.newContext({ viewport: { width: 1100, height: 760 } });
    t.after(() => context.close());
    const violations = cspViolations(context);
    const page = await context.newPage();
    page.setDefaultTimeout(15_000);
    await signUp(page, "Ivy");
    // The app's own answer for the task page, with the headers it came with (its policy and
    // nonce), and an inline script put into its HTML as an injection would.
    await page.route(url("/tasks"), async (route) => {
      const response = await route.fetch();
      const html = (await response.text()).replace("<head>", '<head><script>window.injected = "ran"</script>');
      await route.fulfill({ response, body: html });
    });
    await page.goto(url("/tasks"));
    assert.equal(await page.evaluate(() => window.injected), undefined, "the injected script did not run");
    assert.equal(violations.length, 1, violations.join("\n"));
    assert.match(violations[0], /inline script/);
    await waitUntil("the violation to reach the report endpoint", () => /"event":"csp-violation"/.test(running.stack.web.output()), {
      timeoutMs: 10_000,
    });
    const logged = running.stack.web
      .output()
      .split("\n")
      .filter((line) => line.includes('"event":"csp-violation"'))
      .map((line) => JSON.parse(line));
    assert.deepEqual(logged, [
      {
        event: "csp-violation",
        document: url("/tasks"),
        directive: "script-src-elem",
        blocked: "inline",
        disposition: "enforce",
        source: url("/tasks"),
        line: 1,
        column: logged[0]?.column,
        status: 200,
      },
    ]);
    // The app's own scripts, which carry the nonce, ran: the page works.
    await addTask(page, "Still works");
    await page.getByRole("list").getByText("Still works").waitFor();
    await page.screenshot({ path: join(SHOTS, "csp-injected-script-blocked.png") });
  });
});
