//! A test runtime with System, Balances, Workers, Jobs and this pallet, wired as the real
//! runtime wires them.

use crate as pallet_attestations;
use ccgsc_primitives::{
	commitment, ChunkTree, ContentId, Limits, Outcome, PlatformClass, PlatformSet, TaskIndex,
	TaskRef, TaskResult,
};
use polkadot_sdk::{
	frame_support::{
		self, assert_ok, derive_impl, parameter_types,
		traits::{fungible::InspectHold, ConstU32, Hooks},
	},
	frame_system, pallet_balances,
	sp_core::{ConstU64, ConstU8},
	sp_io,
	sp_runtime::{BuildStorage, Perbill},
};

type Block = frame_system::mocking::MockBlock<Test>;

frame_support::construct_runtime!(
	pub enum Test {
		System: frame_system,
		Balances: pallet_balances,
		Workers: pallet_workers,
		Jobs: pallet_jobs,
		Attestations: pallet_attestations,
	}
);

#[derive_impl(frame_system::config_preludes::TestDefaultConfig)]
impl frame_system::Config for Test {
	type Block = Block;
	type AccountData = pallet_balances::AccountData<u64>;
}

#[derive_impl(pallet_balances::config_preludes::TestDefaultConfig)]
impl pallet_balances::Config for Test {
	type AccountStore = System;
	type RuntimeHoldReason = RuntimeHoldReason;
}

impl pallet_workers::Config for Test {
	type Currency = Balances;
	type RuntimeHoldReason = RuntimeHoldReason;
	type MinWorkerStake = ConstU64<100>;
	type UnbondingPeriod = ConstU64<100>;
	type TrustThreshold = ConstU32<3>;
	type WeightInfo = ();
}

parameter_types! {
	pub static AuditRate: Perbill = Perbill::zero();
	pub static CheckersPerReview: u32 = 1;
	pub const Half: Perbill = Perbill::from_percent(50);
}

/// Reward per replica.
pub const REWARD: u64 = 10;
/// Checker fee.
pub const FEE: u64 = 3;
/// Commit window of reviews.
pub const COMMIT_WINDOW: u64 = 4;
/// Reveal window of reviews.
pub const REVEAL_WINDOW: u64 = 4;

impl pallet_jobs::Config for Test {
	type Currency = Balances;
	type RuntimeHoldReason = RuntimeHoldReason;
	type Workers = Workers;
	type Reviews = Attestations;
	type MaxTasks = ConstU32<1000>;
	type MaxReplication = ConstU8<5>;
	type MaxBatch = ConstU32<16>;
	type MaxRequeued = ConstU32<100>;
	type MaxTimeoutsPerBlock = ConstU32<64>;
	type MaxRewardPerTask = ConstU64<100>;
	type MaxWork = ConstU64<1_000_000_000_000>;
	type MaxMemory = ConstU64<{ 1 << 30 }>;
	type MaxOutput = ConstU64<{ 1 << 30 }>;
	type BlockTimeMillis = ConstU64<1000>;
	type MinLease = ConstU64<5>;
	type LeaseMargin = ConstU32<2>;
	type RevealWindow = ConstU64<5>;
	type AuditWindow = ConstU64<20>;
	type AuditRate = AuditRate;
	type SlashFraction = Half;
	type CheckerFee = ConstU64<FEE>;
	type CheckersPerReview = CheckersPerReview;
	type Retention = ConstU64<1000>;
	type WeightInfo = ();
}

impl crate::Config for Test {
	type MinCheckerStake = ConstU64<500>;
	type MaxCheckers = ConstU32<16>;
	type ReviewCommitWindow = ConstU64<COMMIT_WINDOW>;
	type ReviewRevealWindow = ConstU64<REVEAL_WINDOW>;
	type UnbondingPeriod = ConstU64<50>;
	type CheckerSlashFraction = Half;
	type WeightInfo = ();
}

/// The poster.
pub const POSTER: u64 = 1;

/// The credits of the test runtime: accounts 1..=12 with 10_000 each.
pub const ISSUANCE: u64 = 120_000;

/// Runs `test` in a fresh test runtime ([`new_test_ext`]), then checks the invariants
/// ([`check_invariants`]) and that no credit was minted or burnt.
pub fn build_and_execute(test: impl FnOnce()) {
	new_test_ext().execute_with(|| {
		test();
		check_invariants();
		assert_eq!(Balances::total_issuance(), ISSUANCE, "credits are moved, never made or lost");
	});
}

