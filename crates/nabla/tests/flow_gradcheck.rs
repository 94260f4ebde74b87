//! f64 gradient checks of the flows against central finite differences:
//! the log-likelihoods with respect to their input (through every coupling,
//! the logit transform, the squeezes and the factoring out), and the
//! pieces on their own.

use nabla::autograd::{gradcheck, GradcheckOptions};
use nabla::generative::flow::{
    squeeze, standard_normal_log_prob, to_logit, unsqueeze, ConvCoupling, CouplingMask, MultiScaleConfig,
    MultiScaleRealNvp, RealNvp, RealNvpConfig,
};
use nabla::nn::init::normal_;
use nabla::nn::Module;
use nabla::{Generator, Tensor};

fn check(what: &str, f: impl Fn(&[Tensor<f64>]) -> Tensor<f64>, x: Tensor<f64>) {
    if let Err(e) = gradcheck(f, &[x], &GradcheckOptions::default()) {
        panic!("{what}: {e}");
    }
}

#[test]
fn a_realnvps_log_prob_has_the_gradient_of_its_finite_differences() {
    let mut g = Generator::new(10);
    let config = RealNvpConfig {
        features: 3,
        couplings: 3,
        hidden: 6,
        hidden_layers: 2,
    };
    let flow = RealNvp::<f64>::new(&config, &mut g);
    check(
        "log_prob",
        |xs| flow.log_prob(&xs[0]),
        Tensor::randn(&[4, 3], &mut g),
    );
    check(
        "inverse",
        |xs| flow.inverse(&xs[0]),
        Tensor::randn(&[2, 3], &mut g),
    );
}

#[test]
fn a_multiscale_realnvps_log_prob_has_the_gradient_of_its_finite_differences() {
    let mut g = Generator::new(11);
    let config = MultiScaleConfig {
        height: 4,
        width: 4,
        hidden: 3,
        scales: 2,
        couplings: 1,
        final_couplings: 1,
        ..MultiScaleConfig::mnist()
    };
    let flow = MultiScaleRealNvp::<f64>::new(&config, &mut g);
    for (name, p) in flow.named_parameters() {
        if name.contains("net.4.") {
            normal_(&p, 0.0, 0.3, &mut g);
        }
    }
    let x = Tensor::rand(&[2, 1, 4, 4], &mut g)
        .mul_scalar(0.9)
        .add_scalar(0.05);
    check("log_prob", |xs| flow.log_prob(&xs[0]), x);
    check(
        "inverse",
        |xs| flow.inverse(&xs[0]),
        Tensor::randn(&[1, 16], &mut g),
    );
}

#[test]
fn conv_couplings_have_the_gradients_of_their_finite_differences() {
    let mut g = Generator::new(12);
    for mask in [
        CouplingMask::Checkerboard { parity: 1 },
        CouplingMask::Channels { parity: 0 },
    ] {
        let coupling = ConvCoupling::<f64>::new(2, 3, mask, &mut g);
        normal_(&coupling.net.named_parameters()[4].1, 0.0, 0.3, &mut g);
        let x = Tensor::randn(&[2, 2, 3, 3], &mut g);
        check(
            &format!("{mask:?} forward"),
            |xs| coupling.forward(&xs[0]).0,
            x.clone(),
        );
        check(
            &format!("{mask:?} log_det"),
            |xs| coupling.forward(&xs[0]).1,
            x.clone(),
        );
        check(&format!("{mask:?} inverse"), |xs| coupling.inverse(&xs[0]), x);
    }
}

#[test]
fn the_flows_pieces_have_the_gradients_of_their_finite_differences() {
    let mut g = Generator::new(13);
    let x = Tensor::rand(&[2, 3], &mut g);
    check("to_logit", |xs| to_logit(&xs[0], 0.05).0, x.clone());
    check("to_logit log_det", |xs| to_logit(&xs[0], 0.05).1, x);
    check(
        "standard_normal_log_prob",
        |xs| standard_normal_log_prob(&xs[0]),
        Tensor::randn(&[3, 2, 2], &mut g),
    );
    let image = Tensor::randn(&[1, 2, 4, 4], &mut g);
    check("squeeze", |xs| squeeze(&xs[0]).mul_scalar(2.0), image.clone());
    check(
        "unsqueeze",
        |xs| unsqueeze(&xs[0]).square(),
        image.reshape(&[1, 8, 2, 2]),
    );
}
