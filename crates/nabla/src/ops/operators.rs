//! The arithmetic operators: `&a + &b`, `a * b`, `&a - 1.0`, `2.0 / &a`,
//! `-&a`, on references and owned tensors, and with scalars on either side.

use std::ops::{Add, Div, Mul, Neg, Sub};

use crate::element::Float;
use crate::tensor::Tensor;

macro_rules! tensor_operator {
    ($trait:ident, $method:ident, $scalar_method:ident) => {
        impl<T: Float> $trait<&Tensor<T>> for &Tensor<T> {
            type Output = Tensor<T>;
            fn $method(self, rhs: &Tensor<T>) -> Tensor<T> {
                Tensor::$method(self, rhs)
            }
        }
        impl<T: Float> $trait<Tensor<T>> for Tensor<T> {
            type Output = Tensor<T>;
            fn $method(self, rhs: Tensor<T>) -> Tensor<T> {
                Tensor::$method(&self, &rhs)
            }
        }
        impl<T: Float> $trait<&Tensor<T>> for Tensor<T> {
            type Output = Tensor<T>;
            fn $method(self, rhs: &Tensor<T>) -> Tensor<T> {
                Tensor::$method(&self, rhs)
            }
        }
        impl<T: Float> $trait<Tensor<T>> for &Tensor<T> {
            type Output = Tensor<T>;
            fn $method(self, rhs: Tensor<T>) -> Tensor<T> {
                Tensor::$method(self, &rhs)
            }
        }
        impl<T: Float> $trait<T> for &Tensor<T> {
            type Output = Tensor<T>;
            fn $method(self, rhs: T) -> Tensor<T> {
                self.$scalar_method(rhs)
            }
        }
        impl<T: Float> $trait<T> for Tensor<T> {
            type Output = Tensor<T>;
            fn $method(self, rhs: T) -> Tensor<T> {
                (&self).$scalar_method(rhs)
            }
        }
    };
}

impl<T: Float> Tensor<T> {
    fn sub_scalar(&self, value: T) -> Tensor<T> {
        self.add_scalar(-value)
    }
}

tensor_operator!(Add, add, add_scalar);
tensor_operator!(Sub, sub, sub_scalar);
tensor_operator!(Mul, mul, mul_scalar);
tensor_operator!(Div, div, div_scalar);

/// `scalar op tensor` for the two element types (a generic impl would
/// break Rust's orphan rules).
macro_rules! scalar_on_left {
    ($($t:ty),*) => {$(
        impl Add<&Tensor<$t>> for $t {
            type Output = Tensor<$t>;
            fn add(self, rhs: &Tensor<$t>) -> Tensor<$t> {
                rhs.add_scalar(self)
            }
        }
        impl Sub<&Tensor<$t>> for $t {
            type Output = Tensor<$t>;
            fn sub(self, rhs: &Tensor<$t>) -> Tensor<$t> {
                rhs.neg().add_scalar(self)
            }
        }
        impl Mul<&Tensor<$t>> for $t {
            type Output = Tensor<$t>;
            fn mul(self, rhs: &Tensor<$t>) -> Tensor<$t> {
                rhs.mul_scalar(self)
            }
        }
        impl Div<&Tensor<$t>> for $t {
            type Output = Tensor<$t>;
            fn div(self, rhs: &Tensor<$t>) -> Tensor<$t> {
                rhs.rdiv_scalar(self)
            }
        }
        impl Add<Tensor<$t>> for $t {
            type Output = Tensor<$t>;
            fn add(self, rhs: Tensor<$t>) -> Tensor<$t> {
                self + &rhs
            }
        }
        impl Sub<Tensor<$t>> for $t {
            type Output = Tensor<$t>;
            fn sub(self, rhs: Tensor<$t>) -> Tensor<$t> {
                self - &rhs
            }
        }
        impl Mul<Tensor<$t>> for $t {
            type Output = Tensor<$t>;
            fn mul(self, rhs: Tensor<$t>) -> Tensor<$t> {
                self * &rhs
            }
        }
        impl Div<Tensor<$t>> for $t {
            type Output = Tensor<$t>;
            fn div(self, rhs: Tensor<$t>) -> Tensor<$t> {
                self / &rhs
            }
        }
    )*};
}

scalar_on_left!(f32, f64);

impl<T: Float> Neg for &Tensor<T> {
    type Output = Tensor<T>;
    fn neg(self) -> Tensor<T> {
        Tensor::neg(self)
    }
}

impl<T: Float> Neg for Tensor<T> {
    type Output = Tensor<T>;
    fn neg(self) -> Tensor<T> {
        Tensor::neg(&self)
    }
}