/// The checker stake `who` holds.
pub fn stake_of(who: u64) -> u64 {
	Balances::balance_on_hold(&crate::HoldReason::CheckerStake.into(), &who)
}

/// Checks the three pallets' invariants (`do_try_state`), and what they cannot see from
/// inside: an account that is no checker holds no checker stake, and, the jobs pallet's reviews
/// being this pallet's, every task under review has its open review here.
pub fn check_invariants() {
	Attestations::do_try_state().expect("the attestations pallet's invariants hold");
	Jobs::do_try_state().expect("the jobs pallet's invariants hold");
	Workers::do_try_state().expect("the worker registry's invariants hold");
	for who in (1..=12).filter(|who| !crate::Checkers::<Test>::contains_key(who)) {
		assert_eq!(stake_of(who), 0, "account {who} is no checker but holds checker stake");
	}
	for (job, task, info) in pallet_jobs::Tasks::<Test>::iter() {
		if matches!(info.phase, pallet_jobs::Phase::Review(_)) {
			assert!(
				crate::OpenReviews::<Test>::contains_key(job, task),
				"task {task} of job {job} is under review with no review open"
			);
		}
	}
}

/// Accounts 1..=12 with 10_000 credits; workers 2..=4 (stake 1000); checkers 9..=11 are not
/// registered yet.
pub fn new_test_ext() -> sp_io::TestExternalities {
	let mut storage =
		frame_system::GenesisConfig::<Test>::default().build_storage().expect("valid genesis");
	pallet_balances::GenesisConfig::<Test> {
		balances: (1..=12).map(|who| (who, 10_000)).collect(),
		..Default::default()
	}
	.assimilate_storage(&mut storage)
	.expect("valid genesis");
	let mut ext = sp_io::TestExternalities::new(storage);
	ext.execute_with(|| {
		System::set_block_number(1);
		AuditRate::set(Perbill::zero());
		CheckersPerReview::set(1);
		for who in 2..=4 {
			assert_ok!(Workers::register(RuntimeOrigin::signed(who), 1000, profile()));
		}
	});
	ext
}

/// A worker profile.
pub fn profile() -> pallet_workers::Profile {
	pallet_workers::Profile {
		cores: 2,
		memory_mib: 1024,
		score: 1_000_000_000,
		platform: PlatformClass::X86_64Native,
		executor_version: 1,
		peer_id: vec![1; 38].try_into().expect("fits"),
	}
}

/// Registers `who` as an x86-64 checker with stake 1000.
pub fn checker(who: u64) {
	assert_ok!(Attestations::register_checker(
		RuntimeOrigin::signed(who),
		1000,
		PlatformClass::X86_64Native,
		1
	));
}

/// Posts a job of `tasks` tasks at `replication` and returns its id.
pub fn post(tasks: u32, replication: u8) -> u64 {
	let id = pallet_jobs::NextJobId::<Test>::get();
	let inputs: Vec<ContentId> = (0..tasks).map(|i| ContentId::of(&i.to_le_bytes())).collect();
	assert_ok!(Jobs::post_job(
		RuntimeOrigin::signed(POSTER),
		pallet_jobs::JobSpec {
			module: ContentId::of(b"module"),
			inputs_root: ccgsc_primitives::inputs_root(&inputs),
			task_count: tasks,
			args: Default::default(),
			reward_per_task: REWARD,
			replication,
			limits: Limits { work: 1_000_000_000, memory: 64 << 20, output: 1 << 20 },
			platforms: PlatformSet::of(&[PlatformClass::X86_64Native]),
			executor_version: 1,
			deadline: 1000,
		}
	));
	id
}

/// The correct output of a task.
pub fn good_output(task: TaskIndex) -> Vec<u8> {
	format!("correct output of task {task}").into_bytes()
}

/// A forged output.
pub fn bad_output(task: TaskIndex) -> Vec<u8> {
	format!("forged output of task {task}").into_bytes()
}

/// The salt `who` uses.
pub fn salt(who: u64) -> [u8; 32] {
	[who as u8; 32]
}

/// `who` runs task `index` of `job` as a replica and commits `output`'s result.
pub fn replica_commits(who: u64, job: u64, index: TaskIndex, output: &[u8]) {
	replica_commits_result(who, job, index, TaskResult::success(output));
}

