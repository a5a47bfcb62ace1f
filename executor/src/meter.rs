//! Charging bulk operations by the byte.
//!
//! Wasmtime's fuel costs one unit per operator, so `memory.copy`, `memory.fill` and
//! `memory.init` cost one unit whether they move one byte or the whole memory, and the table
//! operations one unit however many elements they touch. A work count that ignores how much
//! they move is a poor price, and it breaks the one assumption the wall-clock guard rests on:
//! that every work unit is a bounded amount of time, so looking at the clock every
//! [`YIELD_EVERY`](crate::YIELD_EVERY) units is looking often enough.
//!
//! Before compiling, [`charge_bulk_operations`] rewrites every such operator into a call to
//! a helper the rewrite appends to the module. The helper takes the operator's operands,
//! counts down a loop whose turns cost [`TURN`] units each, one turn per [`MEMORY_BYTES`]
//! bytes or [`TABLE_ELEMENTS`] table elements, and then performs the operator itself. So a
//! memory operation costs one unit per 64 bytes, as host I/O does, and a table operation
//! one unit per element; everything else the operator does (its bounds check and trap, its
//! overlapping-copy semantics) is the operator's own.
//!
//! The rewrite is part of the execution rules: every replica and checker applies it to the
//! same bytes, so work counts agree, and changing it means bumping [`VERSION`](crate::VERSION).
//! A module without bulk operations is left byte for byte as it is. Appending functions and
//! types changes no existing index, so exports, the start function, element segments and
//! names keep meaning what they meant.

use std::collections::HashMap;

use wasm_encoder::{
	reencode::{self, Reencode},
	BlockType, CodeSection, Function, FunctionSection, Instruction, TypeSection, ValType,
};
use wasmparser::{Operator, Parser, Payload, TypeRef};

/// Work units one turn of a helper's counting loop costs (`local.get`, `i32.eqz`, `br_if`,
/// `local.get`, `i32.const`, `i32.sub`, `local.set`, `br`).
pub const TURN: u64 = 8;

/// Bytes a memory operation moves per turn: [`TURN`] units per 512 bytes is one per 64.
pub const MEMORY_BYTES: u32 = 1 << MEMORY_SHIFT;
const MEMORY_SHIFT: u32 = 9;

/// Table elements a table operation touches per turn: one unit per element.
pub const TABLE_ELEMENTS: u32 = 1 << TABLE_SHIFT;
const TABLE_SHIFT: u32 = 3;

/// A bulk operator, with its immediates: one helper serves each.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Bulk {
	MemoryCopy { dst: u32, src: u32 },
	MemoryFill { mem: u32 },
	MemoryInit { data: u32, mem: u32 },
	TableCopy { dst: u32, src: u32 },
	TableFill { table: u32 },
	TableInit { elem: u32, table: u32 },
}

impl Bulk {
	fn of(op: &Operator<'_>) -> Option<Self> {
		Some(match *op {
			Operator::MemoryCopy { dst_mem, src_mem } => {
				Bulk::MemoryCopy { dst: dst_mem, src: src_mem }
			},
			Operator::MemoryFill { mem } => Bulk::MemoryFill { mem },
			Operator::MemoryInit { data_index, mem } => Bulk::MemoryInit { data: data_index, mem },
			Operator::TableCopy { dst_table, src_table } => {
				Bulk::TableCopy { dst: dst_table, src: src_table }
			},
			Operator::TableFill { table } => Bulk::TableFill { table },
			Operator::TableInit { elem_index, table } => {
				Bulk::TableInit { elem: elem_index, table }
			},
			_ => return None,
		})
	}

	fn instruction(self) -> Instruction<'static> {
		match self {
			Bulk::MemoryCopy { dst, src } => Instruction::MemoryCopy { src_mem: src, dst_mem: dst },
			Bulk::MemoryFill { mem } => Instruction::MemoryFill(mem),
			Bulk::MemoryInit { data, mem } => Instruction::MemoryInit { mem, data_index: data },
			Bulk::TableCopy { dst, src } => {
				Instruction::TableCopy { src_table: src, dst_table: dst }
			},
			Bulk::TableFill { table } => Instruction::TableFill(table),
			Bulk::TableInit { elem, table } => Instruction::TableInit { elem_index: elem, table },
		}
	}

	fn shift(self) -> u32 {
		match self {
			Bulk::MemoryCopy { .. } | Bulk::MemoryFill { .. } | Bulk::MemoryInit { .. } => {
				MEMORY_SHIFT
			},
			Bulk::TableCopy { .. } | Bulk::TableFill { .. } | Bulk::TableInit { .. } => TABLE_SHIFT,
		}
	}
}

