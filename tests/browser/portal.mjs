// Drives the portal in Debian's headless Chromium with Playwright: posts the Mandelbrot
// example twice, once as a dev account and once signing through a test wallet injected into
// the page as `window.injectedWeb3` (the path a real polkadot-js extension takes), watches the
// tiles arrive, checks the image, downloads it as a PNG and downloads an output; then posts a
// prime count, a password search and a matrix product and reads their answers: the primes
// counted, the password found, and C downloaded whole; reads the dev account's credits page; the
// wallet also posts a long prime count and cancels it from its page. Each post reads what the
// page says it will hold before holding it, and a quote for more replicas than there are
// workers warns. Prints one JSON line per job (and one for the workers page) for
// tests/tests/browser.rs, which starts the node, the portal and the workers and checks the
// jobs on chain. Screenshots go to $ARTIFACTS.
//
// Env: PORTAL_URL, ARTIFACTS, WALLET_SEED (hex, 32 bytes: an ed25519 key), WALLET_ADDRESS
// (its SS58 address), CHROMIUM (default /usr/bin/chromium).
import { createHash, createPrivateKey, sign } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { blake2b } from '@noble/hashes/blake2b';
import { chromium } from 'playwright-core';

const url = process.env.PORTAL_URL;
const artifacts = process.env.ARTIFACTS;
const seed = Buffer.from(process.env.WALLET_SEED, 'hex');
const address = process.env.WALLET_ADDRESS;
const params = { width: 256, height: 192, tiles_x: 4, tiles_y: 4, max_iter: 300 };
const TILE_BYTES = (256 / 4) * (192 / 4);

// The ed25519 key from its 32-byte seed (PKCS#8 wrapping).
const key = createPrivateKey({
  key: Buffer.concat([Buffer.from('302e020100300506032b657004220420', 'hex'), seed]),
  format: 'der',
  type: 'pkcs8',
});

// SCALE compact encoding of a non-negative integer.
function compact(value) {
  let v = BigInt(value);
  if (v < 1n << 6n) return Buffer.from([Number(v << 2n)]);
  if (v < 1n << 14n) { const b = Buffer.alloc(2); b.writeUInt16LE(Number((v << 2n) | 1n)); return b; }
  if (v < 1n << 30n) { const b = Buffer.alloc(4); b.writeUInt32LE(Number((v << 2n) | 2n)); return b; }
  const bytes = [];
  while (v > 0n) { bytes.push(Number(v & 0xffn)); v >>= 8n; }
  return Buffer.from([((bytes.length - 4) << 2) | 3, ...bytes]);
}

const hex = (s) => Buffer.from(s.replace(/^0x/, ''), 'hex');
const u32 = (s) => { const b = Buffer.alloc(4); b.writeUInt32LE(Number(BigInt(s))); return b; };

// What a wallet signs for a SignerPayloadJSON, built from the JSON alone.
function signingBytes(p) {
  const extra = [];
  const additional = [];
  for (const ext of p.signedExtensions) {
    switch (ext) {
      case 'CheckNonZeroSender': case 'CheckWeight': break;
      case 'CheckSpecVersion': additional.push(u32(p.specVersion)); break;
      case 'CheckTxVersion': additional.push(u32(p.transactionVersion)); break;
      case 'CheckGenesis': additional.push(hex(p.genesisHash)); break;
      case 'CheckMortality': extra.push(hex(p.era)); additional.push(hex(p.blockHash)); break;
      case 'CheckNonce': extra.push(compact(BigInt(p.nonce))); break;
      case 'ChargeTransactionPayment': extra.push(compact(BigInt(p.tip))); break;
      default: throw new Error(`the test wallet does not know the extension ${ext}`);
    }
  }
  const bytes = Buffer.concat([hex(p.method), ...extra, ...additional]);
  return bytes.length > 256 ? Buffer.from(blake2b(bytes, { dkLen: 32 })) : bytes;
}

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});

