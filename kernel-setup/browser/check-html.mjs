// Opens each notebook's exported HTML in headless Chromium and checks what a
// reader sees: the math was typeset (no TeX left as text), every figure
// loaded, and no cell shows an error. A full-page screenshot of each is
// written beside it (NAME.png).
//
// Usage: node check-html.mjs FILE.html...
import { chromium } from 'playwright-core';
import path from 'node:path';

const exe = process.env.CHROMIUM || '/usr/bin/chromium';
const browser = await chromium.launch({
  executablePath: exe,
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
    '--disable-component-update', '--disable-sync'],
});
let failed = 0;
for (const file of process.argv.slice(2)) {
  const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
  const requests = [];
  page.on('request', (r) => { if (!r.url().startsWith('file:') && !r.url().startsWith('data:')) requests.push(r.url()); });
  await page.goto('file://' + path.resolve(file), { waitUntil: 'load' });
  await page.waitForFunction(() => window.MathJax && window.MathJax.startup && window.MathJax.startup.promise, null, { timeout: 30000 });
  await page.evaluate(() => window.MathJax.startup.promise);
  const r = await page.evaluate(() => {
    const imgs = [...document.querySelectorAll('img')];
    const text = document.body.innerText;
    return {
      math: document.querySelectorAll('mjx-container').length,
      mathErrors: document.querySelectorAll('mjx-merror').length,
      rawTeX: (text.match(/\$\$|\\\(|\\\[|\\frac|\\sum|\\beta/g) || []).length,
      images: imgs.length,
      broken: imgs.filter((i) => !i.complete || i.naturalWidth === 0).length,
      errors: [...document.querySelectorAll('[data-mime-type="application/vnd.jupyter.stderr"], .jp-OutputArea-output[data-mime-type*="error"]')]
        .map((e) => e.innerText.trim().slice(0, 200)),
    };
  });
  const png = file.replace(/\.html$/, '.png');
  await page.screenshot({ path: png, fullPage: true });
  const problems = [];
  if (r.math === 0) problems.push('no math was typeset');
  if (r.mathErrors > 0) problems.push(`${r.mathErrors} TeX errors`);
  if (r.rawTeX > 0) problems.push(`${r.rawTeX} pieces of TeX left as text`);
  if (r.images === 0) problems.push('no figure');
  if (r.broken > 0) problems.push(`${r.broken} of ${r.images} figures did not load`);
  if (r.errors.length > 0) problems.push(`error output shown: ${r.errors.join(' | ')}`);
  if (requests.length > 0) problems.push(`it asked the network for ${requests.join(', ')}`);
  const name = path.basename(file);
  if (problems.length > 0) {
    failed++;
    console.log(`check-html: ${name}: FAIL: ${problems.join('; ')}`);
  } else {
    console.log(`check-html: ${name}: ${r.math} formulas typeset, ${r.images} figures loaded, no error shown; screenshot ${path.basename(png)}`);
  }
  await page.close();
}
await browser.close();
process.exit(failed > 0 ? 1 : 0);
