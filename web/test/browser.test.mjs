// The whole stack in a real browser: Debian's Chromium driven by playwright-core (never a
// downloaded browser), against `next start` and `taskgate-local`, in JWKS and HS256 modes.
import assert from "node:assert/strict";
import { existsSync, mkdirSync } from "node:fs";
import { createServer } from "node:http";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { chromium } from "playwright-core";
import { Visitor, WEB_DIR, requireTools, startStack } from "./helpers.mjs";

const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const SHOTS = join(WEB_DIR, "test-results");
const JWT = /eyJ[\w-]+\.eyJ[\w-]+\.[\w-]+/;

requireTools();
if (!existsSync(CHROMIUM)) {
  throw new Error(`Chromium is missing at ${CHROMIUM}: run scripts/install-test-deps.sh, or as root: apt-get update && apt-get install -y chromium`);
}

function launch() {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
}

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
    let stack, browser;
    after(async () => {
      await browser?.close();
      await stack?.stop();
    });
    before(async () => {
      browser = await launch();
      stack = await startStack({ mode });
      mkdirSync(SHOTS, { recursive: true });
    });

    it("sign up, manage tasks, reload, conflicts in words, no JWT in the page, CSRF refused, sign out, a second user sees nothing", async () => {
      const second = new Visitor(stack.baseURL);
      await second.signUp("Grace");

      const context = await browser.newContext({ viewport: { width: 1100, height: 760 } });
      const page = await context.newPage();
      page.setDefaultTimeout(15_000);
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
        const token = await fetch("/api/auth/token").then((r) => r.text());
        const session = await fetch("/api/auth/get-session").then(async (r) => `${[...r.headers].join(" ")} ${await r.text()}`);
        return { cookie: document.cookie, local: JSON.stringify(localStorage), session: JSON.stringify(sessionStorage), token, getSession: session };
      });
      for (const [where, value] of Object.entries(reachable)) assert.doesNotMatch(value, JWT, `a JWT in ${where}`);
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

      // Sign out; the task page then redirects to sign in.
      await page.getByRole("button", { name: "Sign out" }).click();
      await page.waitForURL(url("/sign-in"));
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
      await page.waitForURL(url("/sign-in"));
      await context.close();
    });
  });
}
