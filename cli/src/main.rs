//! `ccgsc`: the marketplace from a terminal, for posters.
//!
//! ```text
//! ccgsc example primes --set list=true --out demo/   # a built-in workload, as files
//! ccgsc --bootstrap <p2p> post --dev alice --module demo/primes.wasm --inputs demo/inputs/ \
//!     --out results/
//! ccgsc status 3
//! ccgsc --bootstrap <p2p> fetch 3 --out results/
//! ccgsc cancel 3 --dev alice     # no new task starts; the unspent escrow returns
//! ccgsc transfer 5F…xY 500 --dev alice   # fund a worker's account
//! ccgsc up                       # a whole local marketplace: node, portal, workers, checker
//! ```
//!
//! `<p2p>` is the libp2p address of a worker or of the portal (`ccgsc up` prints its portal's as
//! `p2p`): the content network is joined through it. Without `--bootstrap`, the CLI joins
//! through the addresses a running portal beside its `--dir` wrote (`.ccgsc/portal/p2p-addrs`
//! for the default `.ccgsc/cli`, where `./dev up` in the same folder runs its portal; see
//! [`ccgsc_p2p::bootstrap`]), so next to `./dev up` no `--bootstrap` is needed. Workers fetch
//! a job's module and inputs from the CLI through that network, so `post` refuses to post
//! without one (no address, or none that answers within [`JOIN_TIMEOUT`]) rather than let every
//! task fail for want of its input; `fetch` needs it for the outputs its own store does not
//! hold.
//!
//! `post` stores the module and every file of the inputs folder (one task per file, in file name
//! order) in a local content store under `--dir`, provides them over libp2p, posts the job, follows
//! it with a progress bar until it ends, and (with `--out`) writes each accepted output to `--out`
//! as `<task>-<input file name>.out`, checked against the content id the chain accepted; for a job
//! of a built-in workload (its module one that `example` writes), it then says what the outputs add
//! up to: the primes counted, the password found, or the file it wrote the matrix product or the
//! Mandelbrot image (a PNG) to. It serves the inputs for as long as the job runs, so it waits for
//! the end even without `--out`: stop it and workers cannot fetch them (run the portal for content
//! that outlives the terminal). A node that goes away meanwhile is waited for: the progress line
//! says so, and `post` goes on once the node is back. `fetch` gets the outputs of a finished job
//! again, from whoever provides them. `cancel` ends a job its signer posted: no new task starts and
//! workers stop the job's tasks they run, tasks whose replicas have all committed still settle
//! (their workers did the work), and it follows the job until it has ended and says how many
//! credits returned.
//!
//! The store keeps what `post` and `fetch` put there (module, inputs, outputs) until the chain
//! removes the job's record, a week after the job ended; the next `post` or `fetch` then drops
//! it, unless another job of this `--dir` still uses it (notes in `<dir>/kept`, as a worker
//! keeps them). What a `post` stored before the chain refused its job is not noted and stays.
//! Two `ccgsc` on the same `--dir` at once (a job followed in each of two terminals) share the
//! store, but only the first keeps notes: what the second stores stays, as a later one might
//! otherwise drop what the first still serves.
//!
//! Keys: `--dev <name>` signs with a dev account (dev chains only); otherwise the ed25519 key in
//! `<dir>/key` (made on first use; fund its account first: `ccgsc account` prints it).

mod answer;
mod example;
mod up;

use std::{
	io::Write,
	path::{Path, PathBuf},
	time::Duration,
};

use anyhow::{bail, Context};
use ccgsc_chain::{
	api::runtime_types::pallet_jobs::types::{Job, JobStatus, Phase},
	convert, AccountId32, Balance, Chain, Ed25519Signer, JobSnapshot, JobSpec, UNIT,
};
use ccgsc_p2p::Bootstrap;
use ccgsc_primitives::{ContentId, Limits, Outcome, PlatformClass, PlatformSet};
use ccgsc_worker::kept::{self, Item};
use clap::{Args as ClapArgs, Parser, Subcommand};

