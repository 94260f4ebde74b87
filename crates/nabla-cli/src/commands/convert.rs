//! `nabla convert`: a PyTorch checkpoint (`torch.save`'s `.pt`/`.pth`)
//! rewritten as a safetensors file, atomically, through nabla's restricted
//! unpickler (a checkpoint that would run code is refused, naming what it
//! would call).

use std::path::PathBuf;

use nabla::checkpoint::pth::convert_to_safetensors;

use crate::output::say;

/// Arguments of `nabla convert`.
#[derive(clap::Args)]
pub struct Args {
    /// A PyTorch checkpoint: torch.save's zip archive or its legacy format
    /// (told by content, whatever the extension), such as the file of
    /// `torch.save(model.state_dict(), "model.pth")`.
    input: PathBuf,
    /// The safetensors file to write (replaced atomically if it exists):
    /// each tensor under its name, float16 and bfloat16 widened to float32,
    /// integers kept.
    output: PathBuf,
}

/// Converts and reports what was written.
pub fn run(args: Args) -> Result<(), String> {
    let same = match (args.input.canonicalize(), args.output.canonicalize()) {
        (Ok(input), Ok(output)) => input == output,
        _ => false,
    };
    if same {
        return Err(format!(
            "{} is both the input and the output: write the safetensors file elsewhere",
            args.input.display()
        ));
    }
    let done = convert_to_safetensors(&args.input, &args.output).map_err(|e| e.to_string())?;
    say!(
        "wrote {}: {} tensors, {} elements, from {}",
        args.output.display(),
        done.tensors.len(),
        done.elements,
        args.input.display()
    );
    if !done.widened.is_empty() {
        say!(
            "float16/bfloat16 widened to float32 (exactly): {}",
            done.widened.join(", ")
        );
    }
    if !done.skipped.is_empty() {
        say!("not tensors, left out: {}", done.skipped.join(", "));
    }
    Ok(())
}
