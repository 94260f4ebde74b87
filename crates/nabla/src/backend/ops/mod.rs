//! The named operations of the backend interface: plain data that says
//! which loop to run and with which scalars. A backend matches on them once
//! per call, outside its loops, so dispatch costs one branch per call, not
//! one per element.

mod fill;
mod optimizer;

pub(crate) use fill::RandomFill;
pub(crate) use optimizer::OptimizerUpdate;