// Opens the portal in `page`, posts the built-in `workload` made from `params` signed by
// `signer` (first reading what the page says posting will hold, then holding it), and returns
// the job id once the page shows the job, with the hold the page showed.
async function postWorkload(page, label, workload, workloadParams, signer) {
  await page.goto(url);
  await page.waitForSelector('#post');
  await page.selectOption('#source', 'builtin');
  await page.selectOption('#workload', workload);
  // The defaults shown, in the order the workload lists its parameters, each explained below.
  const shown = Object.keys(JSON.parse(await page.inputValue('#params')));
  const explained = await page.locator('#params-help dt').allTextContents();
  const about = await page.locator('#params-help dd').allTextContents();
  if (shown.join() !== explained.join() || about.length !== shown.length || about.some((a) => !a)) {
    throw new Error(`${workload}: parameters ${shown} explained as ${explained}: ${about}`);
  }
  if (workload === 'mandelbrot' && shown.join() !== 'width,height,tiles_x,tiles_y,max_iter,cx,cy,span') {
    throw new Error(`the Mandelbrot parameters are not in reading order: ${shown}`);
  }
  await page.fill('#params', JSON.stringify(workloadParams));
  await page.selectOption('#signer', signer);
  await page.fill('#reward', '0.01');
  await page.screenshot({ path: `${artifacts}/${label}-post.png`, fullPage: true });
  await page.click('#post');
  await page.waitForSelector('#quote:not([hidden]) #confirm:not([disabled])', { timeout: 120_000 });
  if (label === 'dev-account') {
    // Both workers are registered: two replicas need no warning.
    if (await page.$('#too-few')) throw new Error(`two workers, two replicas: ${await page.textContent('#too-few')}`);
    // A quote no longer stands once the form changes: posting again quotes again.
    const first = await page.textContent('#hold');
    await page.fill('#reward', '0.02');
    if (!(await page.isHidden('#quote'))) throw new Error('the quote stays after the reward changed');
    await page.click('#post');
    await page.waitForSelector('#quote:not([hidden]) #confirm:not([disabled])', { timeout: 120_000 });
    if (await page.textContent('#hold') === first) throw new Error(`doubling the reward left the hold at ${first}`);
    // Three replicas of each task, with two workers registered: the quote warns.
    await page.fill('#replication', '3');
    await page.click('#post');
    await page.waitForSelector('#quote:not([hidden]) #too-few', { timeout: 120_000 });
    const warning = await page.textContent('#too-few');
    if (!warning.includes('only 2 registered workers can take these tasks now, and a task needs results from 3 different workers')) {
      throw new Error(`three replicas, two workers: ${warning}`);
    }
    await page.screenshot({ path: `${artifacts}/${label}-too-few.png`, fullPage: true });
    await page.fill('#replication', '2');
    await page.fill('#reward', '0.01');
    await page.click('#post');
    await page.waitForFunction((was) => document.querySelector('#hold')?.textContent === was, first, { timeout: 120_000 });
  }
  const hold = await page.textContent('#hold');
  if (await page.textContent('#confirm') !== `Hold ${hold} and post`) throw new Error(`${label}: the button does not say the hold ${hold}`);
  await page.screenshot({ path: `${artifacts}/${label}-quote.png`, fullPage: true });
  await page.click('#confirm');
  await page.waitForURL(/#\/jobs\/\d+$/, { timeout: 120_000 });
  return { job: Number(page.url().match(/jobs\/(\d+)$/)[1]), hold };
}

async function noPlaceholders(page) {
  const text = await page.evaluate(() => document.body.innerText);
  if (/\b(null|undefined|NaN)\b/.test(text)) throw new Error(`the page shows a placeholder value:\n${text}`);
}

async function postMandelbrot(context, label, signer) {
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  const { job, hold } = await postWorkload(page, label, 'mandelbrot', params, signer);
  // Tiles are drawn as they are accepted; the job ends when all 16 are in.
  await page.waitForSelector('canvas#image[data-tiles="16"]', { timeout: 300_000 });
  await page.waitForFunction(() => document.querySelector('#job-status')?.textContent === 'done', null, { timeout: 120_000 });
  const image = await page.evaluate(() => {
    const c = document.getElementById('image');
    const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
    let black = 0; let coloured = 0;
    for (let i = 0; i < d.length; i += 4) {
      if (d[i] === 0 && d[i + 1] === 0 && d[i + 2] === 0) black++; else coloured++;
    }
    return { width: c.width, height: c.height, black, coloured };
  });
  await page.screenshot({ path: `${artifacts}/${label}-job.png`, fullPage: true });
  await noPlaceholders(page);
  // The assembled image as a PNG file: its header says the image's size.
  await page.waitForSelector('a#image-png:not([hidden])');
  const [pngDownload] = await Promise.all([page.waitForEvent('download'), page.click('a#image-png')]);
  const png = await readFile(await pngDownload.path());
  const pngFile = { name: pngDownload.suggestedFilename(), signature: png.subarray(0, 8).toString('hex'),
    width: png.readUInt32BE(16), height: png.readUInt32BE(20) };
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('a.download >> nth=0')]);
  const bytes = await readFile(await download.path());
  if (bytes.length !== TILE_BYTES) throw new Error(`downloaded ${bytes.length} bytes, a tile is ${TILE_BYTES}`);
  if (errors.length) throw new Error(`page errors: ${errors.join('; ')}`);
  await page.close();
  return { label, job, hold, image, png: pngFile, download: download.suggestedFilename(), download_bytes: bytes.length };
}

