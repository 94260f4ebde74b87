//! RealNVP on two moons, nabla beside PyTorch on the same everything: the
//! experiment that tells a bug from noise when the two frameworks' moons
//! figures differ.
//!
//! - `dump OUT [SEED]` writes the points nabla's moons run trains and
//!   validates on (`train` `[2400, 2]`, `validation` `[600, 2]`, seed 0 by
//!   default), the `mean` and `std` they were standardised with, and the
//!   initial weights of `nabla train --seed SEED` (`init.*`), for
//!   `scripts/realnvp_pytorch.py moons --points OUT`.
//! - `train RUN` trains a flow from a file written by
//!   `scripts/realnvp_pytorch.py moons --export RUN`: PyTorch's initial
//!   weights (`init.*`), its points (`train`, `validation`) and its batch
//!   order (`order` `[epochs, n_train]`, each row a permutation), with Adam
//!   at the file's `lr` and batches of `batch_size`, as the script does. It
//!   prints one JSON line per epoch with the validation and training NLL in
//!   nats (the training NLL of the whole training set after the epoch), to
//!   set beside the script's. With `--nabla-init SEED` the flow starts
//!   from nabla's own initialisation of that seed instead (what `nabla
//!   train --seed SEED` starts from), on the same points and batches.
//!
//! The experiment of the guide's chapter 12 (100 epochs; `E` stands for
//! `cargo run --release -p nabla --example realnvp_moons_parity --`):
//!
//! ```text
//! python scripts/realnvp_pytorch.py moons --epochs 100 --train-nll --export torch.safetensors
//! E train torch.safetensors                    # PyTorch's weights, points, batches
//! E train torch.safetensors --nabla-init 1     # nabla's seed-1 weights instead
//! E dump points.safetensors 0                  # nabla's seed-0 points
//! python scripts/realnvp_pytorch.py moons --epochs 100 --train-nll --seed 1 --points points.safetensors
//! ```

use std::collections::HashMap;

use nabla::checkpoint::{load_metadata, load_tensors, save_tensors};
use nabla::data::TwoMoons;
use nabla::generative::flow::{RealNvp, RealNvpConfig};
use nabla::nn::Module;
use nabla::optim::{Adam, AdamConfig, Optimizer};
use nabla::{no_grad, Generator, Tensor};

/// The rows `rows` of `points` `[N, 2]`, `[rows.len(), 2]`.
fn gather(points: &[f32], rows: &[f32]) -> Tensor {
    let values = rows
        .iter()
        .flat_map(|&r| {
            let r = r as usize;
            [points[2 * r], points[2 * r + 1]]
        })
        .collect();
    Tensor::from_vec(values, &[rows.len(), 2])
}

fn mean_nll(flow: &RealNvp, points: &Tensor) -> f64 {
    no_grad(|| flow.log_prob(points).mean().neg().item()) as f64
}

fn dump(out: &str, seed: u64) {
    let moons = TwoMoons::new(3000, 0.05, 0.2, &mut Generator::new(seed));
    let pair = |v: [f64; 2]| Tensor::from_vec(vec![v[0] as f32, v[1] as f32], &[2]);
    let flow = RealNvp::<f32>::new(&RealNvpConfig::moons(), &mut Generator::new(seed));
    let mut tensors: Vec<(String, Tensor)> = flow
        .named_parameters()
        .into_iter()
        .map(|(name, p)| (format!("init.{name}"), p.detach()))
        .collect();
    tensors.extend([
        ("train".to_string(), moons.train),
        ("validation".to_string(), moons.validation),
        ("mean".to_string(), pair(moons.mean)),
        ("std".to_string(), pair(moons.std)),
    ]);
    save_tensors(out, &tensors, None).expect("the points are written");
    println!("wrote nabla's seed-{seed} moons to {out}");
}

fn train(run: &str, nabla_init: Option<u64>) {
    let metadata = load_metadata(run).expect("the run file has metadata");
    let config: RealNvpConfig = serde_json::from_str(&metadata["config"]).expect("a RealNvpConfig");
    let lr: f64 = metadata["lr"].parse().expect("lr is a number");
    let batch_size: usize = metadata["batch_size"].parse().expect("batch_size is a number");
    let tensors: HashMap<String, Tensor> = load_tensors(run)
        .expect("the run file loads")
        .into_iter()
        .collect();
    let flow = RealNvp::new(&config, &mut Generator::new(nabla_init.unwrap_or(0)));
    if nabla_init.is_none() {
        for (name, p) in flow.named_parameters() {
            p.copy_from(&tensors[&format!("init.{name}")]);
        }
    }
    let (train, validation, order) = (&tensors["train"], &tensors["validation"], &tensors["order"]);
    let points = train.to_vec();
    let (epochs, n) = (order.shape()[0], order.shape()[1]);
    let order = order.to_vec();
    let mut optimizer = Adam::new(flow.parameters(), AdamConfig::new(lr));
    for epoch in 0..epochs {
        for batch in order[epoch * n..(epoch + 1) * n].chunks(batch_size) {
            let loss = flow.log_prob(&gather(&points, batch)).mean().neg();
            optimizer.zero_grad();
            loss.backward();
            optimizer.step();
        }
        println!(
            "{{\"epoch\": {}, \"val_nll\": {:.6}, \"train_nll\": {:.6}}}",
            epoch + 1,
            mean_nll(&flow, validation),
            mean_nll(&flow, train)
        );
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.iter().map(String::as_str).collect::<Vec<_>>()[..] {
        ["dump", out] => dump(out, 0),
        ["dump", out, seed] => dump(out, seed.parse().expect("SEED must be a number")),
        ["train", run] => train(run, None),
        ["train", run, "--nabla-init", seed] => {
            train(run, Some(seed.parse().expect("SEED must be a number")))
        }
        _ => eprintln!("usage: realnvp_moons_parity dump OUT [SEED] | train RUN [--nabla-init SEED]"),
    }
}
