//! [`ProcessGroup`]: the processes of one MPI job (its world communicator),
//! the collectives nabla needs, checked, and the fault handling that turns
//! an error or a panic on one rank into the end of the whole job.

use std::ffi::CStr;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::os::raw::c_int;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};

use mpi::environment::Universe;
use mpi::ffi;
use mpi::Threading;

use super::element::MpiElement;
use crate::element::Float;
use crate::error::{Error, Result};
use crate::nn::Module;

/// The world communicator's handle. MPI handles are plain pointers; they are
/// shared between threads because the library was initialised with
/// `MPI_THREAD_SERIALIZED` and every call takes [`ProcessGroup::serialized`].
#[derive(Clone, Copy)]
pub(super) struct Comm(pub(super) ffi::MPI_Comm);

// SAFETY: see the type's comment: calls through the handle are serialised.
unsafe impl Send for Comm {}
// SAFETY: as above.
unsafe impl Sync for Comm {}

/// This process's rank and the world size, once MPI is initialised: what
/// the panic hook names.
static IDENTITY: OnceLock<(usize, usize, Comm)> = OnceLock::new();

/// The processes of the MPI job this process belongs to (`MPI_COMM_WORLD`),
/// with the collectives of data-parallel training. Made once per process by
/// [`ProcessGroup::init`]; MPI is finalised when the last handle is dropped.
///
/// Every collective is checked: a failure names the rank and the call and
/// stops the whole job ([`abort`](Self::abort)), and so does a panic on
/// any rank (a hook installed by `init`), so that no rank waits forever for
/// one that has gone.
pub struct ProcessGroup {
    comm: Comm,
    rank: usize,
    size: usize,
    lock: Mutex<()>,
    // Dropped last: finalises MPI.
    _universe: Universe,
}

impl std::fmt::Debug for ProcessGroup {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ProcessGroup {{ rank: {}, size: {} }}", self.rank, self.size)
    }
}

impl ProcessGroup {
    /// Initialises MPI (with `MPI_THREAD_SERIALIZED`: nabla's compute threads
    /// never call MPI, and its calls are serialised) and returns the world.
    /// A process started without `mpirun` is a world of one.
    ///
    /// # Errors
    /// [`Error::Distributed`] if MPI was already initialised in this process,
    /// or cannot give the thread support nabla needs.
    pub fn init() -> Result<Arc<ProcessGroup>> {
        let (universe, threading) =
            mpi::initialize_with_threading(Threading::Serialized).ok_or_else(|| Error::Distributed {
                message: "MPI is already initialised in this process (one ProcessGroup per process)".into(),
            })?;
        if threading < Threading::Serialized {
            return Err(Error::Distributed {
                message: format!(
                    "the MPI library gives {threading:?} thread support; nabla needs Serialized"
                ),
            });
        }
        // SAFETY: MPI is initialised; the world communicator is a constant handle.
        let comm = Comm(unsafe { ffi::RSMPI_COMM_WORLD });
        let (mut rank, mut size) = (0, 0);
        // SAFETY: a valid communicator and out-pointers to c_ints.
        unsafe {
            // Errors come back as codes, checked at every call (see `check`),
            // so the message can name the rank and the call.
            ffi::MPI_Comm_set_errhandler(comm.0, ffi::RSMPI_ERRORS_RETURN);
            ffi::MPI_Comm_rank(comm.0, &mut rank);
            ffi::MPI_Comm_size(comm.0, &mut size);
        }
        let (rank, size) = (rank as usize, size as usize);
        let _ = IDENTITY.set((rank, size, comm));
        install_panic_abort();
        Ok(Arc::new(ProcessGroup {
            comm,
            rank,
            size,
            lock: Mutex::new(()),
            _universe: universe,
        }))
    }

    /// True when this process was started by an MPI launcher (`mpirun`,
    /// `srun`): its environment names a world size.
    pub fn launched_by_mpi() -> bool {
        ["OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_RANK", "SLURM_NTASKS"]
            .iter()
            .any(|v| std::env::var_os(v).is_some())
    }

    /// This process's rank, from 0.
    pub fn rank(&self) -> usize {
        self.rank
    }

    /// The number of processes.
    pub fn world_size(&self) -> usize {
        self.size
    }

    /// The guard that serialises MPI calls across threads.
    pub(super) fn serialized(&self) -> MutexGuard<'_, ()> {
        self.lock.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The world communicator.
    pub(super) fn comm(&self) -> ffi::MPI_Comm {
        self.comm.0
    }

    /// Stops on a failed MPI call: names the rank, the call and MPI's
    /// message, and aborts the job.
    pub(super) fn check(&self, code: c_int, call: &str) {
        if code != 0 {
            self.abort(&format!("{call} failed: {}", error_string(code)));
        }
    }

