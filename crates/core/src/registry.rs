//! The `inventory` registries of methods and baselines.
//!
//! A plugin crate registers a config type with [`register_method!`](crate::register_method)
//! or [`register_baseline!`](crate::register_baseline), which implement the trait under its
//! typetag name and submit the registry entry in one place (the name, the capabilities and
//! the convergence delta are written once). By hand the same is a `#[typetag::serde(name =
//! "my-method")]` impl plus:
//!
//! ```ignore
//! inventory::submit! {
//!     explainer_core::MethodEntry {
//!         name: "my-method",
//!         summary: "One line saying what it does.",
//!         requires: Capabilities::of(&[Capability::LayerHooks]),
//!         has_convergence_delta: true,
//!         default_config: || Box::new(MyMethod::default()),
//!     }
//! }
//! ```
//!
//! The entry's `name` must equal the config type's typetag name, so that a config file naming
//! the method deserialises into it ([`check_registries`] checks it).
//!
//! Rust drops a crate nobody references at link time, and its entries with it: a binary or
//! test that needs a plugin must name it, e.g. `use explainer_deeplift as _;` (the facade
//! crate `explainer` does this for every plugin its features enable).

use serde_json::Value;

use crate::{Baseline, Capabilities, Error, Method, Result};

/// A registered attribution method.
#[derive(Debug)]
pub struct MethodEntry {
    /// The registry name; also the config's typetag name.
    pub name: &'static str,
    /// One line saying what the method computes.
    pub summary: &'static str,
    /// What the model must offer.
    pub requires: Capabilities,
    /// Whether results carry a convergence delta.
    pub has_convergence_delta: bool,
    /// The method with its default configuration.
    pub default_config: fn() -> Box<dyn Method>,
}

inventory::collect!(MethodEntry);

/// A registered baseline provider.
#[derive(Debug)]
pub struct BaselineEntry {
    /// The registry name; also the config's typetag name.
    pub name: &'static str,
    /// One line saying what reference it builds.
    pub summary: &'static str,
    /// What the model must offer.
    pub requires: Capabilities,
    /// The baseline with its default configuration.
    pub default_config: fn() -> Box<dyn Baseline>,
}

inventory::collect!(BaselineEntry);

/// Every registered method, sorted by name.
pub fn methods() -> Vec<&'static MethodEntry> {
    let mut all: Vec<_> = inventory::iter::<MethodEntry>.into_iter().collect();
    all.sort_by_key(|e| e.name);
    all
}

/// Every registered baseline, sorted by name.
pub fn baselines() -> Vec<&'static BaselineEntry> {
    let mut all: Vec<_> = inventory::iter::<BaselineEntry>.into_iter().collect();
    all.sort_by_key(|e| e.name);
    all
}

/// The method registered as `name`; an unknown name is an error listing the known ones.
pub fn method(name: &str) -> Result<&'static MethodEntry> {
    let all = methods();
    all.iter()
        .find(|e| e.name == name)
        .copied()
        .ok_or_else(|| Error::unknown_name("method", name, all.iter().map(|e| e.name.to_owned()).collect()))
}

/// The baseline registered as `name`; an unknown name is an error listing the known ones.
pub fn baseline(name: &str) -> Result<&'static BaselineEntry> {
    let all = baselines();
    all.iter()
        .find(|e| e.name == name)
        .copied()
        .ok_or_else(|| Error::unknown_name("baseline", name, all.iter().map(|e| e.name.to_owned()).collect()))
}

impl MethodEntry {
    /// The method configured by `options` (a JSON object of its config fields; missing
    /// fields take their defaults where the config allows).
    pub fn configure(&self, options: Value) -> Result<Box<dyn Method>> {
        let tagged = tag("method", self.name, options)?;
        let method: Box<dyn Method> = serde_json::from_value(tagged)
            .map_err(|e| Error::InvalidConfig(format!("method {:?}: {e}", self.name)))?;
        method.validate()?;
        Ok(method)
    }
}

impl BaselineEntry {
    /// The baseline configured by `options` (a JSON object of its config fields).
    pub fn configure(&self, options: Value) -> Result<Box<dyn Baseline>> {
        let tagged = tag("baseline", self.name, options)?;
        serde_json::from_value(tagged)
            .map_err(|e| Error::InvalidConfig(format!("baseline {:?}: {e}", self.name)))
    }
}

