//! Exact DeepLift and DeepLiftShap for transformers: completeness to float precision.