    /// Waits until every process has called it.
    pub fn barrier(&self) {
        let _serial = self.serialized();
        // SAFETY: a valid communicator.
        let code = unsafe { ffi::MPI_Barrier(self.comm.0) };
        self.check(code, "MPI_Barrier");
    }

    /// Sums `values` elementwise over the processes, in place (a blocking
    /// `MPI_Allreduce`); every process gets the same sums.
    pub fn all_reduce_sum<T: MpiElement>(&self, values: &mut [T]) {
        // SAFETY: `MPI_IN_PLACE` as the send buffer says that `values`
        // holds this process's values.
        unsafe { self.all_reduce_sum_from(in_place(), values) }
    }

    /// Writes into `sums` the elementwise sums of every process's `values`
    /// (one plain `MPI_Allreduce`).
    ///
    /// # Panics
    /// If the two slices differ in length.
    pub fn all_reduce_sum_into<T: MpiElement>(&self, values: &[T], sums: &mut [T]) {
        assert_eq!(
            values.len(),
            sums.len(),
            "all_reduce_sum_into: the buffers differ in length"
        );
        // SAFETY: `values` holds `sums.len()` elements of the datatype.
        unsafe { self.all_reduce_sum_from(values.as_ptr().cast(), sums) }
    }

    /// One blocking `MPI_Allreduce` (sum) into `sums`.
    ///
    /// # Safety
    /// `send` is `MPI_IN_PLACE` or points to `sums.len()` elements of `T`
    /// that do not overlap `sums`.
    unsafe fn all_reduce_sum_from<T: MpiElement>(&self, send: *const std::ffi::c_void, sums: &mut [T]) {
        let _serial = self.serialized();
        // SAFETY: `sums` holds `sums.len()` elements of the datatype, and
        // the caller vouches for `send`.
        let code = unsafe {
            ffi::MPI_Allreduce(
                send,
                sums.as_mut_ptr().cast(),
                count(sums.len()),
                T::datatype(),
                ffi::RSMPI_SUM,
                self.comm.0,
            )
        };
        self.check(code, "MPI_Allreduce");
    }

    /// Copies `root`'s `values` into every process's `values` (`MPI_Bcast`).
    ///
    /// # Panics
    /// If `root` is not a rank.
    pub fn broadcast<T: MpiElement>(&self, values: &mut [T], root: usize) {
        assert!(
            root < self.size,
            "broadcast: root {root} is not a rank of {}",
            self.size
        );
        let _serial = self.serialized();
        // SAFETY: the buffer holds `values.len()` elements of the datatype.
        let code = unsafe {
            ffi::MPI_Bcast(
                values.as_mut_ptr().cast(),
                count(values.len()),
                T::datatype(),
                root as c_int,
                self.comm.0,
            )
        };
        self.check(code, "MPI_Bcast");
    }

    /// Copies rank 0's parameters and buffers into every process's
    /// `module` (what PyTorch's `DistributedDataParallel` does when it
    /// wraps a model), so that all start from the same weights whatever
    /// their seeds.
    pub fn broadcast_module<T: Float + MpiElement>(&self, module: &dyn Module<T>) {
        for (_, tensor) in module
            .named_parameters()
            .into_iter()
            .chain(module.named_buffers())
        {
            tensor.update_data(|data| self.broadcast(data, 0));
        }
    }

    /// Checks that every process was started the same way: `entries` are
    /// named descriptions (the model, the data set, the seed, the
    /// parameters' names and shapes, ...), compared with rank 0's.
    ///
    /// # Errors
    /// [`Error::Distributed`] on every process when any process differs,
    /// naming each differing rank, entry and both values.
    pub fn check_same(&self, entries: &[(&str, String)]) -> Result<()> {
        const WIDTH: usize = 4096;
        let mut mine = vec![0u8; WIDTH * entries.len()];
        for ((_, value), slot) in entries.iter().zip(mine.chunks_exact_mut(WIDTH)) {
            let shown = fitted(value, WIDTH);
            slot[..shown.len()].copy_from_slice(shown.as_bytes());
        }
        let mut all = vec![0u8; mine.len() * self.size];
        {
            let _serial = self.serialized();
            // SAFETY: `all` holds `size` times `mine`.
            let code = unsafe {
                ffi::MPI_Allgather(
                    mine.as_ptr().cast(),
                    count(mine.len()),
                    u8::datatype(),
                    all.as_mut_ptr().cast(),
                    count(mine.len()),
                    u8::datatype(),
                    self.comm.0,
                )
            };
            self.check(code, "MPI_Allgather");
        }
        let text = |rank: usize, entry: usize| {
            let start = rank * mine.len() + entry * WIDTH;
            let slot = &all[start..start + WIDTH];
            let end = slot.iter().position(|&b| b == 0).unwrap_or(WIDTH);
            String::from_utf8_lossy(&slot[..end]).into_owned()
        };
        let mut differences = Vec::new();
        for rank in 1..self.size {
            for (e, (name, _)) in entries.iter().enumerate() {
                let (theirs, first) = (text(rank, e), text(0, e));
                if theirs != first {
                    let (theirs, first) = around_first_difference(&theirs, &first);
                    differences.push(format!(
                        "rank {rank} has {name} {theirs} where rank 0 has {first}"
                    ));
                }
            }
        }
        if differences.is_empty() {
            Ok(())
        } else {
            Err(Error::Distributed {
                message: format!(
                    "the processes were started differently, and every one must train the same model \
                     on the same data with the same settings: {}",
                    differences.join("; ")
                ),
            })
        }
    }

