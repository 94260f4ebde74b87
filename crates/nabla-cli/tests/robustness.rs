//! `nabla attack` and `nabla train --adversarial` end to end on small runs,
//! and their refusals.

mod common;

use common::{nabla, scratch, stderr, stdout};

fn train(out: &std::path::Path, extra: &[&str]) -> String {
    let mut args = vec![
        "train",
        "--model",
        "lenet5",
        "--epochs",
        "1",
        "--limit",
        "600",
        "--batch-size",
        "50",
        "--workers",
        "1",
        "--out",
        out.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    let run = nabla(&args);
    assert!(run.status.success(), "{}\n{}", stdout(&run), stderr(&run));
    stdout(&run)
}

#[test]
fn attack_prints_the_table_and_writes_the_picture_and_the_report() {
    let dir = scratch("cli-attack");
    let run_dir = dir.join("run");
    train(&run_dir, &[]);
    let (png, json) = (dir.join("adv.png"), dir.join("report.json"));
    let attack = nabla(&[
        "attack",
        "--checkpoint",
        run_dir.join("model.safetensors").to_str().unwrap(),
        "--method",
        "pgd",
        "--eps",
        "0.05,0.3",
        "--steps",
        "5",
        "--step-size",
        "0.1",
        "--limit",
        "100",
        "--out",
        png.to_str().unwrap(),
        "--json",
        json.to_str().unwrap(),
    ]);
    let text = stdout(&attack);
    assert!(attack.status.success(), "{text}\n{}", stderr(&attack));
    assert!(text.contains("on 100 test examples of mnist"), "{text}");
    assert!(
        text.contains("PGD-5 linf eps 0.3, step 0.1, random start, untargeted, cross-entropy, range [0, 1]"),
        "{text}"
    );
    let report: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert_eq!(report["examples"], 100);
    let clean = report["clean_correct"].as_u64().unwrap();
    let robust: Vec<u64> = report["attacks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["correct"].as_u64().unwrap())
        .collect();
    assert!(clean > 50, "one epoch on 600 digits gets most right: {clean}");
    // PGD at eps 0.3 breaks an undefended LeNet-5; a wider ball never helps the model.
    assert!(
        robust[1] <= robust[0] && robust[0] <= clean && robust[1] < 10,
        "{robust:?} of {clean}"
    );
    assert_eq!(report["attacks"][1]["attack"]["eps"], 0.3);
    assert_eq!(&std::fs::read(&png).unwrap()[1..4], b"PNG");
}

#[test]
fn adversarial_training_records_its_attack_and_logs_both_accuracies() {
    let dir = scratch("cli-adversarial-train");
    let out = dir.join("run");
    let text = train(
        &out,
        &["--adversarial", "pgd", "--eps", "0.1", "--attack-steps", "2"],
    );
    assert!(
        text.contains("each batch replaced by its adversarial examples: PGD-2 linf eps 0.1, step 0.125"),
        "{text}"
    );
    assert!(text.contains("test accuracy under the training attack"), "{text}");
    let metrics = std::fs::read_to_string(out.join("metrics.jsonl")).unwrap();
    assert!(
        metrics.contains("\"train_adv_accuracy\"") && metrics.contains("\"val_adv_accuracy\""),
        "{metrics}"
    );
    // A resumed run keeps its attack.
    let resumed = nabla(&[
        "train",
        "--resume",
        out.join("checkpoints").to_str().unwrap(),
        "--epochs",
        "2",
        "--adversarial",
        "fgsm-rs",
    ]);
    assert!(!resumed.status.success());
    assert!(
        stderr(&resumed).contains("--adversarial FGSM-RS linf eps 0.3"),
        "{}",
        stderr(&resumed)
    );
}

#[test]
fn attack_and_adversarial_options_are_refused_where_they_do_not_apply() {
    let cases: [(&[&str], &str); 6] = [
        (
            &["train", "--model", "vae", "--adversarial", "pgd"],
            "--adversarial is an option of the classifiers",
        ),
        (
            &["train", "--eps", "0.3"],
            "--eps sets the attack of --adversarial pgd|fgsm-rs, which was not given",
        ),
        (
            &["train", "--adversarial", "fgsm-rs", "--attack-steps", "3"],
            "--attack-steps is an option of --adversarial pgd",
        ),
        (
            &["attack", "--checkpoint", "x", "--eps", "0.1,-0.2"],
            "it must be at least 0",
        ),
        (
            &["attack", "--checkpoint", "x", "--steps", "10"],
            "--steps is an option of --method pgd",
        ),
        (
            &[
                "attack",
                "--checkpoint",
                "/no/such/model.safetensors",
                "--method",
                "pgd",
            ],
            "/no/such/model.safetensors",
        ),
    ];
    for (args, message) in cases {
        let run = nabla(args);
        assert!(!run.status.success(), "{args:?} succeeded");
        assert!(stderr(&run).contains(message), "{args:?}: {}", stderr(&run));
    }
}
