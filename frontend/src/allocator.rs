//! The wasm's heap allocator: talc instead of Rust's default dlmalloc, because the SPA's size is what users wait
//! for (issue 14) and talc's wasm build is the smaller of the two (651 B gzip less, BENCHMARKS.md §1) and, by its
//! own benchmarks, faster. Sound and maintained, unlike the smaller free-list allocator measured before it
//! (`lol_alloc`). The heap grows with `memory.grow` and extends the previous region, as dlmalloc's does.

/// Single-threaded wasm only (no `atomics`): `TalcSyncCell` is sound there and nowhere else, which the `cfg` on
/// this module in `main.rs` states.
#[global_allocator]
static TALC: talc::wasm::WasmDynamicTalc = talc::wasm::new_wasm_dynamic_allocator();