    /// Prints `message` with this process's rank and stops every process
    /// of the job (`MPI_Abort`): what an error on one rank must do, since
    /// the others would otherwise wait for it in their next collective.
    pub fn abort(&self, message: &str) -> ! {
        abort_job(self.rank, self.size, self.comm, message)
    }
}

/// The two values quoted, or, when they are long, the part of each around
/// where they first differ.
fn around_first_difference(a: &str, b: &str) -> (String, String) {
    const CONTEXT: usize = 40;
    if a.len() <= 2 * CONTEXT && b.len() <= 2 * CONTEXT {
        return (format!("{a:?}"), format!("{b:?}"));
    }
    let first = a.chars().zip(b.chars()).take_while(|(x, y)| x == y).count();
    let excerpt = |s: &str| {
        let chars: Vec<char> = s.chars().collect();
        let start = first.saturating_sub(CONTEXT / 2);
        let end = (first + CONTEXT).min(chars.len());
        let text: String = chars[start.min(end)..end].iter().collect();
        let before = if start > 0 { "..." } else { "" };
        let after = if end < chars.len() { "..." } else { "" };
        format!("`{before}{text}{after}`")
    };
    (excerpt(a), excerpt(b))
}

/// `value`, or its start and a hash when it is longer than `width` bytes.
fn fitted(value: &str, width: usize) -> String {
    if value.len() < width {
        return value.to_string();
    }
    let mut hasher = DefaultHasher::new();
    value.hash(&mut hasher);
    let mut cut = width - 40;
    while !value.is_char_boundary(cut) {
        cut -= 1;
    }
    format!("{}... (hash {:016x})", &value[..cut], hasher.finish())
}

extern "C" {
    /// `MPI_IN_PLACE` of the MPI library built against
    /// (`mpi_constants.c`, compiled by build.rs).
    fn nabla_mpi_in_place() -> *mut std::ffi::c_void;
}

/// `MPI_IN_PLACE`: as the send buffer of a reduction, it says that the
/// receive buffer holds this process's values, which spares MPI copying
/// them there first (a quarter of a 1 MiB all-reduce's time here).
pub(super) fn in_place() -> *const std::ffi::c_void {
    // SAFETY: a C function without arguments that returns a constant.
    unsafe { nabla_mpi_in_place() }
}

/// An element count as MPI takes it.
pub(super) fn count(n: usize) -> c_int {
    c_int::try_from(n).unwrap_or_else(|_| panic!("MPI: {n} elements do not fit one call's count"))
}

fn error_string(code: c_int) -> String {
    let mut buffer = vec![0u8; ffi::MPI_MAX_ERROR_STRING as usize + 1];
    let mut length: c_int = 0;
    // SAFETY: the buffer holds MPI_MAX_ERROR_STRING bytes and a terminator.
    unsafe { ffi::MPI_Error_string(code, buffer.as_mut_ptr().cast(), &mut length) };
    CStr::from_bytes_until_nul(&buffer)
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|_| format!("error code {code}"))
}

fn abort_job(rank: usize, size: usize, comm: Comm, message: &str) -> ! {
    // One write: `eprintln!` writes unbuffered stderr piece by piece, and
    // mpirun interleaves the pieces with the other ranks' output.
    let line = format!("nabla: rank {rank} of {size}: {message}; stopping every rank\n");
    let _ = std::io::Write::write_all(&mut std::io::stderr(), line.as_bytes());
    // SAFETY: a valid communicator; MPI_Abort does not return in practice.
    unsafe { ffi::MPI_Abort(comm.0, 1) };
    std::process::exit(1)
}

/// Makes a panic on this rank (after the usual message) stop the whole job.
fn install_panic_abort() {
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        previous(info);
        if let Some(&(rank, size, comm)) = IDENTITY.get() {
            abort_job(rank, size, comm, "panicked (see above)");
        }
    }));
}
