//! `cargo run -p explainer-example-notebook [OUT_DIR]`: the seed notebook's cells, printed.

fn main() {
    let out = std::env::args().nth(1).map(std::path::PathBuf::from).unwrap_or_else(std::env::temp_dir);
    match explainer_example_notebook::run(&explainer_example_notebook::model_dir(), &out) {
        Ok(cells) => {
            for (i, cell) in cells.iter().enumerate() {
                println!("In [{}]: {}\nOut[{}]: {}\n", i + 1, cell.code, i + 1, cell.output);
            }
        }
        Err(e) => {
            eprintln!("notebook: {e}");
            std::process::exit(1);
        }
    }
}
