"""cocotb testbenches and the simulation runner."""