/// Post compute jobs to CCGSC and collect their verified outputs.
#[derive(Parser, Debug)]
#[command(version, about)]
struct Cli {
	/// The node's WebSocket RPC address.
	#[arg(long, global = true, default_value = "ws://127.0.0.1:9944")]
	chain: String,
	/// State directory: key, content store and the notes of which job each item is for.
	#[arg(long, global = true, default_value = ".ccgsc/cli")]
	dir: PathBuf,
	/// libp2p peers to join the network through (a worker's or the portal's address, ending in
	/// /p2p/<peer id>). Without: those a portal beside --dir wrote to `portal/p2p-addrs`
	/// (`.ccgsc/portal` with the default folders, as `./dev up` runs it).
	#[arg(long, global = true)]
	bootstrap: Vec<ccgsc_p2p::Multiaddr>,
	/// libp2p listen address.
	#[arg(long, global = true, default_value = "/ip4/0.0.0.0/tcp/0")]
	listen: ccgsc_p2p::Multiaddr,
	#[command(subcommand)]
	command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
	/// Post a job: one task per file of the inputs folder.
	Post(Post),
	/// Show a job's state and its tasks.
	Status {
		/// The job id.
		job: u64,
	},
	/// Fetch the accepted outputs of a job into a folder.
	Fetch {
		/// The job id.
		job: u64,
		/// Where to write the outputs.
		#[arg(long)]
		out: PathBuf,
	},
	/// Cancel a job you posted: no new task starts and running tasks stop; tasks whose
	/// replicas have all committed still settle, then the unspent escrow returns.
	Cancel {
		/// The job id.
		job: u64,
		/// Sign with this dev account (alice, bob, charlie, dave, eve, ferdie).
		#[arg(long)]
		dev: Option<String>,
	},
	/// Write a built-in workload (module and inputs) to a folder, ready for `post`.
	Example(example::Example),
	/// Start a complete local marketplace (dev node, portal, workers, checker) until Ctrl-C.
	Up(up::Up),
	/// Send credits to an account, for example to fund a worker's or checker's account (its
	/// `--show-account` prints it).
	Transfer {
		/// The account to send to (SS58).
		to: String,
		/// Credits to send.
		amount: f64,
		/// Sign with this dev account (alice, bob, charlie, dave, eve, ferdie).
		#[arg(long)]
		dev: Option<String>,
	},
	/// Print the account that signs (with --dev, the dev account's).
	Account {
		/// Sign with this dev account (alice, bob, charlie, dave, eve, ferdie).
		#[arg(long)]
		dev: Option<String>,
	},
}

#[derive(ClapArgs, Debug)]
struct Post {
	/// The task module (a WASI command).
	#[arg(long)]
	module: PathBuf,
	/// A folder with one input file per task.
	#[arg(long)]
	inputs: PathBuf,
	/// Where to write the outputs once the job ends (without it, `post` still follows the job
	/// to its end, serving the inputs, and writes nothing).
	#[arg(long)]
	out: Option<PathBuf>,
	/// An argument every task gets (repeat for more).
	#[arg(long = "arg", allow_hyphen_values = true)]
	args: Vec<String>,
	/// Reward per accepted replica, in credits (the portal's default too).
	#[arg(long, default_value_t = 0.01)]
	reward: f64,
	/// Agreeing replicas per task.
	#[arg(long, default_value_t = 2)]
	replication: u8,
	/// Work limit per task, in work units (about 10⁹ per second of a modern core).
	#[arg(long, default_value_t = 20_000_000_000)]
	work: u64,
	/// Memory limit per task, in MiB.
	#[arg(long, default_value_t = 256)]
	memory_mib: u64,
	/// Output limit per task, in MiB.
	#[arg(long, default_value_t = 16)]
	output_mib: u64,
	/// Blocks (seconds on a dev chain) until unspent escrow returns.
	#[arg(long, default_value_t = 3_600)]
	deadline: u32,
	/// Sign with this dev account (alice, bob, charlie, dave, eve, ferdie).
	#[arg(long)]
	dev: Option<String>,
}

/// The signer: a dev account or the key in the state directory.
enum Poster {
	Dev(ccgsc_chain::dev::Keypair),
	Key(Ed25519Signer),
}

