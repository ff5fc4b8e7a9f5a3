//! One value per serving thread (see [`crate::serve::run_on_threads`]), for the BFF's HTTP clients. A connection
//! belongs to the runtime of the thread that opened it: a reqwest (OP) connection's task runs there, and an
//! upstream connection (`proxy::upstream`) is registered with that runtime's I/O driver. A client shared by the
//! serving threads makes a call from one thread wake the other, which then does the connection's I/O. With a
//! client per thread, a call's connection and its I/O stay on the thread whose handler made the call. Measured on
//! the upstream proxy's CPU per call (BENCHMARKS.md §3). For the OP's client, a first build of the change (code
//! exchange and userinfo only) cut the BFF's CPU per login from 0.245 to 0.205 ms in 7 of 8 alternating runs;
//! runs of the landed change could not resolve a difference (§6).

use std::cell::Cell;

/// A `T` for each serving thread the machine may run; [`PerThread::here`] gives the calling thread's.
pub struct PerThread<T>(Box<[T]>);

thread_local! {
    static THREAD_INDEX: Cell<usize> = const { Cell::new(0) };
}

impl<T> PerThread<T> {
    /// One value, made by `make`, per serving thread the machine may run ([`crate::serve::serving_threads`]).
    pub fn new(make: impl FnMut() -> T) -> PerThread<T> {
        PerThread(
            std::iter::repeat_with(make)
                .take(crate::serve::serving_threads())
                .collect(),
        )
    }

    /// The value of the serving thread this runs on. Threads that are not serving threads (background tasks on
    /// the main runtime, tests with one multi-threaded runtime) share the first.
    pub fn here(&self) -> &T {
        let i = THREAD_INDEX.with(Cell::get);
        &self.0[i % self.0.len()]
    }
}

/// Marks this thread as serving thread `index`, for [`PerThread::here`].
pub fn enter_serving_thread(index: usize) {
    THREAD_INDEX.with(|i| i.set(index));
}
