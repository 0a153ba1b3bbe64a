"""The cocotb testbench: driver, monitors, reference model, scoreboard.

These modules run inside the simulator (imported by cocotb); the runner in
``encoder.verif.runner`` prepares their plan and reads their results.
"""