impl Poster {
	fn new(dev: Option<&str>, dir: &Path) -> anyhow::Result<Self> {
		Ok(match dev {
			Some(name) => Self::Dev(ccgsc_chain::dev::by_name(name).with_context(|| {
				format!("no dev account {name:?}: {}", ccgsc_chain::dev::NAMES.join(", "))
			})?),
			None => Self::Key(Ed25519Signer::from_seed(ccgsc_worker::key_in(dir)?)),
		})
	}

	fn account(&self) -> ccgsc_chain::AccountId32 {
		match self {
			Self::Dev(k) => k.public_key().into(),
			Self::Key(k) => ccgsc_chain::AccountId32(k.public()),
		}
	}

	async fn post(&self, chain: &Chain, spec: &JobSpec) -> Result<u64, ccgsc_chain::Error> {
		match self {
			Self::Dev(k) => chain.post_job(k, spec).await,
			Self::Key(k) => chain.post_job(k, spec).await,
		}
	}

	/// Refuses, before anything is signed, a signer whose account cannot pay `spend` and a
	/// transaction's fee (the node would refuse the transaction as merely invalid).
	async fn can_pay(&self, chain: &Chain, spend: Balance) -> anyhow::Result<()> {
		let account = self.account();
		let free = chain.free_balance(&account).await?;
		if free > spend {
			return Ok(());
		}
		let credits = |units: Balance| units as f64 / UNIT as f64;
		let what =
			if spend > 0 { format!("{:.3} credits and ", credits(spend)) } else { "".into() };
		let hint = match self {
			Self::Dev(_) => String::new(),
			Self::Key(_) => format!(
				": fund it first (on a dev chain: ccgsc transfer {account} 100 --dev alice)"
			),
		};
		bail!(
			"the account {account} has {:.3} credits, too few to pay {what}a transaction fee{hint}",
			credits(free)
		)
	}

	async fn transfer(
		&self,
		chain: &Chain,
		to: &AccountId32,
		amount: Balance,
	) -> Result<(), ccgsc_chain::Error> {
		match self {
			Self::Dev(k) => chain.transfer(k, to, amount).await,
			Self::Key(k) => chain.transfer(k, to, amount).await,
		}
	}

	async fn cancel(&self, chain: &Chain, job: u64) -> Result<Option<Balance>, ccgsc_chain::Error> {
		match self {
			Self::Dev(k) => chain.cancel_job(k, job).await,
			Self::Key(k) => chain.cancel_job(k, job).await,
		}
	}
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
	tracing_subscriber::fmt()
		.with_env_filter(
			tracing_subscriber::EnvFilter::try_from_default_env()
				.unwrap_or_else(|_| "warn,libp2p=error".into()),
		)
		.with_writer(std::io::stderr)
		.init();
	let cli = Cli::parse();
	let result = match &cli.command {
		Command::Up(options) => up::run(options).await,
		Command::Example(example) => example::run(example, &find_bootstrap(&cli)?),
		Command::Account { dev } => {
			println!("{}", Poster::new(dev.as_deref(), &cli.dir)?.account());
			Ok(())
		},
		Command::Status { job } => {
			let chain = connect(&cli.chain).await?;
			status(&chain, *job).await
		},
		Command::Cancel { job, dev } => {
			let poster = Poster::new(dev.as_deref(), &cli.dir)?;
			let chain = connect(&cli.chain).await?;
			cancel(&cli.chain, &chain, &poster, *job).await
		},
		Command::Transfer { to, amount, dev } => {
			let poster = Poster::new(dev.as_deref(), &cli.dir)?;
			transfer(&cli.chain, &poster, to, *amount).await
		},
		Command::Fetch { job, out } => {
			let chain = connect(&cli.chain).await?;
			let bootstrap = find_bootstrap(&cli)?;
			let (p2p, notes) = start_p2p(&cli, &bootstrap, &chain).await?;
			let result = fetch(&chain, &p2p, &bootstrap, notes.as_ref(), *job, out, &[]).await;
			p2p.stop().await;
			result
		},
		Command::Post(post) => {
			let chain = connect(&cli.chain).await?;
			let bootstrap = find_bootstrap(&cli)?;
			let (p2p, notes) = start_p2p(&cli, &bootstrap, &chain).await?;
			let result = run_post(&chain, &p2p, notes.as_ref(), &cli, &bootstrap, post).await;
			p2p.stop().await;
			result
		},
	};
	match result {
		Err(e) if e.is::<StdoutClosed>() => Ok(()),
		other => other,
	}
}

