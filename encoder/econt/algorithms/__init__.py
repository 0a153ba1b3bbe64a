"""The ECON-T chip's other algorithms, bit for bit: threshold sum, super trigger cells, best choice, repeater.

One module per job: ``codes`` (the chip's float codes and the bit packing of
a frame into 16-bit words), ``threshold_sum``, ``stc``, ``best_choice``,
``repeater`` (each: CALQ -> per-BX frames), ``buffer`` (the formatter
buffer with its thresholds T1/T2/T3, which truncates), ``run`` (the
configuration's algorithm select -> the chip's TX_DATA words), ``cli``
(``encoder econt run``) and ``unpack`` (the back end: the chip's words ->
the cells and codes each frame sent, for ``encoder.metrics.chip_baselines``).
docs/econt_algorithms.md describes the whole.

The rules are learnt from the ECON-T emulator (repository
cmantill/ECONT_Emulator: ASICBlocks/Algorithms.py, ASICBlocks/Formatter.py,
ASICBlocks/BufferBlock.py, ASICBlocks/supertriggercell.py, bestchoice.py,
Utils/linkAllocation.py, RunFromYamlInput.py) and the test-vector unpacker
(cmantill/econt_test-vectors: Utils/unpack_utils.py), and checked against
the emulator's output words for three configurations.
"""
