# Sourced by scripts/build-spa (and by scripts/test's wasm32 clippy, which then reuses the build's dependencies):
# Cargo and rustc settings that compile the standard library again for the SPA's wasm, for size. Why, and why
# RUSTC_BOOTSTRAP: see scripts/build-spa.
export RUSTC_BOOTSTRAP=1
export CARGO_UNSTABLE_BUILD_STD=std,panic_abort
export CARGO_UNSTABLE_BUILD_STD_FEATURES=optimize_for_size
# Only the wasm target's crates: build scripts and proc macros (the host's) keep the stock standard library.
export CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUSTFLAGS="-Zunstable-options -Cpanic=immediate-abort"
