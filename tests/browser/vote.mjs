// The satisfaction vote as a citizen casts it, in Debian's Chromium (headless, via playwright-core):
// the closing letter's link opens a confirmation page that records nothing; a form sent from
// another page, or without the page's token, is refused; the page's own form records the vote and
// the status page shows it. Every page of the portal passes axe-core's WCAG 2.1 A/AA rules.
// Usage: node vote.mjs BASE_URL VOTE_LINK SCREENSHOT_DIR   (scripts/browser-test drives it)
import { chromium } from 'playwright-core';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';

const [base, link, shots] = process.argv.slice(2);
const axeSource = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
         '--disable-component-update', '--disable-sync'],
});

// axe-core's WCAG 2.0/2.1 level A and AA rules on the page as it stands (injected by the test:
// the pages' own CSP forbids scripts, so it is bypassed for this check only).
async function wcag(page, name) {
  await page.addScriptTag({ content: axeSource });
  const result = await page.evaluate(() => window.axe.run(document, {
    runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] },
  }));
  const found = result.violations.map((v) => `${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(' ')).join(', ')})`);
  assert.deepEqual(found, [], `${name}: WCAG 2.1 AA violations`);
}

try {
  const context = await browser.newContext({ viewport: { width: 1000, height: 1400 }, bypassCSP: true });
  const page = await context.newPage();
  const external = [];
  page.on('request', (r) => { if (!r.url().startsWith(base) && !r.url().startsWith('about:')) external.push(r.url()); });

  // The form and the status page (the form's privacy notice sits by its button).
  await page.goto(`${base}/form`);
  assert.match(await page.locator('#privacy-notice').innerText(), /Informativa privacy/);
  await wcag(page, 'form');

  // The link of the closing letter: a confirmation page with the chosen face, nothing recorded.
  await page.goto(link);
  await page.waitForSelector('text=Il suo giudizio sulla richiesta');
  assert.equal(await page.getByLabel('Negativo').isChecked(), true, 'the face the link chose');
  await page.screenshot({ path: `${shots}/5-vote.png`, fullPage: true });
  await wcag(page, 'vote page');
  const statusLink = new URL(await page.getByRole('link', { name: 'Torna alla pagina della richiesta' }).getAttribute('href'), base).href;
  await page.goto(statusLink);
  assert.equal(await page.locator('text=Ha espresso un giudizio').count(), 0, 'a GET alone records nothing');
  await wcag(page, 'status page');

  // Forged submissions: no token, a wrong one, and the right one from another page: refused.
  await page.goto(link);
  const action = new URL(await page.locator('form').getAttribute('action'), base).href;
  const token = await page.locator('input[name=csrf]').inputValue();
  for (const form of [{ score: 'negativo' }, { score: 'negativo', csrf: 'f'.repeat(32) }]) {
    const answer = await context.request.post(action, { form, headers: { Origin: base }, maxRedirects: 0 });
    assert.equal(answer.status(), 403, JSON.stringify(form));
  }
  const attacker = await context.newPage();
  await attacker.setContent(`<form method="post" action="${action}"><input name="csrf" value="${token}">
    <input name="score" value="negativo"><button>go</button></form>`);
  const [forged] = await Promise.all([attacker.waitForNavigation(), attacker.click('button')]);
  assert.equal(forged.status(), 403, 'a form on another page, even with the token');
  await attacker.close();
  await page.goto(statusLink);
  assert.equal(await page.locator('text=Ha espresso un giudizio').count(), 0, 'nothing recorded by the forgeries');

  // The page's own form: the comment, the button, back on the status page with the vote.
  await page.goto(link);
  await page.getByLabel('Commento (facoltativo)').fill('Nessuno mi ha richiamato, ho risolto da solo.');
  await page.getByRole('button', { name: 'Conferma il giudizio' }).click();
  await page.waitForSelector('text=Ha espresso un giudizio negativo');
  await page.screenshot({ path: `${shots}/6-voted.png`, fullPage: true });
  await wcag(page, 'status page with the vote');

  assert.deepEqual(external, [], 'the pages load nothing from elsewhere');
  console.log('vote browser test passed');
} finally {
  await browser.close();
}
