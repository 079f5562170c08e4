//! Where a model computes: `cpu`, `cuda` or `cuda:N`, parsed and checked before anything is
//! loaded, so a missing GPU is one clear error instead of a libtorch failure mid-run.

use tch::Device;

use crate::{Error, Result};

/// Parses `cpu`, `cuda` (the first GPU) or `cuda:N`.
pub fn parse(text: &str) -> Result<Device> {
    let text = text.trim();
    match text {
        "cpu" => return Ok(Device::Cpu),
        "cuda" => return Ok(Device::Cuda(0)),
        _ => {}
    }
    if let Some(index) = text.strip_prefix("cuda:") {
        if let Ok(n) = index.parse::<usize>() {
            return Ok(Device::Cuda(n));
        }
    }
    Err(Error::InvalidConfig(format!("unknown device {text:?}: use cpu, cuda or cuda:N (N = 0, 1, …)")))
}

/// The name [`parse`] reads back: `cpu`, `cuda:N`, `mps` or `vulkan`.
pub fn name(device: Device) -> String {
    match device {
        Device::Cpu => "cpu".into(),
        Device::Cuda(n) => format!("cuda:{n}"),
        Device::Mps => "mps".into(),
        Device::Vulkan => "vulkan".into(),
    }
}

/// Fails unless libtorch can compute on `device`: the CPU always can; `cuda:N` needs a libtorch
/// built with CUDA, its CUDA libraries, and at least N + 1 visible GPUs.
pub fn check(device: Device) -> Result<()> {
    match device {
        Device::Cpu => Ok(()),
        Device::Cuda(n) => {
            if !tch::Cuda::is_available() {
                return Err(Error::InvalidConfig(format!(
                    "device cuda:{n}: libtorch sees no CUDA GPU (no GPU on this machine, no driver, or the CUDA \
                     libraries are missing: install them with `EXPLAINER_CUDA=1 bash scripts/libtorch.sh`); use --device cpu"
                )));
            }
            let count = tch::Cuda::device_count().max(0) as usize;
            if n >= count {
                return Err(Error::InvalidConfig(format!(
                    "device cuda:{n}: only {count} CUDA GPU(s) are visible (cuda:0 … cuda:{})",
                    count.saturating_sub(1)
                )));
            }
            Ok(())
        }
        other => {
            Err(Error::InvalidConfig(format!("device {}: only cpu and cuda:N are supported", name(other))))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for text in ["cpu", "cuda:0", "cuda:3"] {
            assert_eq!(name(parse(text).unwrap()), text);
        }
        assert_eq!(parse("cuda").unwrap(), Device::Cuda(0));
    }

    #[test]
    fn bad_names_are_clear_errors() {
        for text in ["gpu", "cuda:", "cuda:-1", "cuda:x", ""] {
            let message = parse(text).unwrap_err().to_string();
            assert!(message.contains("use cpu, cuda or cuda:N"), "{text}: {message}");
        }
    }

    #[test]
    fn the_cpu_is_always_there() {
        check(Device::Cpu).unwrap();
        if !tch::Cuda::is_available() {
            let message = check(Device::Cuda(0)).unwrap_err().to_string();
            assert!(message.contains("sees no CUDA GPU"), "{message}");
        }
    }
}