/// What the first pass learns: where appended types and functions start, and which helpers
/// are needed (in order of first use).
struct Plan {
	types: u32,
	functions: u32,
	/// The element type of every table, imported ones first.
	tables: Vec<wasmparser::RefType>,
	helpers: Vec<Bulk>,
	/// Each helper's position in `helpers`; its function index is `functions` plus that.
	index: HashMap<Bulk, u32>,
}

/// The module with every bulk operator charged by size, or `None` when it has none (run the
/// original bytes). `module` must already be valid WebAssembly.
///
/// # Errors
/// A reencoding failure, which on a valid module would be a bug of this rewrite.
pub fn charge_bulk_operations(module: &[u8]) -> Result<Option<Vec<u8>>, String> {
	let plan = plan(module).map_err(|e| format!("reading the module: {e}"))?;
	if plan.helpers.is_empty() {
		return Ok(None);
	}
	let mut rewrite = Rewrite { plan };
	let mut out = wasm_encoder::Module::new();
	rewrite
		.parse_core_module(&mut out, Parser::new(0), module)
		.map_err(|e| format!("charging bulk operations: {e}"))?;
	Ok(Some(out.finish()))
}

fn plan(module: &[u8]) -> wasmparser::Result<Plan> {
	let mut plan = Plan {
		types: 0,
		functions: 0,
		tables: Vec::new(),
		helpers: Vec::new(),
		index: HashMap::new(),
	};
	for payload in Parser::new(0).parse_all(module) {
		match payload? {
			Payload::TypeSection(section) => {
				for group in section {
					plan.types += group?.types().len() as u32;
				}
			},
			Payload::ImportSection(section) => {
				for import in section {
					match import?.ty {
						TypeRef::Func(_) => plan.functions += 1,
						TypeRef::Table(table) => plan.tables.push(table.element_type),
						_ => {},
					}
				}
			},
			Payload::FunctionSection(section) => plan.functions += section.count(),
			Payload::TableSection(section) => {
				for table in section {
					plan.tables.push(table?.ty.element_type);
				}
			},
			Payload::CodeSectionEntry(body) => {
				let mut reader = body.get_operators_reader()?;
				while !reader.eof() {
					if let Some(bulk) = Bulk::of(&reader.read()?) {
						if !plan.index.contains_key(&bulk) {
							plan.index.insert(bulk, plan.helpers.len() as u32);
							plan.helpers.push(bulk);
						}
					}
				}
			},
			_ => {},
		}
	}
	Ok(plan)
}

/// The second pass: the module again, with bulk operators turned into helper calls and the
/// helpers' types, declarations and bodies appended to their sections.
struct Rewrite {
	plan: Plan,
}

impl Rewrite {
	fn params(&mut self, bulk: Bulk) -> Result<Vec<ValType>, reencode::Error> {
		let value = match bulk {
			Bulk::TableFill { table } => {
				let element = self.plan.tables[table as usize];
				ValType::Ref(self.ref_type(element)?)
			},
			_ => ValType::I32,
		};
		Ok(vec![ValType::I32, value, ValType::I32])
	}

	fn body(bulk: Bulk) -> Function {
		// Parameters 0..3 are the operator's operands; local 3 counts the turns down.
		let mut f = Function::new([(1, ValType::I32)]);
		for instruction in [
			Instruction::LocalGet(2),
			Instruction::I32Const(bulk.shift() as i32),
			Instruction::I32ShrU,
			Instruction::LocalSet(3),
			Instruction::Block(BlockType::Empty),
			Instruction::Loop(BlockType::Empty),
			Instruction::LocalGet(3),
			Instruction::I32Eqz,
			Instruction::BrIf(1),
			Instruction::LocalGet(3),
			Instruction::I32Const(1),
			Instruction::I32Sub,
			Instruction::LocalSet(3),
			Instruction::Br(0),
			Instruction::End,
			Instruction::End,
			Instruction::LocalGet(0),
			Instruction::LocalGet(1),
			Instruction::LocalGet(2),
			bulk.instruction(),
			Instruction::End,
		] {
			f.instruction(&instruction);
		}
		f
	}
}

impl Reencode for Rewrite {
	type Error = std::convert::Infallible;