/// The peers to join the content network through: `--bootstrap`, or with none those the
/// portal beside `--dir` wrote (see [`ccgsc_p2p::bootstrap`]).
fn find_bootstrap(cli: &Cli) -> anyhow::Result<Bootstrap> {
	Bootstrap::resolve(cli.bootstrap.clone(), &cli.dir)
		.context("cannot read the portal's p2p addresses")
}

async fn connect(url: &str) -> anyhow::Result<Chain> {
	Chain::connect(url).await.with_context(|| format!("cannot reach the node at {url}"))
}

/// The notes of which job each item of the store is for, while this process alone has them;
/// `None` if another process has them.
fn open_notes(dir: &Path) -> anyhow::Result<Option<kept::Held>> {
	let held = kept::Held::open(dir).context("cannot open the notes of what the store keeps")?;
	if held.is_none() {
		eprintln!("another ccgsc uses {}: what this one stores stays in the store", dir.display());
	}
	Ok(held)
}

/// Starts the content node on the store under `--dir`, with the notes of which job each item
/// is for, and drops from the store what only jobs whose records the chain removed used.
async fn start_p2p(
	cli: &Cli,
	bootstrap: &Bootstrap,
	chain: &Chain,
) -> anyhow::Result<(ccgsc_p2p::Node, Option<kept::Held>)> {
	let notes = open_notes(&cli.dir)?;
	let node = ccgsc_p2p::Node::start(
		ccgsc_p2p::Config::new(cli.dir.join("store"))
			.with_listen([cli.listen.clone()])
			.with_bootstrap(bootstrap.addrs.clone()),
	)
	.await
	.context("cannot start the content node")?;
	if let Some(notes) = &notes {
		kept::drop_pruned(&notes.kept, node.client().store(), chain).await;
	}
	Ok((node, notes))
}

/// Notes that the store holds `items` for `job`. A note that cannot be written (or that
/// another process keeps) only means that its item stays in the store.
fn note(notes: Option<&kept::Held>, job: u64, items: impl IntoIterator<Item = Item>) {
	let Some(notes) = notes else { return };
	let mut kept = notes.kept.lock().expect("not poisoned qed");
	for item in items {
		if let Err(e) = kept.note(job, item) {
			eprintln!("cannot note which job the store keeps content for: {e}");
			return;
		}
	}
}

/// How long `post` and `fetch` wait for the content node to connect to a bootstrap peer.
const JOIN_TIMEOUT: Duration = Duration::from_secs(10);

/// Waits until the content node is connected to a peer of the content network, which workers
/// fetch a job's module and inputs through and outputs come from; `why` says what fails without.
///
/// # Errors
/// At once with no bootstrap address (nobody else knows this CLI's address, so nobody would
/// ever connect), or when no bootstrap peer has answered within [`JOIN_TIMEOUT`].
async fn join(p2p: &ccgsc_p2p::Node, bootstrap: &Bootstrap, why: &str) -> anyhow::Result<()> {
	if let Some(none) = bootstrap.none_found() {
		bail!(
			"{none}, so this CLI is on no content network: {why}. Pass --bootstrap with the \
			 libp2p address of a worker or the portal, ending in /p2p/<peer id> (`ccgsc up` \
			 prints its portal's as `p2p`), or run this beside a running portal's folder \
			 (`./dev up` here)"
		);
	}
	let started = tokio::time::Instant::now();
	while p2p.client().connected_peers().await.context("the content node stopped")?.is_empty() {
		if started.elapsed() >= JOIN_TIMEOUT {
			let secs = JOIN_TIMEOUT.as_secs();
			match bootstrap.portal_file() {
				None => bail!("no --bootstrap peer answered in {secs} s ({bootstrap}): {why}"),
				Some(file) => bail!(
					"no peer at the portal's addresses in {} answered in {secs} s ({bootstrap}; is \
					 that portal running?): {why}",
					file.display()
				),
			}
		}
		tokio::time::sleep(Duration::from_millis(100)).await;
	}
	Ok(())
}

