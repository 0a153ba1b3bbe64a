"""Verilog generation from the IR, and synthesis reports."""
