//! How the harness allocates instances: wasmtime's pooling allocator, sized for
//! a harness that runs a few instances at a time, the way `pelato test`, `call`,
//! `bench` (and `run`) start a fresh instance per message.
//!
//! What makes a fresh Go instance cheap (measured in `pelato bench`, README
//! "Per-message cost"): slots for memories, tables, instances and async stacks
//! are reserved once per engine and reused; a used linear memory keeps up to
//! [`KEEP_RESIDENT_BYTES`] resident and is reset by copying its initial image
//! back rather than by unmapping and faulting pages in again; async stacks stay
//! resident too. On Linux 6.7 and later only the pages an instance dirtied are
//! reset (`PAGEMAP_SCAN`). Instances are created from a pre-instantiated `InstancePre`
//! (imports resolved once per component).
//!
//! What it costs, bounded: virtual address space for [`MAX_INSTANCES`] linear
//! memories (each the memory limit plus wasmtime's guard region; address
//! space only), and resident memory of at most
//! `MAX_INSTANCES × (KEEP_RESIDENT_BYTES + ASYNC_STACK_BYTES)` = 144 MiB per
//! harness in the worst case; in practice one or two slots per component are
//! used, i.e. ~20–40 MiB. More than [`MAX_INSTANCES`] instances alive at
//! once fail to instantiate (`test`, `call` and `bench` never hold more than a
//! warm session and one fresh instance; `pelato run` one per worker, at most 6).

use wasmtime::{Config, InstanceAllocationStrategy, PoolingAllocationConfig};

/// Component instances (and linear memories) alive at once per harness.
pub const MAX_INSTANCES: u32 = 8;

/// Bytes of a linear memory kept resident between instances of one slot.
pub const KEEP_RESIDENT_BYTES: usize = 16 << 20;

/// Bytes of an async (fiber) stack kept resident between calls.
pub const ASYNC_STACK_BYTES: usize = 2 << 20;

/// Core instances a PELATO component is made of (the Go module, the WASI
/// adapter, wit-component's shims), with room to spare.
const CORE_INSTANCES_PER_COMPONENT: u32 = 16;

/// Sets `config` up for pooled, kept-resident instances whose linear memories
/// grow to at most `memory_limit` bytes.
pub fn configure(config: &mut Config, memory_limit: usize) {
    let mut pool = PoolingAllocationConfig::default();
    pool.total_component_instances(MAX_INSTANCES)
        .total_core_instances(MAX_INSTANCES * CORE_INSTANCES_PER_COMPONENT)
        .max_core_instances_per_component(CORE_INSTANCES_PER_COMPONENT)
        // One linear memory per PELATO component (the adapter uses Go's).
        .total_memories(MAX_INSTANCES)
        .max_memories_per_component(4)
        .total_tables(MAX_INSTANCES * CORE_INSTANCES_PER_COMPONENT)
        .total_stacks(MAX_INSTANCES)
        .max_memory_size(memory_limit)
        .linear_memory_keep_resident(KEEP_RESIDENT_BYTES)
        .table_keep_resident(1 << 20)
        .async_stack_keep_resident(ASYNC_STACK_BYTES)
        // Reset only the pages an instance dirtied (Linux >= 6.7); without it
        // the whole kept-resident region is copied back from the image per
        // instance, which was 41% of a fresh delivery's profile.
        .pagemap_scan(wasmtime::Enabled::Auto);
    config.allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
}
