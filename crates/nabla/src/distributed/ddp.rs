//! [`DistributedDataParallel`]: gradients averaged over the processes in
//! buckets, each launched (`MPI_Iallreduce`) as soon as the backward pass
//! has finished every gradient in it, while the rest of the pass goes on.

use std::any::Any;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use mpi::ffi;

use super::element::MpiElement;
use super::group::{count, in_place, ProcessGroup};
use crate::element::Float;
use crate::error::Result;
use crate::layout::Layout;
use crate::nn::Module;
use crate::tensor::Tensor;
use crate::train::DataParallel;

/// PyTorch's default bucket size (`bucket_cap_mb=25`).
pub const DEFAULT_BUCKET_BYTES: usize = 25 * 1024 * 1024;

/// Data-parallel training on MPI, as PyTorch's `DistributedDataParallel`
/// does it: every process computes the gradients of its own shard of the
/// batch, and [`backward_averaged`](Self::backward_averaged) leaves in every process the
/// mean of the processes' gradients, so that identical optimizer steps
/// keep identical models.
///
/// The trainable parameters are grouped into buckets of at most
/// `bucket_bytes` (in reverse order, the order in which backward finishes
/// them). During the backward pass, the moment the last gradient of a
/// bucket is final (see [`Tensor::backward_with_ready_hook`]) the bucket
/// is copied into one flat buffer and its sum over the processes is started
/// in place with a nonblocking `MPI_Iallreduce`, driven on by `MPI_Testall` at
/// every further gradient, so communication overlaps the rest of the
/// backward pass. The last bucket to complete has nothing left to overlap
/// and is summed at the end with a blocking `MPI_Allreduce` (faster than
/// the nonblocking one: 1.2 times at 1 MiB here). The gradients are
/// divided by the world size as they are copied into a bucket, and each
/// parameter's `.grad` ends as a view of its part of the bucket's sums (as
/// PyTorch's `gradient_as_bucket_view`): one pass over the gradients in
/// all, besides MPI's. A trainable parameter the loss
/// does not reach on some process counts as a zero gradient there, and
/// every trainable parameter ends with a gradient.
///
/// Give it to [`fit`](crate::train::fit) through
/// [`TrainConfig::parallel`](crate::train::TrainConfig::parallel), with
/// each loader reading its [`Shard`](crate::data::Shard), after
/// [`ProcessGroup::broadcast_module`] has given every process rank 0's
/// weights.
pub struct DistributedDataParallel {
    group: Arc<ProcessGroup>,
    bucket_bytes: usize,
    // The buckets of each parameter list seen (a GAN alternates two), per
    // element type (`Buckets<f32>` or `Buckets<f64>`), kept across steps.
    buckets: Mutex<Vec<Box<dyn Any + Send>>>,
}

impl std::fmt::Debug for DistributedDataParallel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "DistributedDataParallel {{ rank: {}, world_size: {}, bucket_bytes: {} }}",
            self.group.rank(),
            self.group.world_size(),
            self.bucket_bytes
        )
    }
}

impl DistributedDataParallel {
    /// Averages gradients over `group` in buckets of at most `bucket_bytes`
    /// ([`DEFAULT_BUCKET_BYTES`] is PyTorch's 25 MiB; a parameter larger
    /// than that is a bucket of its own).
    ///
    /// # Panics
    /// If `bucket_bytes` is 0.
    pub fn new(group: Arc<ProcessGroup>, bucket_bytes: usize) -> Self {
        assert!(
            bucket_bytes > 0,
            "DistributedDataParallel: bucket_bytes must be positive"
        );
        DistributedDataParallel {
            group,
            bucket_bytes,
            buckets: Mutex::new(Vec::new()),
        }
    }

    /// The processes.
    pub fn group(&self) -> &ProcessGroup {
        &self.group
    }

    /// The bucket size in bytes.
    pub fn bucket_bytes(&self) -> usize {
        self.bucket_bytes
    }

