//! The named operations of the backend interface: plain data that says
//! which loop to run and with which scalars. A backend matches on them once
//! per call, outside its loops, so dispatch costs one branch per call, not
//! one per element.

mod accumulate;
mod conv;
mod decoder;
mod elementwise;
mod fill;
mod optimizer;
mod pool;
mod recurrent;
mod reduce;

pub(crate) use accumulate::Placement;
pub(crate) use conv::ConvGeometry;
pub(crate) use decoder::{DecoderPart, DecoderSpec, DecoderStep};
pub(crate) use elementwise::{BinaryOp, Comparison, Triangle, UnaryOp, BCE_EPSILON, GELU_BETA, GELU_KAPPA};
pub(crate) use fill::RandomFill;
pub(crate) use optimizer::OptimizerUpdate;
pub(crate) use pool::{AvgPlan, Bin, MaxPoolGeometry, EMPTY_WINDOW};
pub(crate) use recurrent::LstmSchedule;
pub(crate) use reduce::{AttentionSoftmax, Extremum, ReduceOp, SoftmaxOp};