/// `who` commits `result` for task `index` of `job` as a replica.
pub fn replica_commits_result(who: u64, job: u64, index: TaskIndex, result: TaskResult) {
	let hash = commitment(&result, &salt(who), &who, &TaskRef { job, index });
	assert_ok!(Jobs::commit(
		RuntimeOrigin::signed(who),
		job,
		vec![(index, hash)].try_into().unwrap()
	));
}

/// `who` reveals `output`'s result for task `index` of `job`.
pub fn replica_reveals(who: u64, job: u64, index: TaskIndex, output: &[u8]) {
	replica_reveals_result(who, job, index, TaskResult::success(output));
}

/// `who` reveals `result` for task `index` of `job` as a replica.
pub fn replica_reveals_result(who: u64, job: u64, index: TaskIndex, result: TaskResult) {
	assert_ok!(Jobs::reveal(
		RuntimeOrigin::signed(who),
		job,
		vec![(index, result, salt(who))].try_into().unwrap()
	));
}

/// What a replica or checker reports when it could not get the module or the input.
pub fn unavailable() -> TaskResult {
	TaskResult::without_output(Outcome::InputUnavailable)
}

/// Checker `who` commits to `output` for task `index` of `job`.
pub fn checker_commits(who: u64, job: u64, index: TaskIndex, output: &[u8]) {
	checker_commits_result(who, job, index, TaskResult::success(output));
}

/// Checker `who` commits to `result` for task `index` of `job`.
pub fn checker_commits_result(who: u64, job: u64, index: TaskIndex, result: TaskResult) {
	let hash = commitment(&result, &salt(who), &who, &TaskRef { job, index });
	assert_ok!(Attestations::attest(RuntimeOrigin::signed(who), job, index, hash));
}

/// What [`Attestations::reveal_attestation`] takes after the review: the result, the salt,
/// the drawn chunk of the output and its proof.
pub type RevealArgs = (
	TaskResult,
	[u8; 32],
	polkadot_sdk::frame_support::BoundedVec<u8, ConstU32<{ ccgsc_primitives::CHUNK_SIZE as u32 }>>,
	ccgsc_primitives::ChunkProof,
);

/// The arguments of a correct reveal by checker `who` of `output`.
pub fn checker_reveal_args(who: u64, job: u64, index: TaskIndex, output: &[u8]) -> RevealArgs {
	reveal_args_of(who, job, index, TaskResult::success(output), output)
}

/// The arguments of a correct reveal by checker `who` of `result`, whose output is `output`
/// (empty for a result without one).
fn reveal_args_of(
	who: u64,
	job: u64,
	index: TaskIndex,
	result: TaskResult,
	output: &[u8],
) -> RevealArgs {
	let review = crate::OpenReviews::<Test>::get(job, index).expect("review open");
	let hash = commitment(&result, &salt(who), &who, &TaskRef { job, index });
	let at = Attestations::challenge_index(&review.nonce, &who, &hash, result.output_len);
	let tree = ChunkTree::new(output);
	let range = ccgsc_primitives::chunk_range(output.len() as u64, at).expect("index in range");
	let chunk =
		output[range.start as usize..range.end as usize].to_vec().try_into().expect("a chunk fits");
	(result, salt(who), chunk, tree.proof(at).expect("index in range"))
}

/// Checker `who` reveals `output`.
pub fn checker_reveals(who: u64, job: u64, index: TaskIndex, output: &[u8]) {
	checker_reveals_result(who, job, index, TaskResult::success(output), output);
}

/// Checker `who` reveals `result`, whose output is `output` (empty for a result without one).
pub fn checker_reveals_result(
	who: u64,
	job: u64,
	index: TaskIndex,
	result: TaskResult,
	output: &[u8],
) {
	let (result, salt, chunk, proof) = reveal_args_of(who, job, index, result, output);
	assert_ok!(Attestations::reveal_attestation(
		RuntimeOrigin::signed(who),
		job,
		index,
		result,
		salt,
		chunk,
		proof
	));
}

/// Moves to block `n`, running both pallets' `on_initialize` and checking the invariants
/// after each block.
pub fn run_to_block(n: u64) {
	while System::block_number() < n {
		let next = System::block_number() + 1;
		System::set_block_number(next);
		System::set_parent_hash([next as u8; 32].into());
		Jobs::on_initialize(next);
		Attestations::on_initialize(next);
		check_invariants();
	}
}