    /// Backpropagates the one-element `loss` and leaves in the `.grad` of
    /// each trainable one of `parameters` its mean over the processes,
    /// averaging bucket by bucket while the backward pass runs.
    pub fn backward_averaged<T: Float + MpiElement>(&self, loss: &Tensor<T>, parameters: &[Tensor<T>]) {
        self.with_buckets(parameters, |buckets, trainable| {
            let mut pass = Pass::new(&self.group, buckets);
            loss.backward_with_ready_hook(&mut |leaf| pass.gradient_ready(leaf, trainable));
            pass.finish(trainable);
        });
    }

    /// Averages the gradients already in the `.grad` of `parameters` over
    /// the processes (all buckets at once): for a loop that runs its own
    /// backward passes, such as gradient accumulation over micro-batches.
    pub fn average_gradients<T: Float + MpiElement>(&self, parameters: &[Tensor<T>]) {
        self.with_buckets(parameters, |buckets, trainable| {
            Pass::new(&self.group, buckets).finish(trainable);
        });
    }

    /// Runs `f` on the buckets of the trainable ones of `parameters`,
    /// building them the first time this list is seen.
    fn with_buckets<T: Float + MpiElement>(
        &self,
        parameters: &[Tensor<T>],
        f: impl FnOnce(&mut Buckets<T>, &[Tensor<T>]),
    ) {
        let trainable: Vec<Tensor<T>> = parameters
            .iter()
            .filter(|p| p.is_requires_grad())
            .cloned()
            .collect();
        let mut cache = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        let identity = identity_of(&trainable);
        let known = cache.iter().position(|b| {
            b.downcast_ref::<Buckets<T>>()
                .is_some_and(|b| b.identity == identity)
        });
        let index = known.unwrap_or_else(|| {
            if cache.len() == CACHED_LISTS {
                cache.remove(0);
            }
            cache.push(Box::new(Buckets::new(&trainable, self.bucket_bytes)));
            cache.len() - 1
        });
        let buckets = cache[index]
            .downcast_mut::<Buckets<T>>()
            .expect("found by its type");
        f(buckets, &trainable);
    }
}

impl DataParallel for DistributedDataParallel {
    fn rank(&self) -> usize {
        self.group.rank()
    }

    fn world_size(&self) -> usize {
        self.group.world_size()
    }

    fn backward(&self, loss: &Tensor, parameters: &[Tensor]) {
        self.backward_averaged(loss, parameters);
    }

    fn all_reduce_sum(&self, values: &mut [f64]) {
        self.group.all_reduce_sum(values);
    }

    fn broadcast_module(&self, module: &dyn Module) {
        self.group.broadcast_module(module);
    }

    fn check_same(&self, entries: &[(&str, String)]) -> Result<()> {
        self.group.check_same(entries)
    }

    fn abort(&self, message: &str) -> ! {
        self.group.abort(message)
    }
}

fn tensor_key<T: Float>(t: &Tensor<T>) -> usize {
    Arc::as_ptr(&t.inner) as usize
}

/// The parameter lists whose buckets are kept (a GAN has two).
const CACHED_LISTS: usize = 4;

/// What tells a parameter list: each tensor's address and size (a tensor
/// made where a dropped one was has its address, and may have another size).
fn identity_of<T: Float>(parameters: &[Tensor<T>]) -> Vec<(usize, usize)> {
    parameters.iter().map(|p| (tensor_key(p), p.numel())).collect()
}

/// The trainable parameters cut into buckets, with their flat buffers.
struct Buckets<T: Float> {
    /// Which parameters these buckets were built for.
    identity: Vec<(usize, usize)>,
    buckets: Vec<Bucket<T>>,
    /// Each parameter's bucket, by its tensor's identity.
    bucket_of: HashMap<usize, usize>,
}

/// Parameters whose gradients are summed over the processes in one call.
struct Bucket<T: Float> {
    /// Indices into the trainable parameters, and each one's offset in the bucket.
    members: Vec<(usize, usize)>,
    /// The number of elements.
    len: usize,
    /// A flat tensor that receives the gradients over the world size and
    /// is summed over the processes in place; its views become the
    /// parameters' gradients, and it is reused once those are gone
    /// (`zero_grad`).
    received: Option<Tensor<T>>,
}

