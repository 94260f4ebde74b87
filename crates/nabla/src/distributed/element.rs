//! The MPI datatype of each element type nabla sends.

use mpi::ffi;

/// An element type with an MPI datatype.
pub trait MpiElement: Copy + Default + Send + 'static {
    /// The MPI datatype of one element.
    fn datatype() -> ffi::MPI_Datatype;
}

impl MpiElement for f32 {
    fn datatype() -> ffi::MPI_Datatype {
        // SAFETY: a constant handle, set up by the MPI library at load.
        unsafe { ffi::RSMPI_FLOAT }
    }
}

impl MpiElement for f64 {
    fn datatype() -> ffi::MPI_Datatype {
        // SAFETY: as above.
        unsafe { ffi::RSMPI_DOUBLE }
    }
}

impl MpiElement for u8 {
    fn datatype() -> ffi::MPI_Datatype {
        // SAFETY: as above.
        unsafe { ffi::RSMPI_UINT8_T }
    }
}
