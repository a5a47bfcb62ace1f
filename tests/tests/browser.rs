//! The portal in a real browser: Debian's headless Chromium, driven by Playwright
//! (`tests/browser/portal.mjs`), against a real dev node, the real `ccgsc-portal` binary and
//! two workers. The script posts the Mandelbrot example as a dev account and again through a
//! test wallet injected as `window.injectedWeb3`, watches the image fill in, downloads it as
//! a PNG and downloads an output; this test then checks both jobs on chain: who posted them,
//! that they are done, that every accepted tile is the one the native renderer draws, and that
//! what the page said posting would hold is what the chain held; and that the workers page
//! lists both workers with their standing. Then the script posts a prime count, a password
//! search and a matrix product: the pages show π(100 000) and name the password found, and the
//! product downloaded is `C = A·B` as the tasks' native twins compute it; the dev account's
//! credits page lists its four jobs. The wallet's account also posts a long prime count and
//! cancels it from the job's page: the chain has it cancelled before all its tasks ran, its
//! escrow returned. Screenshots are kept in `<target dir>/browser-artifacts/`.
//!
//! Needs `chromium` and `npm ci --prefix tests/browser` (`./dev setup` installs both), and
//! `cargo build --release -p ccgsc-node -p ccgsc-portal`.

use std::{
	path::PathBuf,
	process::Stdio,
	time::{Duration, Instant},
};

use ccgsc_chain::{api::runtime_types::pallet_jobs::types::JobStatus, UNIT};
use ccgsc_primitives::ContentId;
use ccgsc_tests::{
	binary, free_port, http,
	market::{account, fund, logs, registered_worker, start_worker},
	Node,
};

