//! Build script shared by every package that links libtorch (see `build = ...` in each
//! package's Cargo.toml).
//!
//! torch-sys sets no rpath, so binaries and test executables would not find
//! `libtorch_cpu.so` at run time. torch-sys declares `links = "tch"` and exports the libtorch
//! directory it linked against; a package that depends on torch-sys directly receives it as
//! `DEP_TCH_LIBTORCH_LIB`. We bake that directory (and the CUDA runtime folders the PyPI
//! wheel's libtorch needs beside it) into the package's own binaries, tests and examples.
//! `--disable-new-dtags` writes DT_RPATH, which the loader also uses for libtorch's own
//! dependencies.

use std::path::{Path, PathBuf};

fn main() {
    println!("cargo:rerun-if-env-changed=DEP_TCH_LIBTORCH_LIB");
    let Ok(lib) = std::env::var("DEP_TCH_LIBTORCH_LIB") else {
        println!("cargo:warning=torch-sys exported no libtorch directory; set LD_LIBRARY_PATH to run");
        return;
    };
    let lib = PathBuf::from(lib);
    if let Some(version) = libtorch_version(&lib) {
        // Recorded in reports' run metadata (option_env!("EXPLAINER_LIBTORCH_VERSION")).
        println!("cargo:rustc-env=EXPLAINER_LIBTORCH_VERSION={version}");
    }
    let mut dirs = vec![lib.clone()];
    // PyPI layout: <dir>/torch/lib beside <dir>/nvidia/{cuda_runtime,cuda_cupti}/lib.
    if let Some(site) = lib.parent().and_then(Path::parent) {
        for extra in ["nvidia/cuda_runtime/lib", "nvidia/cuda_cupti/lib"] {
            let dir = site.join(extra);
            if dir.is_dir() {
                dirs.push(dir);
            }
        }
    }
    println!("cargo:rustc-link-arg=-Wl,--disable-new-dtags");
    for dir in dirs {
        println!("cargo:rustc-link-arg=-Wl,-rpath,{}", dir.display());
    }
}

/// The version of the libtorch in `lib`'s parent: the PyPI wheel's `torch/version.py`
/// (`__version__ = '2.13.0+cu130'`) or a standalone download's `build-version`.
fn libtorch_version(lib: &Path) -> Option<String> {
    let root = lib.parent()?;
    if let Ok(text) = std::fs::read_to_string(root.join("version.py")) {
        let line = text.lines().find(|l| l.starts_with("__version__"))?;
        let version = line.split(['\'', '"']).nth(1)?;
        return Some(version.to_owned());
    }
    let text = std::fs::read_to_string(root.join("build-version")).ok()?;
    Some(text.trim().to_owned()).filter(|v| !v.is_empty() && !v.contains(char::is_whitespace))
}