/// The files of `dir`, sorted by name (one task each).
fn input_files(dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
	let mut files = Vec::new();
	for entry in std::fs::read_dir(dir).with_context(|| format!("cannot read {}", dir.display()))? {
		let entry = entry?;
		if entry.file_type()?.is_file() {
			files.push(entry.path());
		}
	}
	files.sort();
	if files.is_empty() {
		bail!("{} has no input files: a job needs one file per task", dir.display());
	}
	Ok(files)
}

async fn run_post(
	chain: &Chain,
	p2p: &ccgsc_p2p::Node,
	notes: Option<&kept::Held>,
	cli: &Cli,
	bootstrap: &Bootstrap,
	post: &Post,
) -> anyhow::Result<()> {
	let poster = Poster::new(post.dev.as_deref(), &cli.dir)?;
	let module = std::fs::read(&post.module)
		.with_context(|| format!("cannot read the module {}", post.module.display()))?;
	let files = input_files(&post.inputs)?;
	if !(0.0..=1_000_000.0).contains(&post.reward) {
		bail!("--reward {} is not a credit amount", post.reward);
	}
	let reward_per_task = (post.reward * UNIT as f64) as u128;
	let reserve = chain.review_reserve().await?;
	let hold = ccgsc_chain::hold(reward_per_task, post.replication, files.len() as u32, reserve);
	poster.can_pay(chain, hold).await?;
	let module = p2p.client().add(module).await.context("cannot store the module")?;
	let mut inputs = Vec::with_capacity(files.len());
	for file in &files {
		let bytes =
			std::fs::read(file).with_context(|| format!("cannot read {}", file.display()))?;
		inputs.push(p2p.client().add(bytes).await.context("cannot store an input")?);
	}
	let inputs_root =
		p2p.client().add_inputs(inputs.clone()).await.context("cannot store the inputs")?;
	join(
		p2p,
		bootstrap,
		"the workers could not fetch the job's module and inputs from this CLI; nothing was posted",
	)
	.await?;
	let platform = PlatformClass::native().context("no platform class for this CPU")?;
	let now = chain.finalized_number().await?;
	let spec = JobSpec {
		module,
		inputs_root,
		task_count: files.len() as u32,
		args: post.args.clone(),
		reward_per_task,
		replication: post.replication,
		limits: Limits {
			work: post.work,
			memory: post.memory_mib << 20,
			output: post.output_mib << 20,
		},
		platforms: PlatformSet::of(&[platform]),
		executor_version: ccgsc_executor::VERSION,
		deadline: now + post.deadline,
	};
	// Said before posting: once the job is posted, `follow` rides out a node that goes away.
	let able = chain.able_workers(&spec).await?;
	if let Some(warning) = ccgsc_chain::too_few_workers(able, post.replication) {
		eprintln!("note: {warning}");
	}
	let job = poster
		.post(chain, &spec)
		.await
		.with_context(|| format!("the chain refused the job (poster {})", poster.account()))?;
	let stored = inputs.iter().map(|id| Item::Blob(*id));
	note(notes, job, [Item::Blob(module), Item::Inputs(inputs_root)].into_iter().chain(stored));
	let credits = |units: Balance| units as f64 / UNIT as f64;
	println!("job {job} posted: {} tasks, module {}", files.len(), module);
	println!(
		"{:.3} credits held until it ends, the most it can cost: per task {:.3} for {} \
		 replicas and {:.3} for a review should one be needed; what it does not spend returns",
		credits(hold),
		credits(reward_per_task.saturating_mul(post.replication.into())),
		post.replication,
		credits(reserve)
	);
	for addr in p2p.client().listen_addrs().await.unwrap_or_default() {
		eprintln!("serving its content at {addr}");
	}
	let chain = follow(&cli.chain, chain.clone(), job).await?;
	match &post.out {
		Some(out) => fetch(&chain, p2p, bootstrap, notes, job, out, &files).await,
		None => {
			// Addresses read from the portal's file are found again by `fetch` run from here.
			let through: String = match bootstrap.portal_file() {
				Some(_) => String::new(),
				None => bootstrap.addrs.iter().map(|addr| format!(" --bootstrap {addr}")).collect(),
			};
			println!("outputs: ccgsc{through} fetch {job} --out <folder>");
			Ok(())
		},
	}
}

