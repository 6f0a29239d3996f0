// Runs notebooks where users run them: in the live Jupyter Notebook UI, in
// headless Chromium, against a running Jupyter server with the GoNB kernel.
// For each notebook it opens the page, waits for the kernel, presses Run All
// and waits for every cell; it fails on any error or standard-error output.
// In the explorer (notebook 6) it then drives the controls and checks that
// the status line moves as the method says it must: a hidden step lands its
// surrogate below the loss before it, a pattern update changes no weight
// and so not the loss, a changed control starts a new solver. It keeps a
// full-page screenshot of each notebook (NAME-live.png) and writes the
// executed notebook, outputs and all, to OUT/NAME.ipynb, which the static
// checks then read. The explorer runs a second time with GoNB's first
// connection to the page failed on purpose (failFirstConnection).
//
// Usage: node live-ui.mjs URL TOKEN OUT NAME.ipynb...
import { chromium } from 'playwright-core';
import fs from 'node:fs';
import path from 'node:path';

const [base, token, out, ...names] = process.argv.slice(2);
const exe = process.env.CHROMIUM || '/usr/bin/chromium';
const cellTimeout = 900_000; // a cell's longest run, as run-notebooks allows
const browser = await chromium.launch({
  executablePath: exe,
  args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking',
    '--disable-component-update', '--disable-sync'],
});
let failed = 0;

// The state of every cell: its prompt ('*' while queued or running) and
// its error outputs.
function cellsState() {
  return Jupyter.notebook.get_cells().filter((c) => c.cell_type === 'code').map((c) => ({
    prompt: c.input_prompt_number,
    errors: (c.output_area?.outputs ?? [])
      .filter((o) => o.output_type === 'error' || (o.output_type === 'stream' && o.name === 'stderr'))
      .map((o) => (o.text ?? o.evalue ?? '').toString().slice(0, 300)),
    source: c.get_text().slice(0, 60),
  }));
}

async function waitIdle(page, what, timeout) {
  await page.waitForFunction(() => {
    const cells = Jupyter.notebook.get_cells().filter((c) => c.cell_type === 'code');
    return cells.every((c) => c.input_prompt_number !== '*' && c.input_prompt_number !== undefined && c.input_prompt_number !== null)
      && Jupyter.notebook.kernel && !document.querySelector('#kernel_indicator_icon.kernel_busy');
  }, null, { timeout, polling: 1000 }).catch((e) => { throw new Error(`${what}: ${e.message.split('\n')[0]}`); });
}

// status returns the explorer's status line.
const status = (page) => page.$eval('#relunet-explore-status', (e) => e.innerText);
const lossOf = (s) => Number((s.match(/training MSE ([0-9.e+-]+)/) ?? [])[1]);

// waitStatus waits until the status line differs from before and says
// want, or fails saying what did not happen and what the line says.
async function waitStatus(page, before, want, what) {
  try {
    await page.waitForFunction(([b, w]) => {
      const s = document.querySelector('#relunet-explore-status')?.innerText ?? '';
      return s !== b && s.includes(w);
    }, [before, want], { timeout: 60_000 });
  } catch {
    throw new Error(`${what}: the status line never said "${want}"; it says: ${await status(page).catch(() => '(none)')}`);
  }
  return status(page);
}

async function clickAndWait(page, id, want) {
  const before = await status(page);
  await page.click(`#${id}`);
  return waitStatus(page, before, want, `the button ${id}`);
}

// explore drives the explorer's controls and checks the method's facts.
async function explore(page, problems) {
  await page.waitForSelector('#relunet-explore-status', { timeout: 120_000 });
  await page.waitForSelector('#relunet-explore-reset', { timeout: 60_000 });
  // A control: 24 hidden units, which starts a new solver.
  const slider = await page.$$('input[type=range]');
  let before = await status(page);
  await slider[0].evaluate((el) => { el.value = 24; el.dispatchEvent(new Event('change')); });
  await waitStatus(page, before, 'h = 24', 'the hidden-units slider set to 24');
  // A second control: the seed, 5.
  before = await status(page);
  await slider[3].evaluate((el) => { el.value = 5; el.dispatchEvent(new Event('change')); });
  await waitStatus(page, before, 'seed 5', 'the seed slider set to 5');
  const start = await status(page);
  const figsBefore = await page.$eval('#relunet-explore-figures', (e) => e.innerHTML.length + ':' + e.innerHTML.slice(-200));
  const hidden = await clickAndWait(page, 'relunet-explore-hidden-step', 'hidden step: surrogate');
  const surrogate = Number((hidden.match(/surrogate ([0-9.e+-]+)/) ?? [])[1]);
  if (!(surrogate <= lossOf(start) * (1 + 1e-6))) problems.push(`hidden step: surrogate ${surrogate} above the loss before it, ${lossOf(start)}`);
  const pattern = await clickAndWait(page, 'relunet-explore-pattern-update', 'pattern update');
  if (lossOf(pattern) !== lossOf(hidden)) problems.push(`pattern update changed the loss: ${lossOf(hidden)} to ${lossOf(pattern)}`);
  await clickAndWait(page, 'relunet-explore-output-step', 'output step');
  const alt = await clickAndWait(page, 'relunet-explore-one-alternation', 'one alternation');
  if (!/iteration 2,/.test(alt)) problems.push(`after three sub-steps and an alternation the status says ${alt}`);
  const figsAfter = await page.$eval('#relunet-explore-figures', (e) => e.innerHTML.length + ':' + e.innerHTML.slice(-200));
  if (figsAfter === figsBefore) problems.push('the figures did not change');
  console.log(`live-ui: explorer: ${start} | ${hidden} | ${pattern} | ${alt}`);
}

