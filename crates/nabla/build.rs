//! With the `mpi` feature, compiles `src/distributed/mpi_constants.c`
//! against the installed MPI library's `mpi.h`, found the way the `mpi`
//! crate finds it (`build-probe-mpi`: `mpicc`, then pkg-config).

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed=src/distributed/mpi_constants.c");
    #[cfg(feature = "mpi")]
    compile_mpi_constants();
}

#[cfg(feature = "mpi")]
fn compile_mpi_constants() {
    let library = build_probe_mpi::probe().unwrap_or_else(|errors| {
        let reasons: Vec<String> = errors.iter().map(ToString::to_string).collect();
        panic!("the `mpi` feature needs an MPI library (Open MPI: libopenmpi-dev), and none was found: {reasons:?}")
    });
    let mut build = cc::Build::new();
    build.file("src/distributed/mpi_constants.c");
    match library.mpicc {
        Some(mpicc) => {
            build.compiler(mpicc);
        }
        None => {
            build.includes(&library.include_paths);
        }
    }
    build.compile("nabla_mpi_constants");
}