/// Draws a progress bar on stderr until `job` ends: the tasks settled, and those whose results
/// are in but being verified (the replication draw, the reveal, a review if replicas disagree,
/// and a single result's audit window, 30 blocks on the dev chain, in which a checker may
/// audit it), so a job whose work is done does not look stuck. A node that cannot be reached
/// is waited for (reconnecting to `url`); returns the connection in use at the end.
///
/// # Errors
/// If there is no such job, or a query fails again right after a reconnection (the node
/// answers, but not as this CLI expects).
async fn follow(url: &str, mut chain: Chain, job: u64) -> anyhow::Result<Chain> {
	let mut reconnected = false;
	loop {
		let info = match chain.job(job).await {
			Ok(Some(info)) => info,
			Ok(None) => return Err(missing(&chain, job).await),
			Err(e) if !reconnected => {
				eprintln!("\nnode unreachable ({e}); retrying");
				chain = ccgsc_worker::connect(url).await;
				reconnected = true;
				continue;
			},
			Err(e) => return Err(e.into()),
		};
		reconnected = false;
		let (done, total) = (info.settled, info.spec.task_count);
		let width = 40;
		let filled = (done as usize * width).checked_div(total as usize).unwrap_or(width);
		eprint!(
			"\r[{}{}] {done}/{total} tasks settled · {} being verified · {:.3} credits spent",
			"#".repeat(filled),
			" ".repeat(width - filled),
			info.in_flight,
			info.spent as f64 / UNIT as f64
		);
		if info.ended.is_some() {
			eprintln!(" · {:?}", info.status);
			return Ok(chain);
		}
		tokio::time::sleep(Duration::from_secs(1)).await;
	}
}

/// Writes every accepted output of `job` to `out`, each checked against its content id, and,
/// for a built-in workload's job, says what they add up to (see [`answer`]). The content
/// network is joined through `bootstrap` for the first output the store does not hold.
async fn fetch(
	chain: &Chain,
	p2p: &ccgsc_p2p::Node,
	bootstrap: &Bootstrap,
	notes: Option<&kept::Held>,
	job: u64,
	out: &Path,
	files: &[PathBuf],
) -> anyhow::Result<()> {
	let JobSnapshot { job: info, tasks, .. } = job_snapshot(chain, job).await?;
	let mut tasks = tasks.into_iter().peekable();
	std::fs::create_dir_all(out).with_context(|| format!("cannot create {}", out.display()))?;
	let workload = answer::workload(&ContentId(info.spec.module.0));
	// The outputs, kept for a built-in workload's answer (`None`: the task has none, or the
	// job is no built-in workload's).
	let mut outputs = Vec::new();
	let mut failed = 0;
	let mut joined = false;
	for index in 0..info.spec.task_count {
		let name = files
			.get(index as usize)
			.and_then(|f| f.file_name())
			.map(|n| format!("{index}-{}.out", n.to_string_lossy()))
			.unwrap_or_else(|| format!("{index}.out"));
		let task = tasks.next_if(|(i, _)| *i == index).map(|(_, task)| task);
		let Some(result) = task.as_ref().and_then(|t| t.result) else {
			match ccgsc_chain::unresolved(task.as_ref()) {
				Some(why) => eprintln!("task {index}: no accepted result: {}", why.describe()),
				None => eprintln!("task {index}: no accepted result"),
			}
			failed += 1;
			outputs.push(None);
			continue;
		};
		let outcome = convert::outcome_back(&result.outcome);
		if outcome != Outcome::Success {
			eprintln!("task {index}: {outcome:?}");
			failed += 1;
			outputs.push(None);
			continue;
		}
		let id = ContentId(result.output.0);
		note(notes, job, [Item::Blob(id)]);
		if !joined && !p2p.client().has(&id) {
			join(p2p, bootstrap, "the outputs come from the workers that serve them").await?;
			joined = true;
		}
		let bytes = p2p
			.client()
			.get(id)
			.await
			.with_context(|| format!("task {index}: cannot fetch output {id}"))?;
		std::fs::write(out.join(&name), &bytes)?;
		outputs.push(workload.and(Some(bytes)));
	}
	println!(
		"{} outputs in {}{}",
		info.spec.task_count - failed,
		out.display(),
		if failed > 0 { format!(" ({failed} tasks without output)") } else { String::new() }
	);
	let Some(workload) = workload else { return Ok(()) };
	// The inputs an answer reads, from this store when this CLI posted the job, else from
	// whoever provides them (joining the content network for the first it lacks, as for the
	// outputs).
	let root = info.spec.inputs_root;
	let mut ids = None;
	let why = "the answer reads the job's inputs from whoever provides them";
	let input = async |index: u32| -> anyhow::Result<Vec<u8>> {
		if ids.is_none() {
			let stored = p2p.client().store().inputs(&root).ok().flatten().is_some();
			if !joined && !stored {
				join(p2p, bootstrap, why).await?;
				joined = true;
			}
			let list = p2p.client().inputs(root, &[]).await.context("cannot get the input list")?;
			note(notes, job, [Item::Inputs(root)]);
			ids = Some(list);
		}
		let id = *ids.as_ref().and_then(|ids| ids.get(index as usize)).context("no such input")?;
		note(notes, job, [Item::Blob(id)]);
		if !joined && !p2p.client().has(&id) {
			join(p2p, bootstrap, why).await?;
			joined = true;
		}
		p2p.client().get(id).await.with_context(|| format!("cannot fetch input {index}"))
	};
	match answer::say(workload, job, &outputs, input, out).await {
		Ok(said) => println!("{said}"),
		Err(e) => eprintln!("no {workload} answer: {e:#}"),
	}
	Ok(())
}

