//! The `ccgsc` CLI against the real chain and two workers: write a built-in workload to a
//! folder (`example`), post it with the command `example` printed, follow the job, get the
//! verified outputs in a folder; refuse bad example parameters, a folder with no inputs and a
//! post on no content network; join the network through a portal's addresses beside the CLI's
//! folder when given no `--bootstrap`; once the chain has removed the ended job's record (its
//! retention shortened for the test), `status` and `fetch` say so, and so does the portal
//! (410), the workers drop the job's module, inputs and outputs from their stores, and the CLI
//! from its own at its next `fetch`; follow a job to its end without `--out`, through a node
//! restart; cancel a running job; warn a poster when fewer registered workers can take a
//! job's tasks than a task needs replicas.
//!
//! Run: `cargo build --release -p ccgsc-node -p ccgsc-cli && cargo test --release -p
//! ccgsc-tests --test cli`.

use std::{path::Path, process::Output, time::Duration};

use axum::http::StatusCode;
use ccgsc_chain::{api::runtime_types::pallet_jobs::types::JobStatus, dev, UNIT};
use ccgsc_primitives::ContentId;
use ccgsc_tasks::primes;
use ccgsc_tests::{
	binary,
	market::{account, fund, logs, registered_worker, start_worker, Running},
	Node,
};
use tokio::io::{AsyncBufReadExt, AsyncReadExt};
use tower::ServiceExt;

/// Blocks an ended job's record is kept in these tests (a week in the runtime), long enough
/// for `ccgsc post --out` to fetch the outputs after the job ends.
const RETENTION: u32 = 30;

/// Two workers with keys `seeds`, dialled to each other and registered on the chain; returns
/// them and the first one's address, for the CLI to join the network through.
async fn two_workers(
	node: &Node,
	chain: &ccgsc_chain::Chain,
	dir: &Path,
	seeds: [u8; 2],
) -> ([Running<ccgsc_worker::Stats>; 2], ccgsc_p2p::Multiaddr) {
	let workers = [
		start_worker(node, dir, seeds[0], vec![], false).await,
		start_worker(node, dir, seeds[1], vec![], false).await,
	];
	let addr = workers[0].p2p.listen_addrs().await.unwrap().remove(0);
	workers[1].p2p.dial(addr.clone()).await.expect("the workers connect");
	for worker in &workers {
		registered_worker(chain, &worker.account).await;
	}
	(workers, addr)
}

/// `ccgsc` on `node`, its state in `dir/cli`, killed if dropped.
fn command(node: &Node, dir: &Path) -> tokio::process::Command {
	let mut command = tokio::process::Command::new(binary("ccgsc"));
	command.arg("--chain").arg(node.ws_url()).arg("--dir").arg(dir.join("cli")).kill_on_drop(true);
	command
}

/// Runs `ccgsc` with `args` to its end (up to five minutes).
async fn ccgsc(node: &Node, dir: &Path, args: &[&str]) -> Output {
	let run = command(node, dir).args(args).output();
	tokio::time::timeout(Duration::from_secs(300), run)
		.await
		.expect("ccgsc finishes in time")
		.expect("ccgsc runs")
}