// failFirstConnection makes the page's first wait for GoNB's
// comm_open_ack (half a second in GoNB's script) end at once, as it does
// when a busy machine answers late: the explorer must then connect again.
function failFirstConnection() {
  const orig = window.setTimeout;
  let done = false;
  window.setTimeout = function (fn, ms, ...rest) {
    if (!done && ms === 500 && String(fn).includes('comm_open_ack')) {
      done = true;
      return orig(fn, 0, ...rest);
    }
    return orig(fn, ms, ...rest);
  };
}

// run runs the notebook name in the live UI and reports on it; with fault
// its page's first connection to GoNB fails (failFirstConnection), and
// nothing is written but the report.
async function run(name, fault) {
  const label = fault ? `${name} (GoNB's first connection to the page failed on purpose)` : name;
  const problems = [];
  const page = await browser.newPage({ viewport: { width: 1300, height: 1000 } });
  if (fault) await page.addInitScript(failFirstConnection);
  // GoNB's JavaScript gives the kernel half a second to acknowledge its
  // connection; on a busy machine the answer can come later, and the front
  // end then closes the connection, which display.Explore makes again (it
  // tries twice). That page error is printed, not failed on: the explorer's
  // checks below fail if its controls do not work.
  let slow = false;
  page.on('pageerror', (e) => {
    if (/comm_open_ack not received in time/.test(e.message)) {
      slow = true;
      console.log(`live-ui: ${label}: GoNB's connection to the page was slow to open (${e.message}); the cell tries again`);
      return;
    }
    problems.push(`page error: ${e.message}`);
  });
  const began = Date.now();
  try {
    await page.goto(`${base}/notebooks/${name}?token=${token}`, { waitUntil: 'load', timeout: 60_000 });
    await page.waitForFunction(() => window.Jupyter?.notebook?.kernel?.is_connected?.() && window.Jupyter.notebook._fully_loaded,
      null, { timeout: 120_000 });
    // Never save: the page shows a committed notebook.
    await page.evaluate(() => {
      Jupyter.notebook.set_autosave_interval(0);
      Jupyter.notebook.clear_all_output();
      Jupyter.notebook.execute_all_cells();
    });
    if (name.startsWith('06-')) {
      await explore(page, problems);
      await page.evaluate(() => Jupyter.notebook.kernel.interrupt());
    }
    await waitIdle(page, 'Run All', cellTimeout);
    for (const c of await page.evaluate(cellsState)) {
      for (const e of c.errors) problems.push(`cell "${c.source.split('\n')[0]}": ${e}`);
    }
    if (!fault) {
      const nb = await page.evaluate(() => Jupyter.notebook.toJSON());
      fs.writeFileSync(path.join(out, name), JSON.stringify(nb, null, 1) + '\n');
    }
  } catch (e) {
    problems.push(e.message);
  }
  if (fault && !slow) problems.push('the first connection did not fail: GoNB\'s script no longer waits as failFirstConnection expects');
  const png = path.join(out, name.replace(/\.ipynb$/, '-live.png'));
  if (!fault) await page.screenshot({ path: png, fullPage: true }).catch(() => {});
  const secs = Math.round((Date.now() - began) / 1000);
  if (problems.length > 0) {
    failed++;
    console.log(`live-ui: ${label}: FAIL after ${secs} s: ${problems.join('; ')}`);
  } else {
    console.log(`live-ui: ${label}: every cell ran without an error in ${secs} s${fault ? '' : `; screenshot ${path.basename(png)}`}`);
  }
  // Leave the kernel for the next notebook.
  await page.evaluate(() => Jupyter.notebook.session.delete()).catch(() => {});
  await page.close();
}

for (const name of names) {
  await run(name, false);
  if (name.startsWith('06-')) await run(name, true);
}
await browser.close();
process.exit(failed > 0 ? 1 : 0);