/// Sends `amount` credits from `poster` to the SS58 account `to`, and says what `to` has now.
///
/// # Errors
/// If `to` is no account, the amount no positive number of credits, or the signer cannot pay it
/// and a fee (all before anything is signed); or if the node refuses the transfer.
async fn transfer(url: &str, poster: &Poster, to: &str, amount: f64) -> anyhow::Result<()> {
	let to: AccountId32 =
		to.parse().map_err(|_| anyhow::anyhow!("{to:?} is not an SS58 account address"))?;
	if !(amount.is_finite() && amount > 0.0 && amount <= 1e12) {
		bail!("the amount is a number of credits above 0 (at most 10^12), not {amount}");
	}
	let chain = connect(url).await?;
	let units = (amount * UNIT as f64) as Balance;
	poster.can_pay(&chain, units).await?;
	poster.transfer(&chain, &to, units).await?;
	let free = chain.free_balance(&to).await?;
	println!(
		"sent {amount:.3} credits from {} to {to}, which now has {:.3}",
		poster.account(),
		free as f64 / UNIT as f64
	);
	Ok(())
}

/// Cancels `job` as `poster`, follows it until it has ended, and says what returned.
///
/// # Errors
/// If there is no such job, `poster` did not post it, it is no longer open, or the node cannot
/// be asked; all but the last before anything is signed.
async fn cancel(url: &str, chain: &Chain, poster: &Poster, job: u64) -> anyhow::Result<()> {
	let info = job_info(chain, job).await?;
	if info.poster != poster.account() {
		bail!(
			"job {job} was posted by {}, not by {}: only its poster can cancel it",
			info.poster,
			poster.account()
		);
	}
	if !matches!(info.status, JobStatus::Open) {
		bail!("job {job} is {:?}: only an open job can be cancelled", info.status);
	}
	poster.can_pay(chain, 0).await?;
	let refunded = poster
		.cancel(chain, job)
		.await
		.with_context(|| format!("the chain refused to cancel job {job}"))?;
	let refunded = match refunded {
		Some(refunded) => refunded,
		None => {
			println!("job {job} cancelled: the tasks whose results are in settle first");
			let chain = follow(url, chain.clone(), job).await?;
			let ended = job_info(&chain, job)
				.await?
				.ended
				.with_context(|| format!("job {job} has not ended"))?;
			chain.refunded(job, ended).await?
		},
	};
	println!(
		"job {job} cancelled and ended: {:.3} credits returned to {}",
		refunded as f64 / UNIT as f64,
		poster.account()
	);
	Ok(())
}