fn artifacts() -> PathBuf {
	let exe = std::env::current_exe().unwrap();
	let target = exe.ancestors().nth(3).expect("target/<profile>/deps/<test>").to_path_buf();
	target.join("browser-artifacts")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_poster_runs_the_mandelbrot_example_in_chromium_as_a_dev_account_and_with_a_wallet() {
	logs();
	let browser_dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("browser");
	assert!(
		browser_dir.join("node_modules/playwright-core").exists(),
		"playwright-core is missing: run `./dev setup` (npm ci --prefix tests/browser)"
	);
	let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
	assert!(
		std::path::Path::new(&chromium).exists(),
		"{chromium} is missing: run `./dev setup` (apt-get install chromium)"
	);
	let node = Node::dev();
	let dir = tempfile::tempdir().unwrap();
	let chain = node.client(Duration::from_secs(60)).await;
	let wallet_seed = 73u8;
	fund(&chain, &[74, 75, wallet_seed]).await;

	let port = free_port();
	let portal_dir = dir.path().join("portal");
	std::fs::create_dir_all(&portal_dir).unwrap();
	let addrs_file = portal_dir.join(ccgsc_p2p::bootstrap::ADDRS_FILE);
	let log = std::fs::File::create(dir.path().join("portal.log")).unwrap();
	let _portal = tokio::process::Command::new(binary("ccgsc-portal"))
		.args(["--dev", "--chain", &node.ws_url(), "--listen", &format!("127.0.0.1:{port}")])
		.arg("--dir")
		.arg(&portal_dir)
		.stdout(Stdio::null())
		.stderr(log)
		.kill_on_drop(true)
		.spawn()
		.expect("ccgsc-portal starts");
	let started = Instant::now();
	loop {
		let status = http(port, "GET", "/api/status", None).await.unwrap_or_default().1;
		let status = String::from_utf8_lossy(&status);
		if status.contains("\"chain\":\"connected\"") && addrs_file.exists() {
			break;
		}
		assert!(
			started.elapsed() < Duration::from_secs(60),
			"the portal comes up: {status}\n{}",
			std::fs::read_to_string(dir.path().join("portal.log")).unwrap_or_default()
		);
		tokio::time::sleep(Duration::from_millis(200)).await;
	}
	let bootstrap = ccgsc_p2p::bootstrap::read(&addrs_file).expect("the portal's addresses");
	let workers = [
		start_worker(&node, dir.path(), 74, bootstrap.clone(), false).await,
		start_worker(&node, dir.path(), 75, bootstrap.clone(), false).await,
	];
	// Registered before the script posts: its quotes count them.
	for worker in &workers {
		registered_worker(&chain, &worker.account).await;
	}

	let artifacts = artifacts();
	std::fs::create_dir_all(&artifacts).unwrap();
	let wallet = account(wallet_seed);
	let run = tokio::process::Command::new("node")
		.arg(browser_dir.join("portal.mjs"))
		.current_dir(&browser_dir)
		.env("PORTAL_URL", format!("http://127.0.0.1:{port}/"))
		.env("ARTIFACTS", &artifacts)
		.env("WALLET_SEED", format!("{wallet_seed:02x}").repeat(32))
		.env("WALLET_ADDRESS", wallet.to_string())
		.env("CHROMIUM", &chromium)
		.kill_on_drop(true)
		.output();
	let output = tokio::time::timeout(Duration::from_secs(900), run)
		.await
		.expect("the browser script finishes in time")
		.expect("node runs");
	let stdout = String::from_utf8_lossy(&output.stdout);
	assert!(
		output.status.success(),
		"the browser script succeeds\nstdout:\n{stdout}\nstderr:\n{}\nportal log:\n{}",
		String::from_utf8_lossy(&output.stderr),
		std::fs::read_to_string(dir.path().join("portal.log")).unwrap_or_default()
	);
	let results: Vec<serde_json::Value> =
		stdout.lines().filter_map(|l| serde_json::from_str(l).ok()).collect();
	println!("browser: {results:?}; screenshots in {}", artifacts.display());
	assert_eq!(results.len(), 8, "{stdout}");
	let (jobs, page) = (&results[..2], &results[2]);

	let tiles = ccgsc_tasks::mandelbrot::Tile::grid((-0.6, 0.0, 3.2), (256, 192), (4, 4), 300);
	let expected: Vec<ContentId> =
		tiles.iter().map(|t| ContentId::of(&ccgsc_tasks::mandelbrot::render(t))).collect();
	let dave = ccgsc_chain::AccountId32::from(ccgsc_chain::dev::dave().public_key());
	for (result, poster) in jobs.iter().zip([dave, wallet]) {
		let image = &result["image"];
		assert_eq!((image["width"].as_u64(), image["height"].as_u64()), (Some(256), Some(192)));
		assert!(image["coloured"].as_u64() > Some(1000), "the image shows the set: {image}");
		assert!(image["black"].as_u64() > Some(1000), "with its inside black: {image}");
		let job = result["job"].as_u64().unwrap();
		let png = &result["png"];
		assert_eq!(png["signature"], "89504e470d0a1a0a", "a PNG file: {png}");
		assert_eq!((png["width"].as_u64(), png["height"].as_u64()), (Some(256), Some(192)));
		assert_eq!(png["name"], format!("job{job}-mandelbrot.png"));
		let info = chain.job(job).await.unwrap().expect("the job exists");
		assert_eq!(info.poster, poster, "{} posted job {job}", result["label"]);
		assert_eq!(info.settled, 16);
		// What the page said posting would hold is what the chain held: now spent or returned.
		let refunded = chain.refunded(job, info.ended.expect("ended")).await.unwrap();
		let held = format!("{:.4} credits", (refunded + info.spent) as f64 / UNIT as f64);
		assert_eq!(result["hold"], held, "{result}");
		for (index, tile) in expected.iter().enumerate() {
			let task = chain.task(job, index as u32).await.unwrap().expect("claimed");
			let result = task.result.expect("accepted");
			assert_eq!(ContentId(result.output.0), *tile, "job {job} tile {index}");
		}
	}

	// The workers page lists both workers as active, with what they have earned so far (their
	// rewards arrive as audit windows close, so the figure itself may still be growing).
	for seed in [74, 75] {
		let who = account(seed).to_string();
		let row = page["workers"]
			.as_array()
			.and_then(|rows| rows.iter().find(|r| r["account"] == who.as_str()))
			.unwrap_or_else(|| panic!("worker {seed} is on the workers page: {page}"));
		assert_eq!(row["standing"], "active", "{row}");
		let earned = row["earned"].as_str().and_then(|e| e.strip_suffix(" credits"));
		assert!(earned.and_then(|e| e.parse::<f64>().ok()).is_some_and(|e| e >= 0.0), "{row}");
	}

	// The prime count's page shows π(100 000); the password search's page names the PIN; the
	// product's download is C = A·B whole, as the native twins of the tasks compute it from
	// the same parameters.
	let count = &results[3];
	assert_eq!((&count["label"], &count["count"]), (&"primes".into(), &"9592".into()));
	let search = &results[4];
	assert_eq!((&search["label"], &search["password"]), (&"password".into(), &"4321".into()));
	let info = chain.job(search["job"].as_u64().unwrap()).await.unwrap().expect("the job");
	assert_eq!(info.settled, 4, "{search}");
	let product = &results[5];
	let made = ccgsc_task_modules::workloads::make(
		"matmul",
		serde_json::json!({"n": 48, "tiles": 3, "seed": 7}),
	)
	.unwrap();
	let c: Vec<u8> =
		made.inputs.iter().flat_map(|i| ccgsc_tasks::matmul::run(i, &[]).unwrap()).collect();
	let sha256: String =
		ccgsc_tasks::pwhash::sha256(&c).iter().map(|b| format!("{b:02x}")).collect();
	assert_eq!(product["download_bytes"], 48 * 48 * 4, "{product}");
	assert_eq!(product["sha256"], sha256, "{product}");
	let job = product["job"].as_u64().unwrap();
	assert_eq!(product["download"], format!("job{job}-product-48x48-f32le.bin"));

	// The job cancelled from its page: cancelled by the wallet's account before all sixteen
	// tasks ran, ended, nothing left in escrow.
	// Dave's credits page lists the four jobs he posted, newest first, each with what it holds
	// and has spent.
	let credits = &results[6];
	assert_eq!(credits["label"], "credits", "{credits}");
	assert!(credits["held"].as_str().is_some_and(|h| h.ends_with(" credits")), "{credits}");
	let listed: Vec<(String, String)> = credits["jobs"]
		.as_array()
		.unwrap()
		.iter()
		.map(|row| (row[0].as_str().unwrap().into(), row[1].as_str().unwrap().into()))
		.collect();
	let posted: Vec<(String, String)> =
		[(5, "matmul"), (4, "pwhash"), (3, "primes"), (0, "mandelbrot")]
			.into_iter()
			.map(|(i, workload)| (format!("#{}", results[i]["job"]), workload.into()))
			.collect();
	assert_eq!(listed, posted, "{credits}");

	let cancelled = &results[7];
	assert_eq!(cancelled["label"], "cancel", "{cancelled}");
	assert!(cancelled["message"].as_str().unwrap().starts_with("Cancelled: "), "{cancelled}");
	let info = chain.job(cancelled["job"].as_u64().unwrap()).await.unwrap().expect("the job");
	assert_eq!(info.poster, wallet, "{cancelled}");
	assert_eq!(info.status, JobStatus::Cancelled, "{cancelled}");
	assert!(info.ended.is_some() && info.escrow == 0, "{cancelled}");
	// The page shows the tasks it will never settle as skipped, none as open or claimed.
	let skipped = cancelled["skipped"].as_u64().unwrap();
	assert!(skipped >= 1 && skipped + u64::from(info.settled) <= 16, "{cancelled}");
	assert_eq!(cancelled["open"], 0, "{cancelled}");
	assert!(info.settled < 16, "{} of 16 tasks settled", info.settled);
}
