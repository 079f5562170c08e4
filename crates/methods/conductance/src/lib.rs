//! Layer Conductance, Neuron Conductance and the all-layer sweep, as Captum defines them.