fn tag(field: &str, name: &str, options: Value) -> Result<Value> {
    let mut map = match options {
        Value::Null => serde_json::Map::new(),
        Value::Object(map) => map,
        other => {
            return Err(Error::InvalidConfig(format!(
                "{field} {name:?}: options must be an object of fields, not {other}"
            )));
        }
    };
    map.insert(field.to_owned(), Value::String(name.to_owned()));
    Ok(Value::Object(map))
}

/// Checks the registries' invariants: no name registered twice, and every entry's default
/// config serialises under the entry's name. Returns one line per problem.
pub fn check_registries() -> Vec<String> {
    let mut problems = Vec::new();
    let method_names: Vec<&str> = methods().iter().map(|e| e.name).collect();
    let baseline_names: Vec<&str> = baselines().iter().map(|e| e.name).collect();
    for (kind, names) in [("method", &method_names), ("baseline", &baseline_names)] {
        for pair in names.windows(2) {
            if pair[0] == pair[1] {
                problems.push(format!("{kind} {:?} is registered twice", pair[0]));
            }
        }
    }
    for entry in methods() {
        let config = (entry.default_config)();
        if config.typetag_name() != entry.name {
            problems.push(format!(
                "method {:?} has a config whose typetag name is {:?}",
                entry.name,
                config.typetag_name()
            ));
        }
        if config.requires() != entry.requires {
            problems
                .push(format!("method {:?}: the entry and the config declare different needs", entry.name));
        }
    }
    for entry in baselines() {
        let config = (entry.default_config)();
        if config.typetag_name() != entry.name {
            problems.push(format!(
                "baseline {:?} has a config whose typetag name is {:?}",
                entry.name,
                config.typetag_name()
            ));
        }
    }
    problems
}

/// Registers an attribution method: implements [`Method`] for a config type under its
/// registry (= typetag) name and submits its [`MethodEntry`], so that the name, the needed
/// capabilities and whether results carry a convergence delta are declared once.
///
/// The config type must implement `Default` (the registry's default config; give
/// `default: expr,` to use another), `Serialize`, `Deserialize` and `Debug`. The `impl { … }`
/// block holds the rest of the [`Method`] impl: `explain`, and optionally `claims` and
/// `validate`. The calling crate needs `typetag` and `serde` as dependencies (typetag's
/// generated code names them).
///
/// ```
/// use explainer_core::{Attribution, Model, Request, Result};
/// use serde::{Deserialize, Serialize};
///
/// /// Explains nothing (a doc example).
/// #[derive(Debug, Default, Serialize, Deserialize)]
/// pub struct Nothing {}
///
/// explainer_core::register_method! {
///     name: "doc-nothing",
///     config: Nothing,
///     summary: "Explains nothing.",
///     requires: [Forward],
///     convergence_delta: false,
///     impl {
///         fn explain(&self, _: &dyn Model, _: &Request<'_>) -> Result<Vec<Attribution>> {
///             Ok(Vec::new())
///         }
///     }
/// }
///
/// let entry = explainer_core::registry::method("doc-nothing")?;
/// assert_eq!(entry.summary, "Explains nothing.");
/// assert!(explainer_core::registry::check_registries().is_empty());
/// # Ok::<(), explainer_core::Error>(())
/// ```
///
/// `name:` is a string literal or a `&'static str` constant (e.g. `MyMethod::NAME`).
/// `convergence_delta:` is the registry's flag (a constant, true or false). When whether a
/// result carries a delta depends on the configuration, add `config_delta: |config| expr,`
/// after it: `has_convergence_delta` then evaluates `expr` with `config` bound to `&self`,
/// and `convergence_delta:` should be its value for the default config:
///
/// ```
/// use explainer_core::{Attribution, Method, Model, Request, Result};
/// use serde::{Deserialize, Serialize};
///
/// /// Explains nothing, with or without a delta (a doc example).
/// #[derive(Debug, Serialize, Deserialize)]
/// pub struct Maybe {
///     delta: bool,
/// }
///
/// impl Maybe {
///     /// The registry name.
///     pub const NAME: &'static str = "doc-maybe";
/// }
///
/// explainer_core::register_method! {
///     name: Maybe::NAME,
///     config: Maybe,
///     summary: "Explains nothing.",
///     requires: [],
///     convergence_delta: true,
///     config_delta: |config| config.delta,
///     default: Maybe { delta: true },
///     impl {
///         fn explain(&self, _: &dyn Model, _: &Request<'_>) -> Result<Vec<Attribution>> {
///             Ok(Vec::new())
///         }
///     }
/// }
///
/// let entry = explainer_core::registry::method("doc-maybe")?;
/// assert!(entry.has_convergence_delta && (entry.default_config)().has_convergence_delta());
/// assert!(!entry.configure(serde_json::json!({"delta": false}))?.has_convergence_delta());
/// # Ok::<(), explainer_core::Error>(())
/// ```
#[macro_export]
macro_rules! register_method {
    (
        name: $name:expr,
        config: $config:ty,
        summary: $summary:expr,
        requires: [$($capability:ident),* $(,)?],
        convergence_delta: $delta:expr,
        $(config_delta: |$this:ident| $per_config:expr,)?
        $(default: $default:expr,)?
        impl { $($body:tt)* } $(,)?
    ) => {
        #[typetag::serde(name = $name)]
        impl $crate::Method for $config {
            fn requires(&self) -> $crate::Capabilities {
                $crate::Capabilities::of(&[$($crate::Capability::$capability),*])
            }

            fn has_convergence_delta(&self) -> bool {
                $crate::__convergence_delta!(self, $delta $(, |$this| $per_config)?)
            }

            $($body)*
        }

        $crate::inventory::submit! {
            $crate::MethodEntry {
                name: $name,
                summary: $summary,
                requires: $crate::Capabilities::of(&[$($crate::Capability::$capability),*]),
                has_convergence_delta: $delta,
                default_config: $crate::__default_config!($config $(, $default)?),
            }
        }
    };
}

