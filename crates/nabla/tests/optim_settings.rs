//! Every optimizer refuses settings out of range in the same way: `try_new`
//! returns an error naming the optimizer and the setting, `new` panics with
//! that message.

use nabla::optim::{
    Adagrad, AdagradConfig, Adam, AdamConfig, AdamW, AdamWConfig, RmsProp, RmsPropConfig, Sgd, SgdConfig,
};
use nabla::{Error, Tensor};

fn params() -> Vec<Tensor> {
    vec![Tensor::<f32>::zeros(&[2]).requires_grad()]
}

/// The message of `try_new`'s error, which must be an `InvalidSetting`.
fn refusal<T>(result: nabla::Result<T>) -> String {
    match result {
        Err(e @ Error::InvalidSetting { .. }) => e.to_string(),
        Err(other) => panic!("another error: {other}"),
        Ok(_) => panic!("the settings were accepted"),
    }
}

#[test]
fn nan_infinite_and_negative_settings_are_errors_naming_the_setting() {
    for bad in [f64::NAN, f64::INFINITY, -1.0] {
        let sgd = refusal(Sgd::try_new(params(), SgdConfig::new(bad)));
        assert!(
            sgd.starts_with(&format!("SGD: invalid learning rate {bad}")),
            "{sgd}"
        );
        let momentum = refusal(Sgd::try_new(params(), SgdConfig::new(0.1).momentum(bad)));
        assert!(momentum.starts_with("SGD: invalid momentum"), "{momentum}");
        let adam = refusal(Adam::try_new(params(), AdamConfig::new(1e-3).weight_decay(bad)));
        assert!(adam.starts_with("Adam: invalid weight_decay"), "{adam}");
        let adamw = refusal(AdamW::try_new(params(), AdamWConfig::new(bad)));
        assert!(adamw.starts_with("AdamW: invalid learning rate"), "{adamw}");
        let rmsprop = refusal(RmsProp::try_new(params(), RmsPropConfig::new(1e-2).momentum(bad)));
        assert!(rmsprop.starts_with("RMSprop: invalid momentum"), "{rmsprop}");
        let adagrad = refusal(Adagrad::try_new(params(), AdagradConfig::new(1e-2).eps(bad)));
        assert!(adagrad.starts_with("Adagrad: invalid epsilon"), "{adagrad}");
    }
    let beta = refusal(Adam::try_new(params(), AdamConfig::new(1e-3).betas(0.9, 1.0)));
    assert_eq!(beta, "Adam: invalid beta2 1: it must be at least 0 and below 1");
}

#[test]
fn valid_settings_build_the_same_optimizer_either_way() {
    assert!(Sgd::try_new(params(), SgdConfig::new(0.1).momentum(0.9).nesterov(true)).is_ok());
    assert!(Adam::try_new(params(), AdamConfig::new(0.0)).is_ok());
    assert!(RmsProp::try_new(params(), RmsPropConfig::new(1e-2)).is_ok());
}

#[test]
#[should_panic(expected = "RMSprop: invalid learning rate NaN: it must be a finite number, at least 0")]
fn new_panics_with_the_same_message() {
    RmsProp::new(params(), RmsPropConfig::new(f64::NAN));
}
