// The CCGSC portal's web UI: plain JavaScript, no build step. Pages by URL hash:
// #/ post a job · #/jobs list · #/jobs/<id> one job, live · #/workers · #/account
'use strict';

const main = () => document.getElementById('main');
let status = null;       // GET /api/status
let closePage = () => {}; // stops the current page's live updates

// ---- helpers ----

function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') el.className = v;
    else if (k === 'style') el.style.cssText = v;
    else if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else el.setAttribute(k, v === true ? '' : v);
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

async function api(method, path, body) {
  const init = { method, headers: {} };
  if (body instanceof FormData) init.body = body;
  else if (body !== undefined) {
    init.headers['content-type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  const res = await fetch(path, init);
  const text = await res.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch { data = { error: text }; }
  if (!res.ok) throw new Error((data && data.error) || `${res.status} ${res.statusText}`);
  return data;
}

const credits = (a) => (a ? `${a.credits.toFixed(4)} credits` : '—');
const short = (s) => (s && s.length > 16 ? `${s.slice(0, 8)}…${s.slice(-6)}` : s);

function message(text, kind = '') {
  const m = document.getElementById('message');
  if (m) { m.textContent = text; m.className = kind; }
}

// ---- connection badge ----

function showConnection(chain) {
  const badge = document.getElementById('conn');
  badge.textContent = chain === 'connected' ? 'chain connected' : 'reconnecting to the chain…';
  badge.className = `badge ${chain}`;
}

async function pollStatus() {
  try {
    status = await api('GET', '/api/status');
    showConnection(status.chain);
  } catch {
    showConnection('reconnecting');
  }
}

// ---- wallets (polkadot-js compatible extensions) ----

async function walletAccounts() {
  const out = [];
  for (const [source, ext] of Object.entries(window.injectedWeb3 || {})) {
    try {
      const injected = await ext.enable('CCGSC portal');
      for (const a of await injected.accounts.get()) {
        out.push({ source, address: a.address, name: a.name || short(a.address), injected });
      }
    } catch (e) {
      console.warn(`wallet ${source}: ${e}`);
    }
  }
  return out;
}

// ---- post a job ----

async function postPage() {
  const workloads = await api('GET', '/api/workloads');
  const wallets = await walletAccounts();
  const signers = [
    ...wallets.map((w, i) => ({ value: `wallet:${i}`, label: `${w.name} (${w.source})` })),
    ...(status && status.dev ? status.dev_accounts.map((d) => ({ value: `dev:${d.name}`, label: `${d.name} (dev account)` })) : []),
  ];
  const params = h('textarea', { id: 'params' });
  const workload = h('select', { id: 'workload' },
    workloads.map((w) => h('option', { value: w.name }, `${w.name}: ${w.about}`)));
  const help = h('dl', { id: 'params-help' });
  const setDefaults = () => {
    const w = workloads.find((x) => x.name === workload.value);
    // In the order the workload lists its parameters (the defaults' keys come alphabetically),
    // each explained below.
    params.value = JSON.stringify(Object.fromEntries(w.params.map((p) => [p.name, w.defaults[p.name]])), null, 2);
    params.rows = w.params.length + 2;
    help.replaceChildren(...w.params.flatMap((p) => [h('dt', {}, p.name), h('dd', {}, p.about)]));
  };
  workload.addEventListener('change', setDefaults);
  setDefaults();
  const source = h('select', { id: 'source' },
    h('option', { value: 'builtin' }, 'a built-in workload'),
    h('option', { value: 'upload' }, 'my own module and inputs'));
  const builtin = h('div', { id: 'builtin' }, h('label', {}, 'Workload'), workload,
    h('label', {}, 'Parameters (JSON)'), params, help);
  const moduleFile = h('input', { type: 'file', id: 'module', accept: '.wasm' });
  const inputFiles = h('input', { type: 'file', id: 'inputs', multiple: true });
  const upload = h('div', { id: 'upload', hidden: true },
    h('label', {}, 'Module (a WASI command: stdin → stdout)'), moduleFile,
    h('label', {}, 'Inputs (one file per task)'), inputFiles,
    h('label', {}, 'Arguments (space separated)'), h('input', { id: 'args' }));
  source.addEventListener('change', () => {
    builtin.hidden = source.value !== 'builtin';
    upload.hidden = source.value !== 'upload';
  });
  const field = (id, label, value) => h('div', {}, h('label', { for: id }, label), h('input', { id, value }));
  const signer = h('select', { id: 'signer' }, signers.map((s) => h('option', { value: s.value }, s.label)));
  const post = h('button', { id: 'post' }, 'Post job');
  // Posting is two steps: the job is made (inputs stored) and quoted, and the poster sees what
  // it will hold before anything is signed; any change to the form takes the quote back.
  const quote = h('div', { id: 'quote', class: 'card', hidden: true });
  const form = { source, workload, params, moduleFile, inputFiles, signer, wallets };
  const withdraw = () => { quote.hidden = true; quote.replaceChildren(); };
  post.addEventListener('click', async () => {
    post.disabled = true;
    withdraw();
    try {
      const ready = await quoteJob(form);
      message('');
      showQuote(quote, ready, form, withdraw);
    } catch (e) {
      message(e.message, 'error');
    } finally {
      post.disabled = false;
    }
  });
  const page = [
    h('h1', {}, 'Post a job'),
    h('div', { class: 'card' }, h('label', {}, 'What to run'), source, builtin, upload),
    h('div', { class: 'card' },
      h('div', { class: 'row' },
        field('reward', 'Reward per accepted replica (credits)', '0.01'),
        field('replication', 'Agreeing replicas', '2'),
        field('work', 'Work limit per task (blank: the workload\'s)', ''),
        field('deadline', 'Deadline (blocks)', '3600')),
      h('label', {}, 'Sign with'),
      signers.length ? signer : h('p', { class: 'error' },
        'No wallet found: install a polkadot-js compatible extension (or start the portal with --dev).'),
      post, h('div', { id: 'message' })),
    quote];
  for (const card of page.slice(1, 3)) {
    card.addEventListener('input', withdraw);
    card.addEventListener('change', withdraw);
  }
  main().replaceChildren(...page);
}

// Makes the job the form describes (stores its module and inputs on the portal) and asks the
// portal what posting it would hold; returns the request to post and the quote.
async function quoteJob({ source, workload, params, moduleFile, inputFiles, signer, wallets }) {
  if (!signer.value) throw new Error('choose an account to sign with');
  let uploaded;
  if (source.value === 'builtin') {
    let body;
    try { body = JSON.parse(params.value || '{}'); } catch (e) { throw new Error(`the parameters are not JSON: ${e.message}`); }
    message('Making the workload and storing its inputs…');
    uploaded = await api('POST', `/api/workloads/${encodeURIComponent(workload.value)}`, body);
  } else {
    if (!moduleFile.files.length) throw new Error('choose a module file');
    if (!inputFiles.files.length) throw new Error('choose at least one input file');
    const form = new FormData();
    form.append('module', moduleFile.files[0]);
    for (const f of inputFiles.files) form.append('input', f);
    message('Uploading…');
    uploaded = await api('POST', '/api/uploads', form);
  }
  const args = source.value === 'builtin' ? uploaded.args
    : document.getElementById('args').value.split(/\s+/).filter(Boolean);
  const workField = document.getElementById('work').value.trim();
  const request = {
    module: uploaded.module,
    inputs_root: uploaded.inputs_root,
    args,
    reward: Number(document.getElementById('reward').value),
    replication: Number(document.getElementById('replication').value),
    deadline_blocks: Number(document.getElementById('deadline').value),
  };
  if (workField) request.work = Number(workField);
  else if (uploaded.work) request.work = uploaded.work;
  const who = signer.value.startsWith('dev:') ? { dev_account: signer.value.slice(4) }
    : { account: wallets[Number(signer.value.slice(7))].address };
  message('Working out what it holds…');
  const quoted = await api('POST', '/api/jobs/quote', { ...request, ...who });
  return { request, quoted, signer: signer.value, name: signer.selectedOptions[0].textContent };
}

// Shows in `card` what posting the quoted job holds and asks to go ahead.
function showQuote(card, { request, quoted, signer, name }, { wallets }, withdraw) {
  const q = quoted;
  const lacking = q.free && BigInt(q.free.units) < BigInt(q.hold.units);
  const confirm = h('button', { id: 'confirm', disabled: lacking }, `Hold ${credits(q.hold)} and post`);
  const change = h('button', { id: 'change', class: 'secondary' }, 'Change');
  change.addEventListener('click', withdraw);
  confirm.addEventListener('click', async () => {
    confirm.disabled = true;
    change.disabled = true;
    try {
      const job = await postJob(request, signer, wallets);
      location.hash = `#/jobs/${job}`;
    } catch (e) {
      message(e.message, 'error');
      confirm.disabled = false;
      change.disabled = false;
    }
  });
  const tasks = `${q.task_count} task${q.task_count === 1 ? '' : 's'}`;
  card.replaceChildren(
    h('h2', {}, `Post ${tasks}, holding up to ${credits(q.hold)}`),
    h('p', {}, 'Posting holds ', h('b', { id: 'hold' }, credits(q.hold)), ` from ${name} until the job ends: for each task `,
      `${credits(q.per_task.replicas)} for ${q.replication} replica${q.replication === 1 ? '' : 's'} at ${credits(q.reward)}, `,
      `and ${credits(q.per_task.review)} kept for a review by checkers, paid only if the replicas disagree or an audit falls on the task. `,
      'That is the most the job can cost; what it does not spend returns when it ends.'),
    q.free ? h('p', { class: lacking ? 'error' : 'muted' }, lacking
      ? `${name} has only ${credits(q.free)} free: lower the reward, the replicas or the tasks, or fund the account.`
      : `${name} has ${credits(q.free)} free.`) : null,
    q.too_few_workers ? h('p', { id: 'too-few', class: 'warning' }, `Note: ${q.too_few_workers}.`) : null,
    confirm, ' ', change);
  card.hidden = false;
}

// Posts `request` signed by `signer` (a dev account, or wallet `i` as `wallet:i`); returns the
// job id.
async function postJob(request, signer, wallets) {
  if (signer.startsWith('dev:')) {
    message('Posting with a dev account…');
    const { job } = await api('POST', '/api/jobs', { ...request, dev_account: signer.slice(4) });
    return job;
  }
  const wallet = wallets[Number(signer.slice(7))];
  message('Waiting for your wallet to sign…');
  const prepared = await api('POST', '/api/jobs/prepare', { ...request, account: wallet.address });
  const { signature } = await wallet.injected.signer.signPayload(prepared.payload);
  message('Submitting the signed transaction…');
  const { job } = await api('POST', '/api/jobs/submit', { token: prepared.token, signature });
  return job;
}

// ---- jobs ----

async function jobsPage() {
  const jobs = await api('GET', '/api/jobs');
  main().replaceChildren(h('h1', {}, 'Jobs'),
    jobs.length ? h('table', {},
      h('tr', {}, ['Job', 'Workload', 'Status', 'Settled', 'Poster'].map((t) => h('th', {}, t))),
      jobs.map((j) => h('tr', {},
        h('td', {}, h('a', { href: `#/jobs/${j.id}` }, `#${j.id}`)),
        h('td', {}, j.workload || 'custom'), h('td', {}, j.status),
        h('td', {}, `${j.settled}/${j.task_count}`), h('td', { class: 'mono' }, j.poster))))
      : h('p', { class: 'muted' }, 'No jobs yet.'));
}

// The legend's kinds of task, in order: the API's states, with an accepted result whose audit
// window is still open (`provisional`) told apart from one that is final.
const STATES = ['open', 'claimed', 'committed', 'revealed', 'disputed', 'audited', 'provisional', 'accepted', 'failed', 'skipped'];
const LEGEND = { provisional: 'accepted, audit window open' };

// Mandelbrot bytes (0 inside, 1..255 escape speed) to colours.
function palette(v) {
  if (v === 0) return [0, 0, 0];
  const t = v / 255;
  return [Math.round(255 * Math.min(1, 3 * t)), Math.round(255 * Math.pow(t, 0.6)), Math.round(120 + 135 * (1 - t))];
}

// Said of an answer that rests on a result still inside its audit window.
const UNSURE = ' (an audit may still overturn it)';

// What a password search or a matrix product's accepted outputs add up to (the API's `answer`).
function answerCard(v) {
  const a = v.answer;
  if (a.kind === 'password') {
    const searched = `${a.searched} of ${v.task_count} ranges searched${a.failed ? `, ${a.failed} failed` : ''}`;
    const line = a.found
      ? h('p', {}, 'Password found: ', h('b', { id: 'password', class: 'mono' }, a.found.password ?? `key ${a.found.key}`),
        ` by task ${a.found.task}${a.found.provisional ? UNSURE : ''}`)
      : h('p', { id: 'password-searching' }, a.searched + a.failed === v.task_count
        ? `Not found: no searched range holds it (${searched}).` : `Not found yet: ${searched}.`);
    return h('div', { class: 'card', id: 'answer' }, h('h2', {}, 'Password search'), line,
      a.found ? h('p', { class: 'muted' }, searched) : null);
  }
  const shape = `${a.rows} × ${a.cols}`;
  return h('div', { class: 'card', id: 'answer' }, h('h2', {}, `Matrix product C = A·B (${shape})`),
    h('p', {}, `${a.bands} of ${v.task_count} bands of rows accepted and held here${a.provisional ? UNSURE : ''}.`),
    a.complete ? h('a', { id: 'product', class: 'download', href: `/api/jobs/${v.id}/product`, download: `job${v.id}-product-${a.rows}x${a.cols}-f32le.bin` },
      `download C (${shape} little-endian f32, row-major)`) : null);
}

// Cancels job `v` signed by its poster: a dev account of the same address (portal started
// with --dev) or a wallet account of that address. Returns what to tell the poster.
async function cancelJob(v) {
  const dev = status && status.dev ? status.dev_accounts.find((d) => d.address === v.poster) : null;
  let answer;
  if (dev) {
    answer = await api('POST', `/api/jobs/${v.id}/cancel`, { dev_account: dev.name });
  } else {
    const wallet = (await walletAccounts()).find((w) => w.address === v.poster);
    if (!wallet) throw new Error(`only the job's poster can cancel it: sign in with the wallet account ${v.poster}`);
    const prepared = await api('POST', `/api/jobs/${v.id}/cancel/prepare`, { account: wallet.address });
    const { signature } = await wallet.injected.signer.signPayload(prepared.payload);
    answer = await api('POST', '/api/jobs/submit', { token: prepared.token, signature });
  }
  return answer.ended
    ? `Cancelled: ${credits(answer.refunded)} returned to the poster.`
    : 'Cancelled: the tasks whose results are in settle, then the rest of the escrow returns to the poster.';
}

async function jobPage(id) {
  const drawn = new Map(); // task -> the output its tile shows (a provisional one an audit may replace)
  const primes = new Map(); // task -> its output and the primes it lists (the first 200 at most)
  let view = null;
  let cancelling = ''; // what the last cancellation said
  const root = h('div');
  main().replaceChildren(root);

  async function output(task) {
    const res = await fetch(`/api/content/${task.output}`);
    if (!res.ok) throw new Error(`output of task ${task.index}: ${res.status}`);
    return new Uint8Array(await res.arrayBuffer());
  }

  async function drawTiles(canvas) {
    const ctx = canvas.getContext('2d');
    for (const t of view.tasks) {
      if (t.state !== 'accepted' || !t.kept || drawn.get(t.index) === t.output) continue;
      drawn.set(t.index, t.output);
      const rect = view.image.tiles[t.index];
      try {
        const bytes = await output(t);
        const img = ctx.createImageData(rect.width, rect.height);
        for (let i = 0; i < rect.width * rect.height; i++) {
          const [r, g, b] = palette(bytes[i]);
          img.data.set([r, g, b, 255], i * 4);
        }
        ctx.putImageData(img, rect.x, rect.y);
      } catch (e) {
        drawn.delete(t.index);
      }
    }
    canvas.dataset.tiles = String(drawn.size);
    if (drawn.size === view.task_count) document.getElementById('image-png')?.removeAttribute('hidden');
  }

  // The whole image as a PNG file, once every tile is drawn.
  function savePng(e) {
    e.preventDefault();
    document.getElementById('image').toBlob((png) => {
      const a = h('a', { href: URL.createObjectURL(png), download: `job${view.id}-mandelbrot.png` });
      a.click();
      setTimeout(() => URL.revokeObjectURL(a.href), 60_000);
    }, 'image/png');
  }

  // The count is the API's answer; the first 200 primes listed come from the outputs of
  // listing jobs (those longer than the count alone).
  async function listPrimes(box) {
    for (const t of view.tasks) {
      if (t.state !== 'accepted' || !t.kept || !(t.output_len > 8) || primes.get(t.index)?.output === t.output) continue;
      try {
        const bytes = await output(t);
        const dv = new DataView(bytes.buffer);
        const list = [];
        for (let o = 8; o + 8 <= bytes.length && list.length < 200; o += 8) list.push(dv.getBigUint64(o, true));
        primes.set(t.index, { output: t.output, list });
      } catch { /* next event tries again */ }
    }
    const first = [];
    for (const i of [...primes.keys()].sort((a, b) => a - b)) {
      if (first.length < 200) first.push(...primes.get(i).list.slice(0, 200 - first.length));
    }
    const a = view.answer;
    box.replaceChildren(...[
      h('p', {}, view.status === 'open' ? 'Primes found so far: ' : 'Primes found: ', h('b', { id: 'prime-count' }, String(a.count)),
        ` (from ${a.counted} of ${view.task_count} tasks)${a.provisional ? UNSURE : ''}`),
      first.length ? h('p', { class: 'mono' }, first.join(', '), a.counted < view.task_count || first.length >= 200 ? ' …' : '') : null,
    ].filter(Boolean));
  }

  async function cancel() {
    if (!confirm(`Cancel job #${view.id}? No new task starts and running tasks stop; tasks whose results are all in still settle, then the unspent escrow returns.`)) return;
    cancelling = 'Cancelling…';
    render();
    try {
      cancelling = await cancelJob(view);
    } catch (e) {
      cancelling = `Not cancelled: ${e.message}`;
    }
    render();
  }

  function render() {
    const v = view;
    const pct = v.task_count ? (100 * v.settled) / v.task_count : 0;
    const counts = Object.fromEntries(STATES.map((s) => [s, 0]));
    for (const t of v.tasks) {
      const kind = t.provisional ? 'provisional' : t.state;
      counts[kind] = (counts[kind] || 0) + 1;
    }
    let canvas = document.getElementById('image');
    const imageBox = v.image ? (canvas || h('canvas', { id: 'image', width: v.image.width, height: v.image.height })) : null;
    let primeBox = document.getElementById('primes');
    if (v.answer?.kind === 'primes' && !primeBox) primeBox = h('div', { id: 'primes', class: 'card' });
    root.replaceChildren(...[
      h('h1', {}, `Job #${v.id} `, h('span', { id: 'job-status', class: 'badge' }, v.finished ? `${v.status}` : v.status)),
      h('div', { class: 'facts' },
        h('div', {}, 'Settled', h('b', { id: 'settled' }, `${v.settled} / ${v.task_count}`)),
        h('div', {}, 'Escrow left', h('b', { id: 'escrow' }, credits(v.escrow))),
        h('div', {}, 'Spent', h('b', {}, credits(v.spent))),
        h('div', {}, 'Reward per replica', h('b', {}, credits(v.reward_per_task))),
        h('div', {}, 'Replication', h('b', {}, v.replication)),
        h('div', {}, 'Workload', h('b', {}, v.workload || 'custom'))),
      h('div', { class: 'progress', id: 'progress' }, h('div', { style: `width:${pct}%` })),
      v.status === 'open' || cancelling ? h('div', { class: 'card', id: 'cancel-card' },
        v.status === 'open' ? h('button', { id: 'cancel', onclick: cancel, disabled: cancelling === 'Cancelling…' }, 'Cancel job') : null,
        h('span', { id: 'cancel-message', class: cancelling.startsWith('Not') ? 'error' : 'muted' },
          cancelling || ' Only its poster can: no new task starts and running tasks stop; tasks whose results are all in still settle; the unspent escrow returns.')) : null,
      h('div', { class: 'tasks', id: 'tasks' }, v.tasks.map((t) => h('div', {
        class: `task ${t.provisional ? 'provisional' : t.state}`, 'data-state': t.state,
        title: `task ${t.index}: ${t.state}${t.provisional ? ' (audit window open)' : ''}${t.outcome ? ` · ${t.outcome}` : ''}${t.skipped ? `: ${t.skipped}` : ''}${t.failed ? `: ${t.failed}` : ''}`,
      }))),
      h('div', { class: 'legend' }, STATES.filter((s) => counts[s]).map((s) =>
        h('span', {}, h('span', { class: `task ${s}` }), `${LEGEND[s] || s} ${counts[s]}`))),
      imageBox ? h('div', { class: 'card' }, h('h2', {}, 'Image (tiles appear as they are accepted)'), imageBox,
        h('p', {}, h('a', { id: 'image-png', href: '#', onclick: savePng, hidden: drawn.size !== v.task_count },
          'download the image (PNG)'))) : null,
      primeBox,
      v.answer && v.answer.kind !== 'primes' ? answerCard(v) : null,
      h('h2', {}, 'Outputs'),
      h('p', { class: 'muted' }, `Module ${v.module}. Downloads are served from the portal's store, checked chunk by chunk against the content id the chain accepted; outputs stay until the chain removes the job's record (a week after the job ends).`),
      h('table', { id: 'outputs' },
        h('tr', {}, ['Task', 'State', 'Outcome', 'Output', 'Bytes', ''].map((t) => h('th', {}, t))),
        v.tasks.filter((t) => t.output).map((t) => h('tr', {},
          h('td', {}, t.index), h('td', {}, t.state + (t.provisional ? ' (provisional)' : '')),
          h('td', {}, t.outcome || ''), h('td', { class: 'mono' }, t.output), h('td', {}, t.output_len),
          h('td', {}, t.kept ? h('a', { class: 'download', href: `/api/content/${t.output}?name=job${v.id}-task${t.index}.out`, download: `job${v.id}-task${t.index}.out` }, 'download')
            : h('span', { class: 'muted' }, 'fetching…'))))),
    ].filter(Boolean));
    if (imageBox) drawTiles(imageBox);
    if (primeBox) listPrimes(primeBox);
  }

  try {
    view = await api('GET', `/api/jobs/${id}`);
  } catch (e) {
    root.replaceChildren(h('p', { class: 'error' }, e.message));
    return;
  }
  render();
  const events = new EventSource(`/api/jobs/${id}/events`);
  events.addEventListener('job', (e) => { view = JSON.parse(e.data); render(); });
  events.addEventListener('status', (e) => showConnection(JSON.parse(e.data).chain));
  events.onerror = () => showConnection('reconnecting');
  closePage = () => events.close();
}

// ---- workers, checkers, credits ----

async function workersPage() {
  const [workers, checkers] = await Promise.all([api('GET', '/api/workers'), api('GET', '/api/checkers')]);
  main().replaceChildren(
    h('h1', {}, 'Workers'),
    workers.length ? h('table', { id: 'workers' },
      h('tr', {}, ['Account', 'Standing', 'Stake', 'Cores', 'Score', 'Platform', 'Valid', 'Invalid', 'Streak', 'Earned', 'Slashed'].map((t) => h('th', {}, t))),
      workers.map((w) => h('tr', {}, h('td', { class: 'mono' }, w.account), h('td', { class: 'standing' }, w.standing), h('td', {}, credits(w.stake)),
        h('td', {}, w.cores), h('td', {}, (w.score / 1e9).toFixed(2) + ' G/s'), h('td', {}, w.platform),
        h('td', {}, w.valid), h('td', {}, w.invalid), h('td', {}, w.consecutive_valid),
        h('td', {}, credits(w.earned)), h('td', {}, credits(w.slashed)))))
      : h('p', { class: 'muted' }, 'No workers registered.'),
    h('h1', {}, 'Checkers'),
    checkers.length ? h('table', { id: 'checkers' },
      h('tr', {}, ['Account', 'Standing', 'Stake', 'Platform', 'Open reviews', 'Upheld', 'Earned', 'Slashed'].map((t) => h('th', {}, t))),
      checkers.map((c) => h('tr', {}, h('td', { class: 'mono' }, c.account), h('td', { class: 'standing' }, c.standing), h('td', {}, credits(c.stake)),
        h('td', {}, c.platform), h('td', {}, c.open_reviews), h('td', {}, c.upheld),
        h('td', {}, credits(c.earned)), h('td', {}, credits(c.slashed)))))
      : h('p', { class: 'muted' }, 'No checkers registered.'));
}

async function accountPage() {
  const wallets = await walletAccounts();
  const known = [
    ...wallets.map((w) => ({ label: `${w.name} (${w.source})`, address: w.address })),
    ...(status && status.dev ? status.dev_accounts.map((d) => ({ label: `${d.name} (dev)`, address: d.address })) : []),
  ];
  const input = h('input', { id: 'address', placeholder: 'an SS58 address', value: known.length ? known[0].address : '' });
  const out = h('div', { id: 'balance' });
  const show = async () => {
    try {
      const a = await api('GET', `/api/accounts/${encodeURIComponent(input.value.trim())}`);
      out.replaceChildren(h('div', { class: 'facts' },
        h('div', {}, 'Free credits', h('b', { id: 'free' }, credits(a.free))),
        h('div', {}, 'Held in escrow', h('b', { id: 'held' }, credits(a.held))),
        a.worker ? h('div', {}, 'Worker', h('b', {}, a.worker.standing)) : null,
        a.worker ? h('div', {}, 'Worker stake', h('b', {}, credits(a.worker.stake))) : null,
        a.worker ? h('div', {}, 'Worker earnings', h('b', {}, credits(a.worker.earned))) : null,
        a.checker ? h('div', {}, 'Checker', h('b', {}, a.checker.standing)) : null,
        a.checker ? h('div', {}, 'Checker stake', h('b', {}, credits(a.checker.stake))) : null,
        a.checker ? h('div', {}, 'Checker earnings', h('b', {}, credits(a.checker.earned))) : null),
      h('h2', {}, 'Jobs it posted'),
      a.jobs.length ? h('table', { id: 'my-jobs' },
        h('tr', {}, ['Job', 'Workload', 'Status', 'Settled', 'Held', 'Spent'].map((t) => h('th', {}, t))),
        a.jobs.map((j) => h('tr', {},
          h('td', {}, h('a', { href: `#/jobs/${j.id}` }, `#${j.id}`)),
          h('td', {}, j.workload || 'custom'), h('td', {}, j.status),
          h('td', {}, `${j.settled}/${j.task_count}`), h('td', {}, credits(j.escrow)), h('td', {}, credits(j.spent)))))
        : h('p', { class: 'muted' }, 'None the chain still keeps (an ended job\'s record goes a week after it ends).'));
    } catch (e) {
      out.replaceChildren(h('p', { class: 'error' }, e.message));
    }
  };
  const pick = h('select', {}, known.map((k) => h('option', { value: k.address }, k.label)));
  pick.addEventListener('change', () => { input.value = pick.value; show(); });
  main().replaceChildren(h('h1', {}, 'Credits'),
    h('div', { class: 'card' }, known.length ? [h('label', {}, 'Your accounts'), pick] : null,
      h('label', {}, 'Account'), input, h('button', { onclick: show }, 'Show')), out);
  if (input.value) show();
}

// ---- routing ----

async function route() {
  closePage();
  closePage = () => {};
  const hash = location.hash || '#/';
  const job = hash.match(/^#\/jobs\/(\d+)$/);
  try {
    if (job) await jobPage(job[1]);
    else if (hash === '#/jobs') await jobsPage();
    else if (hash === '#/workers') await workersPage();
    else if (hash === '#/account') await accountPage();
    else await postPage();
  } catch (e) {
    main().replaceChildren(h('p', { class: 'error' }, e.message));
  }
}

window.addEventListener('hashchange', route);
window.addEventListener('DOMContentLoaded', async () => {
  await pollStatus();
  setInterval(pollStatus, 3000);
  route();
});
