//! A binary that links the leave-one-out plugin and lists the registered methods, as
//! `explainer methods` does for the built-in ones: one line per method, its name, what it
//! needs and its summary.
//!
//! ```sh
//! cargo run -p explainer-example-custom-method --bin custom-method-registry
//! ```

// Name the plugin crate, or the linker drops it and its registry entry with it.
use explainer_example_custom_method as _;

fn main() {
    let methods = explainer_core::registry::methods();
    if methods.is_empty() {
        println!("no attribution methods are registered");
    }
    for entry in methods {
        println!("{}\t{}\t{}", entry.name, entry.requires, entry.summary);
    }
}