impl<T: Float> Bucket<T> {
    /// A flat tensor to receive the gradients: the last one if no gradient
    /// still views it, a new one otherwise.
    fn receiving(&mut self) -> &Tensor<T> {
        let len = self.len;
        let reusable = self.received.as_ref().is_some_and(Tensor::is_exclusive);
        if !reusable {
            self.received = Some(Tensor::from_contiguous(vec![T::default(); len], &[len]));
        }
        self.received.as_ref().expect("just made")
    }
}

impl<T: Float + MpiElement> Buckets<T> {
    fn new(trainable: &[Tensor<T>], bucket_bytes: usize) -> Self {
        let element = std::mem::size_of::<T>();
        let mut buckets: Vec<Bucket<T>> = Vec::new();
        let mut bucket_of = HashMap::new();
        let mut open: Vec<(usize, usize)> = Vec::new();
        let mut filled = 0;
        let close = |members: Vec<(usize, usize)>, len: usize, buckets: &mut Vec<Bucket<T>>| {
            buckets.push(Bucket {
                members,
                len,
                received: None,
            });
        };
        for (i, p) in trainable.iter().enumerate().rev() {
            let n = p.numel();
            if !open.is_empty() && (filled + n) * element > bucket_bytes {
                close(std::mem::take(&mut open), filled, &mut buckets);
                filled = 0;
            }
            bucket_of.insert(tensor_key(p), buckets.len());
            open.push((i, filled));
            filled += n;
        }
        if !open.is_empty() {
            close(open, filled, &mut buckets);
        }
        Buckets {
            identity: identity_of(trainable),
            buckets,
            bucket_of,
        }
    }
}

/// One averaging: the buckets' gradients still to come and their requests.
struct Pass<'a, T: Float> {
    group: &'a ProcessGroup,
    buckets: &'a mut Buckets<T>,
    waiting: Vec<usize>,
    requests: Vec<ffi::MPI_Request>,
    launched: Vec<bool>,
}

impl<'a, T: Float + MpiElement> Pass<'a, T> {
    fn new(group: &'a ProcessGroup, buckets: &'a mut Buckets<T>) -> Self {
        let n = buckets.buckets.len();
        Pass {
            group,
            waiting: buckets.buckets.iter().map(|b| b.members.len()).collect(),
            buckets,
            // SAFETY: a constant handle.
            requests: vec![unsafe { ffi::RSMPI_REQUEST_NULL }; n],
            launched: vec![false; n],
        }
    }

    /// Called by the backward pass when `leaf`'s gradient is final:
    /// launches its bucket if it was the last one missing, and drives the
    /// launched sums on.
    fn gradient_ready(&mut self, leaf: &Tensor<T>, trainable: &[Tensor<T>]) {
        let Some(&b) = self.buckets.bucket_of.get(&tensor_key(leaf)) else {
            return; // an input that requires grad, not a parameter
        };
        self.waiting[b] -= 1;
        // The last bucket to complete is left to `finish`: nothing remains
        // to overlap it with, and a blocking all-reduce is faster.
        if self.waiting[b] == 0 && self.waiting.iter().any(|&w| w > 0) {
            self.launch(b, trainable, Call::Nonblocking);
        }
        self.progress();
    }