/// Registers a baseline provider: implements [`Baseline`] for a config type under its
/// registry (= typetag) name and submits its [`BaselineEntry`]; see
/// [`register_method!`](crate::register_method) for the requirements on the type.
///
/// ```
/// use explainer_core::{Encoding, Model, Reference, Result};
/// use serde::{Deserialize, Serialize};
///
/// /// The input itself as its own reference (a doc example).
/// #[derive(Debug, Default, Serialize, Deserialize)]
/// pub struct Itself {}
///
/// explainer_core::register_baseline! {
///     name: "doc-itself",
///     config: Itself,
///     summary: "The input itself.",
///     requires: [],
///     impl {
///         fn references(&self, _: &dyn Model, input: &Encoding) -> Result<Vec<Reference>> {
///             Ok(vec![Reference::Ids(input.ids.clone())])
///         }
///     }
/// }
///
/// assert_eq!(explainer_core::registry::baseline("doc-itself")?.summary, "The input itself.");
/// # Ok::<(), explainer_core::Error>(())
/// ```
#[macro_export]
macro_rules! register_baseline {
    (
        name: $name:expr,
        config: $config:ty,
        summary: $summary:expr,
        requires: [$($capability:ident),* $(,)?],
        $(default: $default:expr,)?
        impl { $($body:tt)* } $(,)?
    ) => {
        #[typetag::serde(name = $name)]
        impl $crate::Baseline for $config {
            fn requires(&self) -> $crate::Capabilities {
                $crate::Capabilities::of(&[$($crate::Capability::$capability),*])
            }

            $($body)*
        }

        $crate::inventory::submit! {
            $crate::BaselineEntry {
                name: $name,
                summary: $summary,
                requires: $crate::Capabilities::of(&[$($crate::Capability::$capability),*]),
                default_config: $crate::__default_config!($config $(, $default)?),
            }
        }
    };
}

/// The `default_config` function of a registry entry (an implementation detail of the
/// registration macros).
#[doc(hidden)]
#[macro_export]
macro_rules! __default_config {
    ($config:ty) => {
        || ::std::boxed::Box::new(<$config as ::std::default::Default>::default())
    };
    ($config:ty, $default:expr) => {
        || ::std::boxed::Box::new($default)
    };
}

/// The body of a registered method's `has_convergence_delta` (an implementation detail of
/// [`register_method!`](crate::register_method)): the registry's flag, or the per-config
/// expression when one is given.
#[doc(hidden)]
#[macro_export]
macro_rules! __convergence_delta {
    ($self:ident, $delta:expr) => {
        $delta
    };
    ($self:ident, $delta:expr, |$this:ident| $per_config:expr) => {{
        let $this = $self;
        $per_config
    }};
}
