//! Tensor memory: a buffer with the device it lives on. Its elements are
//! reachable only from the backend module, so every read and write of
//! tensor memory is a backend operation.

use std::sync::{RwLock, RwLockReadGuard, RwLockWriteGuard};

/// Where a storage's memory lives. Only the CPU exists today; a second
/// backend adds a variant and the backend functions dispatch on it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Device {
    /// Host memory, run by the loops of [`crate::kernels`].
    Cpu,
}

/// The buffer behind one or more tensors (views share it through an `Arc`).
/// The lock makes the optimizers' in-place updates safe, at the cost of one
/// uncontended lock per kernel call.
pub(crate) struct Storage<T> {
    device: Device,
    data: RwLock<Vec<T>>,
}

impl<T> Storage<T> {
    /// Host memory holding `data` (the upload of a host vector).
    pub(crate) fn from_host(data: Vec<T>) -> Self {
        Storage {
            device: Device::Cpu,
            data: RwLock::new(data),
        }
    }

    /// The device the memory lives on.
    pub(crate) fn device(&self) -> Device {
        self.device
    }

    /// The elements, locked for reading.
    pub(in crate::backend) fn read(&self) -> RwLockReadGuard<'_, Vec<T>> {
        self.data.read().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The elements, locked for writing.
    pub(in crate::backend) fn write(&self) -> RwLockWriteGuard<'_, Vec<T>> {
        self.data.write().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}