try {
  // A dev account.
  const dev = await browser.newContext();
  console.log(JSON.stringify(await postMandelbrot(dev, 'dev-account', 'dev:dave')));
  await dev.close();

  // A wallet: the page sees an extension; the key stays in this process.
  const wallet = await browser.newContext();
  let signed = 0;
  await wallet.exposeFunction('ccgscTestSign', (payload) => {
    if (payload.address !== address) throw new Error(`asked to sign for ${payload.address}`);
    signed++;
    return `0x00${sign(null, signingBytes(payload), key).toString('hex')}`;
  });
  await wallet.addInitScript((account) => {
    window.injectedWeb3 = {
      'ccgsc-test-wallet': {
        version: '0.1.0',
        enable: async () => ({
          accounts: {
            get: async () => [{ address: account, name: 'test wallet', type: 'ed25519' }],
            subscribe: (cb) => { cb([{ address: account, name: 'test wallet', type: 'ed25519' }]); return () => {}; },
          },
          signer: { signPayload: async (payload) => ({ id: 1, signature: await window.ccgscTestSign(payload) }) },
        }),
      },
    };
  }, address);
  const result = await postMandelbrot(wallet, 'wallet', 'wallet:0');
  if (signed !== 1) throw new Error(`the wallet signed ${signed} times`);
  console.log(JSON.stringify(result));

  // The wallet's account posts a long prime count and cancels it from the job's page,
  // confirming the dialog and signing again; the page shows the job cancelled, its escrow
  // gone back. (Its line is printed last.)
  const cancelErrors = [];
  const cancelPage = await wallet.newPage();
  cancelPage.on('pageerror', (e) => cancelErrors.push(String(e)));
  const { job: cancelJob } = await postWorkload(cancelPage, 'cancel', 'primes', { limit: 1_600_000_000, tasks: 16 }, 'wallet:0');
  cancelPage.once('dialog', (dialog) => dialog.accept());
  await cancelPage.click('#cancel');
  await cancelPage.waitForFunction(() => /^Cancelled/.test(document.querySelector('#cancel-message')?.textContent), null, { timeout: 120_000 });
  await cancelPage.waitForFunction(() => document.querySelector('#job-status')?.textContent === 'cancelled'
    && document.querySelector('#escrow')?.textContent === '0.0000 credits', null, { timeout: 120_000 });
  await cancelPage.screenshot({ path: `${artifacts}/cancel-job.png`, fullPage: true });
  await noPlaceholders(cancelPage);
  if (signed !== 3) throw new Error(`the wallet signed ${signed} times, not 3 (two posts and a cancel)`);
  if (cancelErrors.length) throw new Error(`page errors: ${cancelErrors.join('; ')}`);
  const cancelled = {
    label: 'cancel', job: cancelJob, message: await cancelPage.textContent('#cancel-message'),
    skipped: await cancelPage.locator('#tasks .task.skipped').count(),
    open: await cancelPage.locator('#tasks .task.open, #tasks .task.claimed').count(),
  };
  await wallet.close();

  // The workers page: the workers that ran both jobs, with their standing and earnings.
  const page = await browser.newPage();
  await page.goto(`${url}#/workers`);
  await page.waitForSelector('table#workers tr >> nth=1');
  const workers = await page.$$eval('table#workers tr', (rows) => rows.slice(1).map((row) => {
    const cells = [...row.cells].map((td) => td.textContent);
    return { account: cells[0], standing: cells[1], earned: cells[9] };
  }));
  await page.screenshot({ path: `${artifacts}/workers.png`, fullPage: true });
  await noPlaceholders(page);
  console.log(JSON.stringify({ label: 'workers', workers }));
  await page.close();

  // The answers of the other three workloads: the primes counted, the password a search
  // found, and C whole.
  const answers = await browser.newContext();
  const errors = [];
  const count = await answers.newPage();
  count.on('pageerror', (e) => errors.push(String(e)));
  const { job: countJob } = await postWorkload(count, 'primes', 'primes', { limit: 100000, tasks: 4 }, 'dev:dave');
  await count.waitForFunction(() => document.querySelector('#job-status')?.textContent === 'done', null, { timeout: 300_000 });
  await count.waitForFunction(() => /from 4 of 4 tasks/.test(document.querySelector('#primes')?.textContent), null, { timeout: 60_000 });
  const primeCount = await count.textContent('#prime-count');
  await count.screenshot({ path: `${artifacts}/primes-job.png`, fullPage: true });
  await noPlaceholders(count);
  console.log(JSON.stringify({ label: 'primes', job: countJob, count: primeCount }));
  const search = await answers.newPage();
  search.on('pageerror', (e) => errors.push(String(e)));
  const { job: searchJob } = await postWorkload(search, 'password', 'pwhash', { digits: 4, iterations: 50, tasks: 4, secret: 4321 }, 'dev:dave');
  await search.waitForFunction(() => document.querySelector('#job-status')?.textContent === 'done', null, { timeout: 300_000 });
  const password = await (await search.waitForSelector('#password', { timeout: 60_000 })).textContent();
  await search.screenshot({ path: `${artifacts}/password-job.png`, fullPage: true });
  await noPlaceholders(search);
  console.log(JSON.stringify({ label: 'password', job: searchJob, password }));
  const product = await answers.newPage();
  product.on('pageerror', (e) => errors.push(String(e)));
  const { job: productJob } = await postWorkload(product, 'product', 'matmul', { n: 48, tiles: 3, seed: 7 }, 'dev:dave');
  await product.waitForSelector('a#product', { timeout: 300_000 });
  await product.screenshot({ path: `${artifacts}/product-job.png`, fullPage: true });
  await noPlaceholders(product);
  const [download] = await Promise.all([product.waitForEvent('download'), product.click('a#product')]);
  const bytes = await readFile(await download.path());
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  if (errors.length) throw new Error(`page errors: ${errors.join('; ')}`);
  console.log(JSON.stringify({ label: 'product', job: productJob, download: download.suggestedFilename(), download_bytes: bytes.length, sha256 }));
  await answers.close();

  // Dave's credits page: what his jobs hold, and the jobs he posted.
  const credits = await browser.newPage();
  await credits.goto(`${url}#/account`);
  await credits.waitForSelector('#held');
  await credits.selectOption('select', { label: 'dave (dev)' });
  await credits.waitForFunction((n) => document.querySelectorAll('table#my-jobs tr').length === n + 1, 4, { timeout: 30_000 });
  const mine = await credits.$$eval('table#my-jobs tr', (rows) => rows.slice(1).map((row) => [...row.cells].map((td) => td.textContent)));
  await credits.screenshot({ path: `${artifacts}/credits.png`, fullPage: true });
  await noPlaceholders(credits);
  console.log(JSON.stringify({ label: 'credits', held: await credits.textContent('#held'), jobs: mine }));
  await credits.close();
  console.log(JSON.stringify(cancelled));
} finally {
  await browser.close();
}
