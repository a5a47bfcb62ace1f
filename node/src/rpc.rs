//! The node's RPC: Substrate's standard methods plus account nonces and fee queries.

use std::sync::Arc;

use ccgsc_runtime::{opaque::Block, AccountId, Balance, Nonce};
use jsonrpsee::RpcModule;
use polkadot_sdk::{
	frame_system_rpc_runtime_api::AccountNonceApi,
	pallet_transaction_payment_rpc_runtime_api::TransactionPaymentApi,
	sc_transaction_pool_api::TransactionPool,
	sp_api::ProvideRuntimeApi,
	sp_block_builder::BlockBuilder,
	sp_blockchain::{Error as BlockChainError, HeaderBackend, HeaderMetadata},
};

/// What the RPC methods need.
pub struct FullDeps<C, P> {
	/// The client.
	pub client: Arc<C>,
	/// The transaction pool.
	pub pool: Arc<P>,
}

/// Builds the node-specific RPC methods.
pub fn create_full<C, P>(
	deps: FullDeps<C, P>,
) -> Result<RpcModule<()>, Box<dyn std::error::Error + Send + Sync>>
where
	C: ProvideRuntimeApi<Block>
		+ HeaderBackend<Block>
		+ HeaderMetadata<Block, Error = BlockChainError>
		+ Send
		+ Sync
		+ 'static,
	C::Api: AccountNonceApi<Block, AccountId, Nonce>
		+ TransactionPaymentApi<Block, Balance>
		+ BlockBuilder<Block>,
	P: TransactionPool<Block = Block> + 'static,
{
	use polkadot_sdk::{
		pallet_transaction_payment_rpc::{TransactionPayment, TransactionPaymentApiServer},
		substrate_frame_rpc_system::{System, SystemApiServer},
	};

	let mut module = RpcModule::new(());
	let FullDeps { client, pool } = deps;
	module.merge(System::new(client.clone(), pool).into_rpc())?;
	module.merge(TransactionPayment::new(client).into_rpc())?;
	Ok(module)
}
