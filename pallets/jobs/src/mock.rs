//! A test runtime with System, Balances, Workers and this pallet. Reviews are recorded, not
//! performed: tests settle them by calling `Jobs::settle` as the attestations pallet would.

use crate as pallet_jobs;
use alloc::collections::BTreeSet;
use ccgsc_primitives::{
	commitment, inputs_root, ContentId, Limits, PlatformClass, PlatformSet, TaskIndex, TaskRef,
	TaskResult,
};
use core::cell::RefCell;
use polkadot_sdk::{
	frame_support::{
		self, assert_ok, derive_impl, parameter_types,
		traits::{fungible::InspectHold, ConstU32, Hooks},
		weights::Weight,
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

thread_local! {
	/// Reviews opened, in order.
	pub static REVIEWS: RefCell<Vec<(u64, TaskIndex, crate::ReviewKind)>> = const { RefCell::new(Vec::new()) };
	/// Whether a checker is available.
	pub static CHECKERS_AVAILABLE: RefCell<bool> = const { RefCell::new(true) };
}

/// Records reviews instead of asking checkers.
pub struct RecordReviews;
impl crate::Reviews<u64> for RecordReviews {
	fn open(job: u64, task: TaskIndex, _: PlatformClass, kind: crate::ReviewKind) -> bool {
		if !CHECKERS_AVAILABLE.with(|c| *c.borrow()) {
			return false;
		}
		REVIEWS.with(|r| r.borrow_mut().push((job, task, kind)));
		true
	}

	fn open_weight() -> Weight {
		REVIEW_WEIGHT
	}
}

/// What the mock says opening one review weighs: large enough to tell apart in a call's weight.
pub const REVIEW_WEIGHT: Weight = Weight::from_parts(7_000_000_000, 0);

parameter_types! {
	pub static AuditRate: Perbill = Perbill::zero();
}

/// Lease length in the tests: `MinLease` 5 + 1e9 work / 1e9 per second × margin 2 / 1 s blocks.
pub const LEASE: u64 = 7;
/// Reveal window in the tests.
pub const REVEAL_WINDOW: u64 = 5;
/// Audit window in the tests.
pub const AUDIT_WINDOW: u64 = 10;
/// Blocks an ended job's record is kept in the tests.
pub const RETENTION: u64 = 20;
/// Reward per replica in the tests.
pub const REWARD: u64 = 10;
/// Checker fee in the tests.
pub const FEE: u64 = 3;

impl crate::Config for Test {
	type Currency = Balances;
	type RuntimeHoldReason = RuntimeHoldReason;
	type Workers = Workers;
	type Reviews = RecordReviews;
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
	type RevealWindow = ConstU64<REVEAL_WINDOW>;
	type AuditWindow = ConstU64<AUDIT_WINDOW>;
	type AuditRate = AuditRate;
	type SlashFraction = ConstPerbill50;
	type CheckerFee = ConstU64<FEE>;
	type CheckersPerReview = ConstU32<1>;
	type Retention = ConstU64<RETENTION>;
	type WeightInfo = ();
}

parameter_types! {
	pub const ConstPerbill50: Perbill = Perbill::from_percent(50);
}

/// The poster.
pub const POSTER: u64 = 1;
/// The checker account that votes with verdicts in the tests.
pub const CHECKER: u64 = 9;

/// The credits of the test runtime: accounts 1..=9 with 10_000 each.
pub const ISSUANCE: u64 = 90_000;

/// Runs `test` in a fresh test runtime ([`new_test_ext`]), then checks the invariants
/// ([`check_invariants`]) and that no credit was minted or burnt.
pub fn build_and_execute(test: impl FnOnce()) {
	new_test_ext().execute_with(|| {
		test();
		check_invariants();
		assert_eq!(Balances::total_issuance(), ISSUANCE, "credits are moved, never made or lost");
	});
}

/// The escrow `who` holds.
pub fn escrow_held(who: u64) -> u64 {
	Balances::balance_on_hold(&crate::HoldReason::Escrow.into(), &who)
}

/// Checks both pallets' invariants (`do_try_state`), and what they cannot see from inside:
/// an account with no stored job holds no escrow, and a worker that holds no replica has no
/// lease and no result open to audit counted against its stake.
pub fn check_invariants() {
	Jobs::do_try_state().expect("the jobs pallet's invariants hold");
	Workers::do_try_state().expect("the worker registry's invariants hold");
	let posters: BTreeSet<u64> = crate::Jobs::<Test>::iter_values().map(|j| j.poster).collect();
	for who in (1..=9).filter(|who| !posters.contains(who)) {
		assert_eq!(escrow_held(who), 0, "account {who} has no job but holds escrow");
	}
	let holding: BTreeSet<u64> = crate::Tasks::<Test>::iter_values()
		.filter(|t| t.phase != crate::Phase::Done)
		.flat_map(|t| t.replicas.into_iter().map(|r| r.worker))
		.collect();
	for (who, worker) in pallet_workers::Workers::<Test>::iter() {
		if !holding.contains(&who) {
			assert_eq!((worker.leases, worker.unaudited), (0, 0), "worker {who} holds nothing");
		}
	}
}

/// Accounts 1..=9 with 10_000 credits each; workers 2..=6 registered with stake 1000.
pub fn new_test_ext() -> sp_io::TestExternalities {
	let mut storage =
		frame_system::GenesisConfig::<Test>::default().build_storage().expect("valid genesis");
	pallet_balances::GenesisConfig::<Test> {
		balances: (1..=9).map(|who| (who, 10_000)).collect(),
		..Default::default()
	}
	.assimilate_storage(&mut storage)
	.expect("valid genesis");
	let mut ext = sp_io::TestExternalities::new(storage);
	ext.execute_with(|| {
		System::set_block_number(1);
		REVIEWS.with(|r| r.borrow_mut().clear());
		CHECKERS_AVAILABLE.with(|c| *c.borrow_mut() = true);
		AuditRate::set(Perbill::zero());
		for who in 2..=6 {
			assert_ok!(Workers::register(
				RuntimeOrigin::signed(who),
				1000,
				profile(PlatformClass::X86_64Native)
			));
		}
	});
	ext
}

/// A worker profile of `platform`.
pub fn profile(platform: PlatformClass) -> pallet_workers::Profile {
	pallet_workers::Profile {
		cores: 2,
		memory_mib: 1024,
		score: 1_000_000_000,
		platform,
		executor_version: 1,
		peer_id: vec![1; 38].try_into().expect("fits"),
	}
}

/// The inputs of a test job with `tasks` tasks.
pub fn inputs(tasks: u32) -> Vec<ContentId> {
	(0..tasks).map(|i| ContentId::of(&i.to_le_bytes())).collect()
}

/// A job spec with `tasks` tasks at `replication`.
pub fn spec(tasks: u32, replication: u8) -> crate::JobSpecOf<Test> {
	crate::JobSpec {
		module: ContentId::of(b"module"),
		inputs_root: inputs_root(&inputs(tasks)),
		task_count: tasks,
		args: Default::default(),
		reward_per_task: REWARD,
		replication,
		limits: Limits { work: 1_000_000_000, memory: 64 << 20, output: 1 << 20 },
		platforms: PlatformSet::of(&[PlatformClass::X86_64Native]),
		executor_version: 1,
		deadline: 1000,
	}
}

/// Posts a job and returns its id.
pub fn post(tasks: u32, replication: u8) -> u64 {
	let id = crate::NextJobId::<Test>::get();
	assert_ok!(Jobs::post_job(RuntimeOrigin::signed(POSTER), spec(tasks, replication)));
	id
}

/// The correct result of a task in the tests.
pub fn good(task: TaskIndex) -> TaskResult {
	TaskResult::success(format!("output {task}").as_bytes())
}

/// A wrong result.
pub fn bad(task: TaskIndex) -> TaskResult {
	TaskResult::success(format!("forged {task}").as_bytes())
}

/// The salt `worker` uses.
pub fn salt(worker: u64) -> [u8; 32] {
	[worker as u8; 32]
}

/// The commitment of `worker` to `result` for task `index` of `job`.
pub fn commit_hash(worker: u64, job: u64, index: TaskIndex, result: &TaskResult) -> [u8; 32] {
	commitment(result, &salt(worker), &worker, &TaskRef { job, index })
}

/// Commits `result` for `index` as `worker`.
pub fn commit(worker: u64, job: u64, index: TaskIndex, result: TaskResult) {
	assert_ok!(Jobs::commit(
		RuntimeOrigin::signed(worker),
		job,
		vec![(index, commit_hash(worker, job, index, &result))].try_into().unwrap()
	));
}

/// Reveals `result` for `index` as `worker`.
pub fn reveal(worker: u64, job: u64, index: TaskIndex, result: TaskResult) {
	assert_ok!(Jobs::reveal(
		RuntimeOrigin::signed(worker),
		job,
		vec![(index, result, salt(worker))].try_into().unwrap()
	));
}

/// Moves to block `n`, running `on_initialize` of the jobs pallet on the way (not `on_idle`:
/// the pruning tests call it themselves, with the weight they mean to leave it), and checking
/// the invariants after each block.
pub fn run_to_block(n: u64) {
	while System::block_number() < n {
		let next = System::block_number() + 1;
		System::set_block_number(next);
		System::set_parent_hash([next as u8; 32].into());
		Jobs::on_initialize(next);
		check_invariants();
	}
}

/// Reviews opened so far.
pub fn reviews() -> Vec<(u64, TaskIndex, crate::ReviewKind)> {
	REVIEWS.with(|r| r.borrow().clone())
}