    /// Copies bucket `b`'s gradients over the world size (zeros for a
    /// parameter without one; dividing first, as PyTorch's DDP does, costs
    /// no pass of its own) into its flat tensor and sums them over the
    /// processes in place: started (`MPI_Iallreduce`) or done
    /// (`MPI_Allreduce`).
    fn launch(&mut self, b: usize, trainable: &[Tensor<T>], call: Call) {
        let processes = self.group.world_size();
        let bucket = &mut self.buckets.buckets[b];
        let received = bucket.receiving().clone();
        // The flat tensor is the bucket's own until `finish` hands out views
        // of it (no gradient shares its storage), and its heap buffer never moves.
        let target = received.update_data(|values| {
            for &(i, offset) in &bucket.members {
                let p = &trainable[i];
                let slot = &mut values[offset..offset + p.numel()];
                match p.grad() {
                    Some(g) => {
                        crate::backend::read_host(&g, |gradient| divide_into(slot, gradient, processes))
                    }
                    None => slot.fill(T::default()),
                }
            }
            values.as_mut_ptr()
        });
        self.launched[b] = true;
        let _serial = self.group.serialized();
        // SAFETY: the buffer holds the bucket's elements and stays in place
        // until the call returns, or (nonblocking) until `finish` waits for
        // the request: the bucket is borrowed by this pass until then. In
        // place, as PyTorch's DDP sums its buckets: no second buffer, and
        // MPI does not first copy the values into the receive buffer.
        let code = unsafe {
            match call {
                Call::Blocking => ffi::MPI_Allreduce(
                    in_place(),
                    target.cast(),
                    count(bucket.len),
                    T::datatype(),
                    ffi::RSMPI_SUM,
                    self.group.comm(),
                ),
                Call::Nonblocking => ffi::MPI_Iallreduce(
                    in_place(),
                    target.cast(),
                    count(bucket.len),
                    T::datatype(),
                    ffi::RSMPI_SUM,
                    self.group.comm(),
                    &mut self.requests[b],
                ),
            }
        };
        self.group.check(code, "MPI_Allreduce/MPI_Iallreduce");
    }

    /// Lets MPI move the launched sums on (a nonblocking collective only
    /// progresses inside MPI calls).
    fn progress(&mut self) {
        let mut done: std::os::raw::c_int = 0;
        let _serial = self.group.serialized();
        // SAFETY: `requests` holds valid or null requests.
        let code = unsafe {
            ffi::MPI_Testall(
                count(self.requests.len()),
                self.requests.as_mut_ptr(),
                &mut done,
                ffi::RSMPI_STATUSES_IGNORE,
            )
        };
        self.group.check(code, "MPI_Testall");
    }

    /// Sums the buckets not started during the backward pass (the last to
    /// complete, and those with a parameter the loss did not reach), waits
    /// for the started ones, and makes each parameter's gradient a view of
    /// its part of the sums: the means, with no copy.
    fn finish(mut self, trainable: &[Tensor<T>]) {
        for b in 0..self.launched.len() {
            if !self.launched[b] {
                self.launch(b, trainable, Call::Blocking);
            }
        }
        {
            let _serial = self.group.serialized();
            // SAFETY: `requests` holds valid or null requests.
            let code = unsafe {
                ffi::MPI_Waitall(
                    count(self.requests.len()),
                    self.requests.as_mut_ptr(),
                    ffi::RSMPI_STATUSES_IGNORE,
                )
            };
            self.group.check(code, "MPI_Waitall");
        }
        for bucket in &self.buckets.buckets {
            let received = bucket.received.as_ref().expect("every bucket was summed");
            for &(i, offset) in &bucket.members {
                let p = &trainable[i];
                let layout = Layout {
                    offset,
                    ..Layout::contiguous(p.shape())
                };
                *p.inner.grad.lock().unwrap_or_else(|e| e.into_inner()) = Some(received.with_layout(layout));
            }
        }
    }
}

/// `target = values / n`. For a power of two, multiplying by `1 / n` is
/// the same to the bit and several times faster (a division per element
/// took as long as the all-reduce of 1 MiB here).
fn divide_into<T: Float>(target: &mut [T], values: &[T], n: usize) {
    if n.is_power_of_two() {
        let inverse = T::one() / T::from_usize(n);
        for (t, &v) in target.iter_mut().zip(values) {
            *t = v * inverse;
        }
    } else {
        let n = T::from_usize(n);
        for (t, &v) in target.iter_mut().zip(values) {
            *t = v / n;
        }
    }
}

/// How a bucket's sum is called.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Call {
    /// Started, to overlap the rest of the backward pass.
    Nonblocking,
    /// Done at once.
    Blocking,
}