/// Job `job` at the latest finalized block.
///
/// # Errors
/// If there is no such job now (see [`missing`]), or the node cannot be asked.
async fn job_info(chain: &Chain, job: u64) -> anyhow::Result<Job<AccountId32, Balance, u32>> {
	match chain.job(job).await? {
		Some(info) => Ok(info),
		None => Err(missing(chain, job).await),
	}
}

/// Job `job` and its claimed tasks, both read at the latest finalized block in one pass over
/// its tasks' storage (a job of thousands of tasks is one paged read, not a request per task).
///
/// # Errors
/// If there is no such job now (see [`missing`]), or the node cannot be asked.
async fn job_snapshot(chain: &Chain, job: u64) -> anyhow::Result<JobSnapshot> {
	match chain.job_with_tasks(job).await? {
		Some(snapshot) => Ok(snapshot),
		None => Err(missing(chain, job).await),
	}
}

/// Why job `job` has no record: it never existed, or it ended and the chain has removed its
/// record (a week after it ended).
async fn missing(chain: &Chain, job: u64) -> anyhow::Error {
	match chain.job_pruned(job).await {
		Ok(true) => anyhow::anyhow!(ccgsc_chain::job_gone(job)),
		Ok(false) => anyhow::anyhow!("no job {job}"),
		Err(e) => e.into(),
	}
}

/// Prints a job and the phase of each of its tasks. A task of a closed job (cancelled, or past
/// its deadline) that will never settle is `skipped`, and the line says why
/// ([`ccgsc_chain::Skipped`]): no replica ran it, or some did but not all the job asked for,
/// and those go unpaid.
async fn status(chain: &Chain, job: u64) -> anyhow::Result<()> {
	let JobSnapshot { job: info, tasks, .. } = job_snapshot(chain, job).await?;
	let mut tasks = tasks.into_iter().peekable();
	say(format_args!(
		"job {job}: {:?}, {}/{} tasks settled, {} being verified, {:.3} credits spent, {:.3} held",
		info.status,
		info.settled,
		info.spec.task_count,
		info.in_flight,
		info.spent as f64 / UNIT as f64,
		info.escrow as f64 / UNIT as f64
	))?;
	for index in 0..info.spec.task_count {
		let task = tasks.next_if(|(i, _)| *i == index).map(|(_, task)| task);
		let line = match (ccgsc_chain::skipped(&info.status, task.as_ref()), task) {
			(Some(why), _) => format!("skipped: {}", why.describe()),
			(None, None) => "open".to_string(),
			(None, Some(task)) => match (&task.phase, &task.result) {
				(Phase::Done, Some(r)) => {
					format!(
						"done: {:?} {}",
						convert::outcome_back(&r.outcome),
						ContentId(r.output.0)
					)
				},
				(phase, _) => match ccgsc_chain::unresolved(Some(&task)) {
					Some(why) => format!("failed: {}", why.describe()),
					None => format!("{phase:?}, {} replicas", task.replicas.0.len()),
				},
			},
		};
		say(format_args!("  task {index}: {line}"))?;
	}
	Ok(())
}

/// What [`say`] returns when stdout's reader has gone (`ccgsc status 7 | head`): the command
/// stops there, quietly and successfully, as Unix tools do.
#[derive(Debug)]
struct StdoutClosed;

impl std::fmt::Display for StdoutClosed {
	fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
		f.write_str("stdout closed")
	}
}

impl std::error::Error for StdoutClosed {}

/// Writes `line` to stdout; [`StdoutClosed`] if its reader has gone, where `println!` would
/// panic.
fn say(line: std::fmt::Arguments<'_>) -> anyhow::Result<()> {
	match writeln!(std::io::stdout(), "{line}") {
		Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Err(StdoutClosed.into()),
		other => Ok(other?),
	}
}
