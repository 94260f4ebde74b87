//! Recording an op in the graph costs at most 5 heap allocations beyond the
//! output's data buffer (issue 10, item 6). A counting global allocator
//! counts the allocations made by the current thread while one op runs.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use nabla::Tensor;

struct CountingAllocator;

thread_local! {
    static ALLOCATIONS: Cell<usize> = const { Cell::new(0) };
}

// SAFETY: every call is forwarded to the system allocator unchanged; the
// counter is a const-initialised thread-local, which never allocates.
unsafe impl GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.with(|n| n.set(n.get() + 1));
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.with(|n| n.set(n.get() + 1));
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.with(|n| n.set(n.get() + 1));
        unsafe { System.realloc(ptr, layout, new_size) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: CountingAllocator = CountingAllocator;

/// The allocations `f` makes on this thread, after one warm-up call (which
/// may initialise thread-locals).
fn allocations_of<R>(f: impl Fn() -> R) -> usize {
    drop(f());
    let before = ALLOCATIONS.with(Cell::get);
    let out = f();
    let after = ALLOCATIONS.with(Cell::get);
    drop(out);
    after - before
}

/// The output's data buffer is one allocation; the graph may add 5.
const GRAPH_BUDGET: usize = 5;

fn assert_within_budget(op: &str, total: usize) {
    let graph = total - 1;
    assert!(
        graph <= GRAPH_BUDGET,
        "recording {op} made {graph} allocations beyond its data buffer, more than {GRAPH_BUDGET}"
    );
}

#[test]
fn recording_an_op_allocates_at_most_five_times_beyond_its_data() {
    let a = Tensor::<f32>::ones(&[4, 8]).requires_grad();
    let b = Tensor::<f32>::ones(&[4, 8]).requires_grad();
    let row = Tensor::<f32>::ones(&[8]).requires_grad();
    let bt = b.t();
    let x = Tensor::<f32>::ones(&[3, 4, 8, 2, 2, 3]).requires_grad();

    // Unrecorded, the same ops make only the data buffer and the handles
    // (storage and tensor): the baseline the graph adds to.
    let plain = Tensor::<f32>::ones(&[4, 8]);
    assert_eq!(allocations_of(|| plain.exp()), 3);

    for (op, total) in [
        ("mul", allocations_of(|| a.mul(&b))),
        ("exp", allocations_of(|| a.exp())),
        ("add", allocations_of(|| a.add(&b))),
        ("broadcast add", allocations_of(|| a.add(&row))),
        ("six-dimensional tanh", allocations_of(|| x.tanh())),
        ("matmul", allocations_of(|| a.matmul(&bt))),
    ] {
        assert_within_budget(op, total);
    }
}

#[test]
fn a_view_allocates_no_data_and_at_most_five_times_for_the_graph() {
    let x = Tensor::<f32>::ones(&[32, 32, 128]).requires_grad();
    // A view has no data buffer of its own; count it as if it had one.
    assert_within_budget("narrow", allocations_of(|| x.narrow(1, 3, 1)) + 1);
    assert_within_budget("transpose", allocations_of(|| x.transpose(0, 1)) + 1);
}
