// The portal channel as a citizen uses it, in Debian's Chromium (headless, via playwright-core):
// fill in the form, submit, follow the status link, reply from the page.
// Usage: node form.mjs BASE_URL SCREENSHOT_DIR   (scripts/browser-test starts the daemon)
import { chromium } from 'playwright-core';
import assert from 'node:assert/strict';

const [base, shots] = process.argv.slice(2);
const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
         '--disable-component-update', '--disable-sync'],
});
try {
  const page = await browser.newPage({ viewport: { width: 1000, height: 1400 } });
  const external = [];
  page.on('request', (r) => { if (!r.url().startsWith(base)) external.push(r.url()); });

  await page.goto(`${base}/form`);
  await page.screenshot({ path: `${shots}/1-form.png`, fullPage: true });
  // Every field is reachable by its label (accessible names), as a screen reader would.
  await page.getByLabel('Nome e cognome').fill('Anna Ferrari');
  await page.getByLabel('Indirizzo e-mail').fill('anna@example.org');
  await page.getByLabel('Numero della pratica (facoltativo)').fill('PE-2026-001234');
  await page.getByLabel('Argomento').selectOption('Firma digitale');
  await page.getByLabel('Oggetto').fill('Firma non valida');
  // A first submission with a description too short shows the error tied to its field.
  await page.getByLabel('Descrizione del problema').fill('Errore');
  await page.getByRole('button', { name: 'Invia la richiesta' }).click();
  await page.waitForSelector('#description-error');
  assert.equal(await page.getByLabel('Descrizione del problema').getAttribute('aria-invalid'), 'true');
  assert.equal(await page.getByLabel('Nome e cognome').inputValue(), 'Anna Ferrari', 'what was typed is kept');
  await page.screenshot({ path: `${shots}/2-form-error.png`, fullPage: true });
  await page.getByLabel('Descrizione del problema').fill('Il portale rifiuta il file firmato digitalmente in formato p7m.');
  await page.getByRole('button', { name: 'Invia la richiesta' }).click();
  await page.waitForSelector('text=Richiesta registrata');
  const id = (await page.locator('.badge').innerText()).trim();
  assert.match(id, /^TCK-\d{4}-\d{5}$/);
  await page.screenshot({ path: `${shots}/3-created.png`, fullPage: true });

  await page.getByRole('link', { name: 'Segua lo stato della richiesta' }).click();
  await page.waitForSelector(`text=Richiesta ${id}`);
  await page.getByLabel('Il suo messaggio').fill('Ho riprovato con un altro browser: stesso errore.');
  await page.getByRole('button', { name: 'Invia' }).click();
  await page.waitForSelector('text=Ho riprovato con un altro browser: stesso errore.');
  await page.screenshot({ path: `${shots}/4-status.png`, fullPage: true });

  assert.deepEqual(external, [], 'the pages load nothing from elsewhere');
  console.log(`browser test passed: ${id}`);
  console.log(id);
} finally {
  await browser.close();
}
