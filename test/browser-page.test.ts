import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import type { Browser } from "playwright-core";
import { startServer, type RunningServer } from "../src/server/server.js";
import { toyModel, launchChromium, countColours, skipWithoutChromium, RGB } from "./pipeline-helpers.js";

let srv: RunningServer | undefined;
let browser: Browser | undefined;

before(async () => {
  if (skipWithoutChromium) return;
  srv = await startServer((await toyModel()).file, { port: 0, modelName: "toy.safetensors" });
  browser = await launchChromium();
});
after(async () => {
  await browser?.close();
  await srv?.close();
});

const TEXT = "John Smith lives in London and works for Microsoft. Anna lives in Paris.";

test("the served page: paste text, press the button, see the entities highlighted", { skip: skipWithoutChromium }, async () => {
  const page = await browser!.newPage({ viewport: { width: 1000, height: 800 } });
  const errors: string[] = [];
  page.on("pageerror", (e) => errors.push(e.message));
  await page.goto(`${srv!.url}/`);
  await page.waitForFunction(() => document.getElementById("model")!.textContent!.includes("toy.safetensors"));
  await page.fill("#text", TEXT);
  const before = await countColours(browser!, await page.screenshot(), RGB);
  assert.deepEqual(before, { PER: 0, LOC: 0, ORG: 0 }, "nothing is highlighted before tagging");

  await page.click("#tag");
  await page.waitForSelector("#result mark.entity");
  const marks = await page.$$eval("#result mark.entity", (ms) => ms.map((m) => `${m.firstChild!.textContent}/${m.getAttribute("data-label")}/${m.querySelector("span")!.textContent}`));
  assert.deepEqual(marks, ["John Smith/PER/PER", "London/LOC/LOC", "Microsoft/ORG/ORG", "Anna/PER/PER", "Paris/LOC/LOC"]);
  assert.equal(await page.textContent("#status"), "15 tokens, 5 entities");
  assert.equal(await page.$$eval("#ents tbody tr", (rows) => rows.length), 5);

  const shot = await page.locator("#result").screenshot();
  const after = await countColours(browser!, shot, RGB);
  for (const [label, n] of Object.entries(after)) assert.ok(n > 300, `${label} should be highlighted: ${n} pixels of its colour`);

  // An error from the server shows on the page, which keeps working.
  await page.fill("#text", "   ");
  await page.click("#tag");
  await page.waitForFunction(() => document.getElementById("error")!.textContent !== "");
  assert.equal(await page.textContent("#error"), '"text" is empty');
  assert.equal(await page.$$eval("#result mark", (ms) => ms.length), 0);
  await page.fill("#text", "Reuters hired Peter Jones.");
  await page.click("#tag");
  await page.waitForSelector("#result mark.entity");
  assert.deepEqual(await page.$$eval("#result mark.entity", (ms) => ms.map((m) => m.getAttribute("data-label"))), ["ORG", "PER"]);
  assert.equal(await page.textContent("#error"), "");
  assert.deepEqual(errors, []);
  await page.close();
});

test("text with markup is shown as text, never run", { skip: skipWithoutChromium }, async () => {
  const page = await browser!.newPage();
  await page.goto(`${srv!.url}/`);
  await page.fill("#text", "<img src=x onerror=\"document.title='pwned'\"> Anna lives in Paris.");
  await page.click("#tag");
  await page.waitForSelector("#result mark.entity");
  assert.equal(await page.$$eval("#result img", (imgs) => imgs.length), 0);
  assert.match((await page.textContent("#result"))!, /<img src=x/);
  assert.notEqual(await page.title(), "pwned");
  await page.close();
});
