/// <reference lib="dom" />
/// <reference lib="dom.iterable" />
import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { locateChromium } from '@wagw/embedded';

const REPO_ROOT = resolve(import.meta.dirname, '..', '..', '..');

/**
 * Headless Chromium driven by playwright-core: Debian's, found or unpacked the way Redis is (see
 * `locateChromium`), never a browser download of Playwright's own. Chromium's background networking
 * is off: this machine reaches nothing outside it.
 */
export async function launchChromium(): Promise<Browser> {
  const binary = locateChromium(join(REPO_ROOT, '.data', 'chromium'));
  return chromium.launch({
    executablePath: binary.path,
    env: { ...process.env, ...binary.env },
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage'],
  });
}

export interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  nodes: Array<{ target: string[] }>;
}

const axeSource = (): string => readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

/**
 * axe-core's serious and critical violations on the page as it is now. Evaluated through the DevTools
 * protocol, so the page's CSP (which allows no inline script) is neither relaxed nor in the way.
 */
export async function seriousAccessibilityViolations(page: Page): Promise<AxeViolation[]> {
  await page.evaluate(axeSource());
  const violations = await page.evaluate(async () => {
    const axe = (globalThis as unknown as { axe: { run(context: Document): Promise<{ violations: AxeViolation[] }> } }).axe;
    return (await axe.run(document)).violations;
  });
  return violations.filter((violation) => violation.impact === 'serious' || violation.impact === 'critical');
}

/**
 * Presses Tab until focus comes back around, and returns the interactive elements it never reached:
 * every action on the page must be reachable by keyboard.
 */
export async function unreachableByKeyboard(page: Page, maxTabs = 200): Promise<string[]> {
  await page.evaluate(() => {
    for (const element of document.querySelectorAll<HTMLElement>('[data-tab-seen]')) delete element.dataset['tabSeen'];
  });
  const reached = new Set<string>();
  // Tabbing starts wherever focus was, passes the browser's own UI (focus on the body) once at the end
  // of the page, and wraps around: done at the first element seen twice.
  let outsideThePage = 0;
  for (let press = 0; press < maxTabs && outsideThePage < 2; press++) {
    await page.keyboard.press('Tab');
    const id = await page.evaluate(() => {
      const element = document.activeElement as HTMLElement | null;
      if (!element || element === document.body) return null;
      element.dataset['tabSeen'] ??= String(document.querySelectorAll('[data-tab-seen]').length);
      return element.dataset['tabSeen'];
    });
    if (id === null) {
      outsideThePage++;
      continue;
    }
    if (reached.has(id)) break;
    reached.add(id);
  }
  return page.evaluate(() =>
    [...document.querySelectorAll<HTMLElement>('a[href], button:not([disabled]), input:not([disabled]), textarea:not([disabled]), select:not([disabled]), summary')]
      .filter((element) => element.offsetParent !== null && element.dataset['tabSeen'] === undefined)
      .map((element) => `${element.tagName.toLowerCase()} "${(element.textContent || element.getAttribute('aria-label') || element.getAttribute('name') || '').trim().slice(0, 40)}"`),
  );
}