/// Starts `ccgsc post` as Dave of `module` on the files of `inputs`, with `args` after the
/// post's own, and returns it once it has posted: the process, its stdout from the next line
/// on, its first line (`job <id> posted ...`) and the job id.
async fn spawn_post(
	node: &Node,
	dir: &Path,
	bootstrap: &ccgsc_p2p::Multiaddr,
	module: &Path,
	inputs: &Path,
	args: &[&str],
) -> (tokio::process::Child, tokio::io::BufReader<tokio::process::ChildStdout>, String, u64) {
	let mut post = command(node, dir)
		.args(["--bootstrap", &bootstrap.to_string(), "post", "--dev", "dave", "--module"])
		.arg(module)
		.arg("--inputs")
		.arg(inputs)
		.args(args)
		.stdout(std::process::Stdio::piped())
		.stderr(std::process::Stdio::piped())
		.spawn()
		.expect("ccgsc runs");
	let mut stdout = tokio::io::BufReader::new(post.stdout.take().unwrap());
	let mut first = String::new();
	tokio::time::timeout(Duration::from_secs(120), stdout.read_line(&mut first))
		.await
		.expect("ccgsc posts in time")
		.unwrap();
	let job = first
		.strip_prefix("job ")
		.and_then(|rest| rest.split_whitespace().next())
		.and_then(|id| id.parse::<u64>().ok())
		.unwrap_or_else(|| panic!("`job <id> posted` on stdout, not {first:?}"));
	(post, stdout, first, job)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn ccgsc_posts_a_folder_of_inputs_and_writes_the_verified_outputs() {
	logs();
	let node = Node::dev();
	let chain = node.client(Duration::from_secs(60)).await;
	let dir = tempfile::tempdir().unwrap();
	// The folder to post: the built-in primes workload, as `ccgsc example` writes it.
	let example = dir.path().join("example");
	let example_arg = example.to_str().unwrap();
	let wrote = ccgsc(
		&node,
		dir.path(),
		&["example", "primes", "--set", "limit=90000", "--set", "tasks=3", "--out", example_arg],
	)
	.await;
	let said = String::from_utf8_lossy(&wrote.stdout);
	assert!(wrote.status.success(), "{said}{}", String::from_utf8_lossy(&wrote.stderr));
	assert_eq!(std::fs::read(example.join("primes.wasm")).unwrap(), ccgsc_task_modules::PRIMES);
	let ranges = [(0, 30_000), (30_000, 60_000), (60_000, 90_000)];
	// Bad parameters, an unknown workload and a folder that has inputs already are refused,
	// and say why.
	for (args, says) in [
		(vec!["example", "primes", "--set", "limt=5"], "unknown field `limt`"),
		(
			vec!["example", "primes", "--set", "tasks=0"],
			"tasks must be 1..=4096\nthe parameters of primes:\n  limit (default 10000000): count \
			 the primes below this\n  tasks (default 20): ",
		),
		(vec!["example", "primes", "--set", "limit"], "--set takes name=value"),
		(vec!["example", "sorting"], "no built-in workload \"sorting\"; there are:\n  primes"),
		(vec!["example", "matmul"], "already has files"),
	] {
		let refused =
			ccgsc(&node, dir.path(), &[&args[..], &["--out", example_arg]].concat()).await;
		let stderr = String::from_utf8_lossy(&refused.stderr);
		assert!(!refused.status.success() && stderr.contains(says), "{args:?}: {stderr}");
	}
	assert!(!example.join("matmul.wasm").exists(), "nothing was written");
	assert_eq!(std::fs::read_dir(example.join("inputs")).unwrap().count(), 3);

	// `transfer` funds an account; one the signer cannot pay, or no address, is refused before
	// anything is signed; no credit is made or lost.
	let issuance = chain.total_issuance().await.unwrap();
	let (to, unfunded) = (account(69).to_string(), dir.path().join("unfunded"));
	let module_arg = example.join("primes.wasm").to_str().unwrap().to_string();
	let inputs_arg = example.join("inputs").to_str().unwrap().to_string();
	let sent = ccgsc(&node, dir.path(), &["transfer", &to, "2.5", "--dev", "alice"]).await;
	assert!(sent.status.success(), "{}", String::from_utf8_lossy(&sent.stderr));
	assert!(
		String::from_utf8_lossy(&sent.stdout).contains(&format!("to {to}, which now has 2.500"))
	);
	assert_eq!(chain.free_balance(&account(69)).await.unwrap(), 5 * UNIT / 2);
	for (state, args, says) in [
		(
			// A CLI whose own key (made in its fresh --dir) has no credits.
			unfunded.as_path(),
			vec!["transfer", &to, "1"],
			"credits, too few to pay 1.000 credits and a transaction fee: fund it first",
		),
		(dir.path(), vec!["transfer", "5Gnot", "1", "--dev", "alice"], "is not an SS58 account"),
		(
			// Posting the example's three tasks holds 3 × (2 replicas × 0.01 + 3 checkers ×
			// 0.1), the most they can cost: said before anything is stored or posted.
			unfunded.as_path(),
			vec!["post", "--module", &module_arg, "--inputs", &inputs_arg],
			"credits, too few to pay 0.960 credits and a transaction fee: fund it first",
		),
	] {
		let refused = ccgsc(&node, state, &args).await;
		let stderr = String::from_utf8_lossy(&refused.stderr);
		assert!(!refused.status.success() && stderr.contains(says), "{args:?}: {stderr}");
	}
	assert_eq!(chain.free_balance(&account(69)).await.unwrap(), 5 * UNIT / 2);
	assert_eq!(chain.total_issuance().await.unwrap(), issuance);

	// A short retention, so the test sees the job's record removed once it has ended.
	chain.set_job_retention(&dev::alice(), RETENTION).await.expect("root sets the retention");
	fund(&chain, &[61, 62]).await;
	let (workers, addr) = two_workers(&node, &chain, dir.path(), [61, 62]).await;

	// The command `example` printed, signed by Dave, through the first worker: `<p2p>` in it is
	// the address to join the content network through.
	let printed = said
		.lines()
		.find_map(|line| line.trim().strip_prefix("ccgsc "))
		.unwrap_or_else(|| panic!("a `ccgsc post` command: {said}"));
	assert!(printed.starts_with("--bootstrap <p2p> post "), "{printed}");
	assert!(said.contains("where <p2p> is the libp2p address of a worker or the portal"));
	let out = example.join("outputs");
	assert!(printed.ends_with(&format!("--out {}", out.display())), "{printed}");

	// The printed command's words with `<p2p>` filled in (`None`: without its `--bootstrap`),
	// signed by Dave.
	let post = |p2p: Option<&str>| {
		let mut words: Vec<String> = printed.split_whitespace().map(String::from).collect();
		match p2p {
			Some(p2p) => words[1] = p2p.to_string(),
			None => {
				words.drain(..2);
			},
		}
		words.extend(["--dev".into(), "dave".into()]);
		words
	};
	let (node_ref, dir_path) = (&node, dir.path());
	let run = |words: Vec<String>| async move {
		ccgsc(node_ref, dir_path, &words.iter().map(String::as_str).collect::<Vec<_>>()).await
	};

	// On no content network, no worker could fetch the inputs and every task would fail: the
	// job is refused before it is posted, with no --bootstrap (and no portal's addresses beside
	// the CLI's folder), with one nobody answers at, and with a portal's addresses nobody
	// answers at (a portal that did not stop cleanly).
	let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
	let nobody: ccgsc_p2p::Multiaddr =
		format!("/ip4/127.0.0.1/tcp/{closed}/p2p/{}", workers[0].p2p.peer_id()).parse().unwrap();
	let portal_dir = dir.path().join("portal");
	let portal_file = portal_dir.join(ccgsc_p2p::bootstrap::ADDRS_FILE);
	for (p2p, portal, says) in [
		(
			None,
			None,
			format!(
				"no --bootstrap and no portal's addresses in {}, so this CLI is on no content \
				 network: the workers could not fetch the job's module and inputs from this \
				 CLI; nothing was posted. Pass --bootstrap",
				portal_file.display()
			),
		),
		(
			Some(nobody.to_string()),
			None,
			format!("no --bootstrap peer answered in 10 s ({nobody}): the workers could not fetch"),
		),
		(
			None,
			Some(nobody.clone()),
			format!(
				"no peer at the portal's addresses in {} answered in 10 s ({nobody}; is that \
				 portal running?): the workers could not fetch",
				portal_file.display()
			),
		),
	] {
		if let Some(listed) = portal {
			std::fs::create_dir_all(&portal_dir).unwrap();
			ccgsc_p2p::bootstrap::write(&portal_dir, &[listed]).unwrap();
		}
		let refused = run(post(p2p.as_deref())).await;
		let stderr = String::from_utf8_lossy(&refused.stderr);
		assert!(!refused.status.success() && stderr.contains(&says), "{p2p:?}: {stderr}");
	}
	assert!(chain.jobs().await.unwrap().is_empty(), "nothing was posted");

	// With no --bootstrap, the CLI joins through the addresses a portal wrote beside its
	// folder (as `./dev up` runs one beside the default `.ccgsc/cli`); here the first
	// worker's. `example` then prints a command without `<p2p>` to fill in.
	ccgsc_p2p::bootstrap::write(&portal_dir, std::slice::from_ref(&addr)).unwrap();
	let beside = dir.path().join("beside-a-portal");
	let wrote = ccgsc(
		&node,
		dir.path(),
		&["example", "primes", "--set", "tasks=1", "--out", beside.to_str().unwrap()],
	)
	.await;
	let said_beside = String::from_utf8_lossy(&wrote.stdout);
	assert!(wrote.status.success(), "{said_beside}");
	assert!(said_beside.contains("\n  ccgsc post --module "), "{said_beside}");
	assert!(
		said_beside.contains(&format!(
			"no --bootstrap needed here: it joins the content network, through which the \
			 workers fetch the inputs from this CLI, by the portal's addresses in {}",
			portal_file.display()
		)),
		"{said_beside}"
	);
	let posted = run(post(None)).await;
	let (stdout, stderr) =
		(String::from_utf8_lossy(&posted.stdout), String::from_utf8_lossy(&posted.stderr));
	assert!(posted.status.success(), "ccgsc post failed:\n{stdout}\n{stderr}");
	// Two registered workers can give each task its two replicas: no warning.
	assert!(!stderr.contains("note: "), "{stderr}");
	// Its progress line ends with every task settled and none left being verified.
	assert!(stderr.contains("] 3/3 tasks settled · 0 being verified · "), "{stderr}");
	let mut total = 0;
	for (i, (lo, hi)) in ranges.iter().enumerate() {
		let written = std::fs::read(out.join(format!("{i}-primes-{i:04}.bin.out")))
			.unwrap_or_else(|e| panic!("output {i} written: {e}\n{stdout}"));
		// The example counts (`--arg=--count` in the command it printed).
		let count = primes::run(&primes::input(*lo, *hi), &["--count".into()]).unwrap();
		assert_eq!(written, count, "output {i}");
		total += primes::decode(&count).unwrap().0;
	}
	// And says what they add up to: the primes below 90 000.
	assert_eq!(total, 8_713);
	assert!(stdout.contains("answer: 8713 primes in the 3 ranges\n"), "{stdout}");

	// `status` shows the finished job.
	let job = stdout
		.split_whitespace()
		.nth(1)
		.and_then(|id| id.parse::<u64>().ok())
		.expect("`job <id> posted` on stdout");
	let job_id = job.to_string();
	let status = ccgsc(&node, dir.path(), &["status", &job_id]).await;
	let status = String::from_utf8_lossy(&status.stdout);
	assert!(status.contains("Done, 3/3 tasks settled"), "{status}");
	// It said what posting held, which the job has since spent or returned.
	let info = chain.job(job).await.unwrap().expect("kept");
	let refunded = chain.refunded(job, info.ended.expect("ended")).await.unwrap();
	let held = (refunded + info.spent) as f64 / UNIT as f64;
	assert!(stdout.contains(&format!("\n{held:.3} credits held until it ends, ")), "{stdout}");
	// A reader that stops early (`ccgsc status <job> | head -1`; here before the first line)
	// ends it quietly, not with a panic.
	let mut early = command(&node, dir.path())
		.args(["status", &job_id])
		.stdout(std::process::Stdio::piped())
		.stderr(std::process::Stdio::piped())
		.spawn()
		.expect("ccgsc runs");
	drop(early.stdout.take());
	let early = early.wait_with_output().await.unwrap();
	assert!(early.status.success(), "{}", String::from_utf8_lossy(&early.stderr));

	// A folder without inputs is refused before anything is posted.
	let empty = dir.path().join("empty");
	std::fs::create_dir_all(&empty).unwrap();
	let refused = ccgsc(
		&node,
		dir.path(),
		&[
			"post",
			"--dev",
			"dave",
			"--module",
			example.join("primes.wasm").to_str().unwrap(),
			"--inputs",
			empty.to_str().unwrap(),
		],
	)
	.await;
	assert!(!refused.status.success());
	assert!(String::from_utf8_lossy(&refused.stderr).contains("has no input files"));
	assert!(chain.job(job + 1).await.unwrap().is_none(), "no second job was posted");

	// RETENTION blocks after it ended, the chain removes the job's record, and moves no
	// credits doing so; the CLI and the portal say what became of it, and the workers drop
	// what they kept for it (module, inputs, outputs) from their stores.
	let mut content = vec![ContentId::of(ccgsc_task_modules::PRIMES)];
	for (index, (lo, hi)) in ranges.iter().enumerate() {
		content.push(ContentId::of(&primes::input(*lo, *hi)));
		let task = chain.task(job, index as u32).await.unwrap().expect("claimed");
		content.push(ContentId(task.result.expect("settled").output.0));
	}
	// The CLI's own store: the module and inputs it posted, the outputs it fetched.
	let cli_store = ccgsc_p2p::Store::open(dir.path().join("cli").join("store")).unwrap();
	for id in &content {
		assert!(workers.iter().any(|w| w.p2p.has(id)), "a worker stored {id:?}");
		assert!(cli_store.has(id), "the CLI stored {id:?}");
	}
	let info = chain.job(job).await.unwrap().expect("kept a while");
	let (ended, dave) = (info.ended.expect("ended"), info.poster);
	let poster = chain.free_balance(&dave).await.unwrap();
	let issuance = chain.total_issuance().await.unwrap();
	while chain.finalized_number().await.unwrap() < ended + RETENTION + 5 {
		tokio::time::sleep(Duration::from_secs(1)).await;
	}
	assert!(chain.job(job).await.unwrap().is_none(), "the record is gone\n{}", node.log_tail());
	assert!(chain.task(job, 0).await.unwrap().is_none(), "with its tasks");
	assert!(chain.job_pruned(job).await.unwrap());
	assert!(!chain.job_pruned(job + 1).await.unwrap(), "a job never posted was not pruned");
	assert_eq!(
		chain.jobs_pruned(&[job + 1, job, job + 1, job]).await.unwrap(),
		[job, job],
		"asked about many jobs at once, the chain names the removed one, in order"
	);
	assert_eq!(chain.free_balance(&dave).await.unwrap(), poster);
	assert_eq!(chain.total_issuance().await.unwrap(), issuance);
	let started = std::time::Instant::now();
	while content.iter().any(|id| workers.iter().any(|w| w.p2p.has(id))) {
		assert!(
			started.elapsed() < Duration::from_secs(30),
			"the workers dropped the job's content from their stores"
		);
		tokio::time::sleep(Duration::from_millis(200)).await;
	}
	for args in [vec!["status", &job_id], vec!["fetch", &job_id, "--out", out.to_str().unwrap()]] {
		let gone = ccgsc(&node, dir.path(), &args).await;
		assert!(!gone.status.success(), "{args:?}");
		let stderr = String::from_utf8_lossy(&gone.stderr);
		assert!(stderr.contains("its record has since been removed from the chain"), "{stderr}");
	}
	// `fetch` started by dropping from the CLI's store what only the removed job used.
	for id in &content {
		assert!(!cli_store.has(id), "the CLI dropped {id:?}");
	}
	let portal = ccgsc_portal::Portal::start(ccgsc_portal::Config::new(
		node.ws_url(),
		dir.path().join("portal"),
	))
	.await
	.expect("the portal starts");
	let app = ccgsc_portal::app(portal.portal());
	let started = std::time::Instant::now();
	let (status, body) = loop {
		let request = axum::http::Request::get(format!("/api/jobs/{job}"))
			.body(axum::body::Body::empty())
			.unwrap();
		let response = app.clone().oneshot(request).await.unwrap();
		let status = response.status();
		let body = axum::body::to_bytes(response.into_body(), 1 << 20).await.unwrap();
		// Until the portal has reached the node it answers 503.
		if status != StatusCode::SERVICE_UNAVAILABLE || started.elapsed() > Duration::from_secs(60)
		{
			break (status, String::from_utf8_lossy(&body).into_owned());
		}
		tokio::time::sleep(Duration::from_millis(200)).await;
	};
	assert_eq!(status, StatusCode::GONE, "{body}");
	assert!(body.contains("its record has since been removed from the chain"), "{body}");
	portal.stop().await;

	for worker in workers {
		worker.stop().await;
	}
}

/// Without `--out`, `ccgsc post` still follows the job to its end, as it alone serves the
/// inputs; and a node that goes away meanwhile is waited for, not an error. (The node may
/// go away while a worker is still registering: the worker registers once it is back.)
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn ccgsc_post_serves_its_job_to_the_end_through_a_node_restart() {
	logs();
	let mut node = Node::dev();
	let chain = node.client(Duration::from_secs(60)).await;
	let dir = tempfile::tempdir().unwrap();
	let inputs = dir.path().join("inputs");
	std::fs::create_dir_all(&inputs).unwrap();
	// Counting primes up to 6·10⁸ in three parts: a second or two each.
	let ranges = [(0, 200_000_000), (200_000_000, 400_000_000), (400_000_000, 600_000_000)];
	for (i, (lo, hi)) in ranges.iter().enumerate() {
		std::fs::write(inputs.join(format!("range-{i}.bin")), primes::input(*lo, *hi)).unwrap();
	}
	let module = dir.path().join("primes.wasm");
	std::fs::write(&module, ccgsc_task_modules::PRIMES).unwrap();
	fund(&chain, &[63, 64]).await;
	let issuance = chain.total_issuance().await.unwrap();
	let (workers, addr) = two_workers(&node, &chain, dir.path(), [63, 64]).await;

	let (mut post, mut stdout, first, job) = spawn_post(
		&node,
		dir.path(),
		&addr,
		&module,
		&inputs,
		&["--arg", "--count", "--work", "60000000000"],
	)
	.await;

	// The node goes away while the job runs, and comes back.
	node.kill();
	tokio::time::sleep(Duration::from_secs(3)).await;
	node.restart();

	let ended = tokio::time::timeout(Duration::from_secs(300), post.wait())
		.await
		.expect("ccgsc post ends with its job")
		.unwrap();
	let mut rest = String::new();
	stdout.read_to_string(&mut rest).await.unwrap();
	let mut stderr = String::new();
	post.stderr.take().unwrap().read_to_string(&mut stderr).await.unwrap();
	assert!(ended.success(), "ccgsc post failed:\n{first}{rest}\n{stderr}");
	assert!(stderr.contains("node unreachable"), "it said the node was gone:\n{stderr}");
	// And how to fetch the outputs, through the network it joined.
	assert!(
		rest.contains(&format!("ccgsc --bootstrap {addr} fetch {job} --out <folder>")),
		"{rest}"
	);

	// It returned only once the job was over, every task settled with the right count.
	let chain = node.client(Duration::from_secs(60)).await;
	let info = chain.job(job).await.unwrap().expect("the job exists");
	assert_eq!(info.status, JobStatus::Done, "{stderr}");
	assert_eq!(info.in_flight, 0);
	assert!(info.ended.is_some());
	for (index, (lo, hi)) in ranges.iter().enumerate() {
		let task = chain.task(job, index as u32).await.unwrap().expect("claimed");
		let expected = primes::run(&primes::input(*lo, *hi), &["--count".into()]).unwrap();
		let result = task.result.expect("settled");
		assert_eq!(result.output.0, ContentId::of(&expected).0, "task {index}: {result:?}");
	}
	assert_eq!(chain.total_issuance().await.unwrap(), issuance, "no credit created or destroyed");
	for worker in workers {
		worker.stop().await;
	}
}

/// `ccgsc cancel` ends a running job for its poster alone: the tasks whose results are in
/// settle, the rest of the escrow returns and it says how much; `ccgsc post`, following the
/// job, ends with it.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn ccgsc_cancel_ends_a_running_job_and_returns_what_it_did_not_spend() {
	logs();
	let node = Node::dev();
	let chain = node.client(Duration::from_secs(60)).await;
	let dir = tempfile::tempdir().unwrap();
	let inputs = dir.path().join("inputs");
	std::fs::create_dir_all(&inputs).unwrap();
	// Counting primes below 1.6·10⁹ in sixteen ranges: most of a second each.
	for i in 0..16u64 {
		let range = primes::input(i * 100_000_000, (i + 1) * 100_000_000);
		std::fs::write(inputs.join(format!("range-{i:02}.bin")), range).unwrap();
	}
	let module = dir.path().join("primes.wasm");
	std::fs::write(&module, ccgsc_task_modules::PRIMES).unwrap();
	fund(&chain, &[65, 66]).await;
	let issuance = chain.total_issuance().await.unwrap();

	// Posted while no worker is registered (through a bare content node), a job is posted with
	// a warning that its tasks wait for workers; cancelled, it ends at once.
	let peer = ccgsc_p2p::Node::start(ccgsc_p2p::Config::new(dir.path().join("peer")))
		.await
		.expect("the content node starts");
	let through = peer.client().listen_addrs().await.unwrap().remove(0);
	let (mut post, _stdout, _, job) =
		spawn_post(&node, dir.path(), &through, &module, &inputs, &[]).await;
	let cancelled = ccgsc(&node, dir.path(), &["cancel", &job.to_string(), "--dev", "dave"]).await;
	assert!(cancelled.status.success(), "{}", String::from_utf8_lossy(&cancelled.stderr));
	tokio::time::timeout(Duration::from_secs(60), post.wait())
		.await
		.expect("ccgsc post ends with its job")
		.unwrap();
	let mut stderr = String::new();
	post.stderr.take().unwrap().read_to_string(&mut stderr).await.unwrap();
	let warning = "note: no registered worker can take these tasks now (none is active with this \
	               platform, executor version and memory): they wait until one joins\n";
	assert!(stderr.contains(warning), "{stderr}");
	peer.stop().await;

	let (workers, addr) = two_workers(&node, &chain, dir.path(), [65, 66]).await;

	// Its stdout stays open (`_stdout`): `post` writes to it at the end.
	let (mut post, _stdout, _, job) = spawn_post(
		&node,
		dir.path(),
		&addr,
		&module,
		&inputs,
		&["--arg", "--count", "--reward", "0.01", "--work", "20000000000"],
	)
	.await;
	let job_id = job.to_string();
	let held = chain.job(job).await.unwrap().expect("posted").escrow;

	// Only its poster can cancel it, and only a job there is.
	let eve = ccgsc(&node, dir.path(), &["cancel", &job_id, "--dev", "eve"]).await;
	let said = String::from_utf8_lossy(&eve.stderr);
	assert!(!eve.status.success(), "{said}");
	assert!(said.contains("only its poster can cancel it"), "{said}");
	let unknown = ccgsc(&node, dir.path(), &["cancel", "99", "--dev", "dave"]).await;
	assert!(!unknown.status.success());
	assert!(String::from_utf8_lossy(&unknown.stderr).contains("no job 99"));

	// Once a task has settled, Dave cancels.
	let started = std::time::Instant::now();
	while chain.job(job).await.unwrap().expect("posted").settled == 0 {
		assert!(started.elapsed() < Duration::from_secs(120), "a task settles");
		tokio::time::sleep(Duration::from_millis(200)).await;
	}
	let cancelled = ccgsc(&node, dir.path(), &["cancel", &job_id, "--dev", "dave"]).await;
	let said = String::from_utf8_lossy(&cancelled.stdout);
	assert!(cancelled.status.success(), "{said}\n{}", String::from_utf8_lossy(&cancelled.stderr));
	let info = chain.job(job).await.unwrap().expect("kept");
	assert_eq!(info.status, JobStatus::Cancelled);
	assert!(info.settled < 16, "no new task started after the cancel: {} settled", info.settled);
	assert_eq!((info.escrow, info.in_flight), (0, 0), "it has ended");
	let refunded = chain.refunded(job, info.ended.expect("ended")).await.unwrap();
	assert_eq!(refunded + info.spent, held, "what was held was paid out or returned");
	let line = format!(
		"job {job} cancelled and ended: {:.3} credits returned",
		refunded as f64 / UNIT as f64
	);
	assert!(said.contains(&line), "it says what returned ({line}):\n{said}");
	// `status` says which tasks will never settle: every one that did not.
	let status = ccgsc(&node, dir.path(), &["status", &job_id]).await;
	let status = String::from_utf8_lossy(&status.stdout);
	assert!(status.contains(&format!("Cancelled, {}/16 tasks settled", info.settled)), "{status}");
	let skipped = status.matches("skipped: the job closed before").count() as u32;
	assert_eq!(skipped + info.settled, 16, "{status}");

	// `ccgsc post` was following the job: it ends with it.
	let ended = tokio::time::timeout(Duration::from_secs(60), post.wait())
		.await
		.expect("ccgsc post ends with its job")
		.unwrap();
	let mut stderr = String::new();
	post.stderr.take().unwrap().read_to_string(&mut stderr).await.unwrap();
	assert!(ended.success(), "{stderr}");
	assert!(stderr.contains("Cancelled"), "{stderr}");
	let again = ccgsc(&node, dir.path(), &["cancel", &job_id, "--dev", "dave"]).await;
	assert!(!again.status.success());
	assert!(String::from_utf8_lossy(&again.stderr).contains("only an open job can be cancelled"));
	assert_eq!(chain.total_issuance().await.unwrap(), issuance, "no credit created or destroyed");
	for worker in workers {
		worker.stop().await;
	}
}
