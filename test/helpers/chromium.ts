// Shared by the browser tests: Debian's Chromium through playwright-core, offline. Every http(s)/ws
// request is recorded and aborted, and console errors and page errors are collected per page.
import * as fs from "node:fs";
import { chromium, type Browser, type BrowserContext, type Page } from "playwright-core";

export const CHROMIUM = "/usr/bin/chromium";

/** Why a browser test is skipped, or false when Chromium is installed. */
export function chromiumSkip(): string | false {
  return fs.existsSync(CHROMIUM) ? false : `${CHROMIUM} is absent: install Debian's chromium (apt-get install -y chromium) to run this test`;
}

export interface OfflineBrowser {
  browser: Browser;
  context: BrowserContext;
  /** Remote URLs the pages asked for (all were aborted). */
  remote: string[];
  /** Console errors and uncaught page errors, prefixed with the page's label. */
  errors: string[];
  /** A new page whose errors are collected under `label`. */
  newPage(label: string): Promise<Page>;
  close(): Promise<void>;
}

/** Launches headless Chromium with a 1200×900 context that cannot reach the network. */
export async function launchOffline(): Promise<OfflineBrowser> {
  // playwright-core gives the browser a fresh temporary --user-data-dir and removes it on close.
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
  const context = await browser.newContext({ viewport: { width: 1200, height: 900 } });
  const remote: string[] = [];
  const errors: string[] = [];
  const remoteUrl = /^(https?|wss?):/i;
  context.on("request", (req) => {
    if (remoteUrl.test(req.url())) remote.push(req.url());
  });
  await context.route(remoteUrl, (route) => route.abort());
  return {
    browser, context, remote, errors,
    async newPage(label: string): Promise<Page> {
      const page = await context.newPage();
      page.on("console", (m) => {
        if (m.type() === "error") errors.push(`${label}: ${m.text()}`);
      });
      page.on("pageerror", (e) => errors.push(`${label}: ${e.message}`));
      return page;
    },
    close: () => browser.close(),
  };
}