	fn instruction<'a>(
		&mut self,
		op: Operator<'a>,
	) -> Result<Instruction<'a>, reencode::Error<Self::Error>> {
		match Bulk::of(&op) {
			Some(bulk) => Ok(Instruction::Call(self.plan.functions + self.plan.index[&bulk])),
			None => reencode::utils::instruction(self, op),
		}
	}

	fn parse_custom_section(
		&mut self,
		module: &mut wasm_encoder::Module,
		section: wasmparser::CustomSectionReader<'_>,
	) -> Result<(), reencode::Error<Self::Error>> {
		// Verbatim, names included: nothing here is rewritten, and a malformed name section
		// (which wasmtime ignores) must not fail the rewrite.
		module.section(&self.custom_section(section)?);
		Ok(())
	}

	fn parse_type_section(
		&mut self,
		types: &mut TypeSection,
		section: wasmparser::TypeSectionReader<'_>,
	) -> Result<(), reencode::Error<Self::Error>> {
		reencode::utils::parse_type_section(self, types, section)?;
		for bulk in self.plan.helpers.clone() {
			let params = self.params(bulk)?;
			types.ty().function(params, []);
		}
		Ok(())
	}

	fn parse_function_section(
		&mut self,
		functions: &mut FunctionSection,
		section: wasmparser::FunctionSectionReader<'_>,
	) -> Result<(), reencode::Error<Self::Error>> {
		reencode::utils::parse_function_section(self, functions, section)?;
		for k in 0..self.plan.helpers.len() as u32 {
			functions.function(self.plan.types + k);
		}
		Ok(())
	}

	fn parse_code_section(
		&mut self,
		code: &mut CodeSection,
		section: wasmparser::CodeSectionReader<'_>,
	) -> Result<(), reencode::Error<Self::Error>> {
		reencode::utils::parse_code_section(self, code, section)?;
		for &bulk in &self.plan.helpers {
			code.function(&Self::body(bulk));
		}
		Ok(())
	}
}

#[cfg(test)]
mod tests {
	use super::*;

	fn wat(text: &str) -> Vec<u8> {
		wat::parse_str(text).expect("valid WAT")
	}

	#[test]
	fn a_module_without_bulk_operations_is_left_alone() {
		let module = wat(
			r#"(module (memory 1) (func (export "_start") (i32.store (i32.const 0) (i32.const 1))))"#,
		);
		assert_eq!(charge_bulk_operations(&module).unwrap(), None);
	}

	#[test]
	fn each_distinct_operator_gets_one_helper_after_the_existing_functions() {
		let module = wat(r#"(module
		  (import "m" "f" (func $f))
		  (type $unused (func (param i64)))
		  (memory 1)
		  (table 4 funcref)
		  (data $d "abc")
		  (elem $e func $f)
		  (func (export "_start")
		    (memory.copy (i32.const 0) (i32.const 8) (i32.const 4))
		    (memory.copy (i32.const 1) (i32.const 9) (i32.const 4))
		    (memory.fill (i32.const 0) (i32.const 7) (i32.const 4))
		    (memory.init $d (i32.const 0) (i32.const 0) (i32.const 3))
		    (table.init $e (i32.const 0) (i32.const 0) (i32.const 1))
		    (table.copy (i32.const 1) (i32.const 0) (i32.const 1))
		    (table.fill (i32.const 2) (ref.null func) (i32.const 2))))"#);
		let rewritten = charge_bulk_operations(&module).unwrap().expect("rewritten");
		wasmparser::Validator::new().validate_all(&rewritten).expect("still valid");
		let plan = plan(&rewritten).unwrap();
		// One import, `_start`, and six helpers (the two copies share one)...
		assert_eq!(plan.functions, 1 + 1 + 6);
		assert_eq!(plan.types, 2 + 6);
		// ...and each bulk operator is left only in its helper, once.
		let mut per_body = Vec::new();
		for payload in Parser::new(0).parse_all(&rewritten) {
			if let Payload::CodeSectionEntry(body) = payload.unwrap() {
				let mut reader = body.get_operators_reader().unwrap();
				let mut bulk = 0;
				while !reader.eof() {
					bulk += usize::from(Bulk::of(&reader.read().unwrap()).is_some());
				}
				per_body.push(bulk);
			}
		}
		assert_eq!(per_body, [0, 1, 1, 1, 1, 1, 1]);
	}
}
