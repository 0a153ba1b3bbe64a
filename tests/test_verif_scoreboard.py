"""The in-order scoreboard and reference model on hand-made transactions (no simulator)."""

from pathlib import Path

import numpy as np

from encoder import golden
from encoder.econt.framing import bx_counter_field, frame_words
from encoder.ir import load_ir
from encoder.verif.tb.model import FrameSpec, ReferenceModel
from encoder.verif.tb.monitor import FrameTxn, InputTxn, OutputTxn
from encoder.verif.tb.scoreboard import FrameScoreboard, Scoreboard

DATA = Path(__file__).parent / "data" / "verif"
A = load_ir(DATA / "tiny_a.json")
B = load_ir(DATA / "tiny_b.json")
COUNTS = [[3, 1, 0, 0], [200, 17, 9, 255], [0, 0, 0, 0], [1, 2, 3, 4], [90, 0, 80, 7]]


def _board(latency=2, sync=True):
    model = ReferenceModel([A, B])
    return model, Scoreboard(model, latency, sync)


def _golden(ir, counts):
    res = golden.run(ir, counts=np.array([counts]))
    return [int(v) for v in res.latents[0]], int(res.sum_code[0])


def test_outputs_in_order_with_the_stated_latency_all_match():
    model, board = _board()
    for k, c in enumerate(COUNTS):
        model.write(InputTxn(10 + k, c))
        board.observe(OutputTxn(12 + k, *_golden(A, c)))
    board.check(now=100, final=True)
    assert board.checked == len(COUNTS) == board.matched and board.errors == 0
    assert dict(board.latency_seen) == {2: len(COUNTS)}


def test_hand_worked_vector_matches_reference():
    # counts [3, 1, 0, 0]: sum 4, m 2, inputs u4.3: [6, 2, 0, 0]; dense weights [[7,-3],[5,6],...], biases [3,-2]
    # out0 = 6*7 + 2*5 + (3 << 3) = 76 (frac 5) -> 9.5 LSB of u5.2 -> half to even: 10
    # out1 = 6*-3 + 2*6 + (-2 << 3) = -22 -> ReLU 0; sum 4 -> code 4
    model, board = _board()
    model.write(InputTxn(0, [3, 1, 0, 0]))
    model.compute()
    e = model.expected[0]
    assert e.latents == [10, 0] and e.sum_code == 4


def test_wrong_data_and_wrong_latency_are_reported_with_their_cycles():
    model, board = _board()
    lat0, sc0 = _golden(A, COUNTS[0])
    lat1, sc1 = _golden(A, COUNTS[1])
    model.write(InputTxn(5, COUNTS[0]))
    model.write(InputTxn(6, COUNTS[1]))
    board.observe(OutputTxn(7, [lat0[0] ^ 1, lat0[1]], sc0))   # one latent bit flipped
    board.observe(OutputTxn(9, lat1, sc1))                    # right data, one cycle late
    board.check(now=50, final=True)
    kinds = [(m["cycle_in"], m["cycle_out"], m["what"]) for m in board.mismatches]
    assert kinds == [(5, 7, "data"), (6, 9, "latency")]
    assert board.mismatches[0]["expected"]["latents"] == lat0


def test_synchronous_reset_drops_only_the_inputs_still_in_flight():
    # latency 2, reset first seen at cycle 20: inputs sampled at 18 (output at 20, before the
    # reset edge) survives; 19 (output due at 21) is flushed.
    model, board = _board()
    for k in (17, 18, 19):
        model.write(InputTxn(k, COUNTS[k - 17]))
    board.on_reset(20)
    board.observe(OutputTxn(19, *_golden(A, COUNTS[0])))
    board.observe(OutputTxn(20, *_golden(A, COUNTS[1])))
    model.write(InputTxn(25, COUNTS[3]))
    board.observe(OutputTxn(27, *_golden(A, COUNTS[3])))
    board.check(now=40, final=True)
    assert [e.cycle for e in board.flushed] == [19]
    assert board.errors == 0 and board.checked == 3


def test_asynchronous_reset_also_drops_the_output_due_at_the_reset_cycle():
    model, board = _board(sync=False)
    for k in (18, 19):
        model.write(InputTxn(k, COUNTS[k - 18]))
    board.on_reset(20)
    board.check(now=40, final=True)
    assert [e.cycle for e in board.flushed] == [18, 19] and board.errors == 0


def test_stale_output_after_reset_is_an_error():
    model, board = _board()
    model.write(InputTxn(19, COUNTS[0]))
    board.on_reset(20)
    board.observe(OutputTxn(24, *_golden(A, COUNTS[0])))      # came out although flushed
    board.check(now=40, final=True)
    assert len(board.unexpected) == 1 and board.errors == 1


def test_missing_output_is_an_error_only_at_the_final_check():
    model, board = _board()
    model.write(InputTxn(3, COUNTS[2]))
    board.check(now=10)
    assert board.errors == 0
    board.check(now=10, final=True)
    assert len(board.missing) == 1


def test_inputs_are_checked_against_the_model_loaded_when_they_went_in():
    model, board = _board()
    model.write(InputTxn(1, COUNTS[1]))
    model.active = 1
    model.write(InputTxn(30, COUNTS[1]))
    a, b = _golden(A, COUNTS[1]), _golden(B, COUNTS[1])
    assert a != b                                    # the two weight sets disagree on this vector
    board.observe(OutputTxn(3, *a))
    board.observe(OutputTxn(32, *b))
    board.check(now=60, final=True)
    assert board.errors == 0 and board.matched == 2


# ---- e-link frames (designs with the framing block) ----------------------------------------------

SPEC = FrameSpec(elinks=2, mask=(1 << 10) - 1, latent_bits=5, sum_code_bits=9)


def _frame(ir, counts, bx_field, spec=SPEC):
    """The frame as encoder.econt.framing lays it out (the chip-checked spec), as one integer."""
    lat, sc = _golden(ir, counts)
    words = frame_words(np.array([lat]), [sc], [bx_field], spec.elinks, spec.mask, spec.latent_bits,
                        spec.sum_code_bits)[0]
    return (int(words[0]) << 32) | int(words[1])


def _frame_board(latency=3):
    model = ReferenceModel([A, B], frames=SPEC)
    return model, FrameScoreboard(model, latency, SPEC.elinks)


def test_bx_field_follows_the_chip_counter_and_restarts_at_the_design_reset():
    # 40 BXs with counter resets at 0, 7 and 30: the chip's semantics are framing.bx_counter_field
    # (counts past 15 wrap); a design reset at BX 40 restarts at 0 without sending 31.
    model = ReferenceModel([A], frames=SPEC)
    resets = {0, 7, 30}
    for bx in range(40):
        model.write(InputTxn(bx, COUNTS[bx % 5], int(bx in resets)))
    model.on_reset(50)
    model.on_run(55)                     # the first cycle out of reset is BX 0
    for k in range(3):
        model.write(InputTxn(55 + k, COUNTS[k]))
    model.compute()
    fields = [f.bx_field for f in model.frames]
    assert fields[:40] == bx_counter_field(40, sorted(resets)).tolist()
    assert fields[:10] == [31, 1, 2, 3, 4, 5, 6, 31, 1, 2] and fields[29:33] == [6, 31, 1, 2]
    assert fields[40:] == [0, 1, 2]


def test_bx_field_counts_idle_crossings_and_bx_resets_without_data():
    # One crossing per cycle: data at cycles 0, 5, 9, 10 (bx_reset), 11, 30, 33 with a bx_reset
    # alone at cycle 6 and at 31, 32; fields worked out by hand. A counter of data crossings only
    # would send 0, 1, 2, 31, 1, 2, 3.
    model = ReferenceModel([A], frames=SPEC)
    model.on_run(0)
    data = {0: 0, 5: 0, 9: 0, 10: 1, 11: 0, 30: 0, 33: 0}
    for c in range(34):
        if c in (6, 31, 32):
            model.on_bx_reset(c)
        if c in data:
            model.write(InputTxn(c, COUNTS[c % 5], data[c]))
    model.compute()
    assert [f.bx_field for f in model.frames] == [0, 5, 3, 31, 1, 4, 1]


def test_bx_field_with_crossings_of_three_cycles():
    # --reuse 3: a crossing every 3 cycles from the end of reset, and from each bx_reset (which starts
    # one, sending 31 to its end). Data at 0, 4, 9, 14, 17, 23, 26 (bx_reset), 29, 80; a bx_reset
    # alone at 13. By hand: 0, 1, 3, 31 (14 is in the crossing 13 started), 1, 3, 31, 1, (80-26)//3 = 18 -> 2.
    spec = FrameSpec(elinks=2, mask=(1 << 10) - 1, latent_bits=5, sum_code_bits=9, crossing=3)
    model = ReferenceModel([A], frames=spec)
    model.on_run(0)
    for c in (0, 4, 9, 13, 14, 17, 23, 26, 29, 80):
        if c == 13:
            model.on_bx_reset(c)
        else:
            model.write(InputTxn(c, COUNTS[c % 5], int(c == 26)))
    model.compute()
    assert [f.bx_field for f in model.frames] == [0, 1, 3, 31, 1, 3, 31, 1, 2]


def test_frames_in_order_at_the_tx_latency_match_the_framed_golden_outputs():
    model, board = _frame_board()
    for k, c in enumerate(COUNTS):
        model.write(InputTxn(10 + k, c, int(k == 0)))
        board.observe(FrameTxn(13 + k, _frame(A, c, 31 if k == 0 else k)))
    board.check(now=100, final=True)
    assert board.checked == len(COUNTS) == board.matched and board.errors == 0


def test_wrong_frame_bit_bx_field_and_latency_are_frame_mismatches():
    model, board = _frame_board()
    for k in range(3):
        model.write(InputTxn(5 + k, COUNTS[k], int(k == 0)))
    board.observe(FrameTxn(8, _frame(A, COUNTS[0], 31) ^ 1))            # lowest latent bit of e-link 1
    board.observe(FrameTxn(9, _frame(A, COUNTS[1], 2)))                 # BX counter one ahead
    board.observe(FrameTxn(9 + 2, _frame(A, COUNTS[2], 2)))             # right frame, one cycle late
    board.check(now=50, final=True)
    got = [(m["stream"], m["cycle_in"], m["what"]) for m in board.mismatches]
    assert got == [("frame", 5, "data"), ("frame", 6, "data"), ("frame", 7, "latency")]
    assert board.mismatches[1]["expected"]["bx_field"] == 1
    assert board.mismatches[0]["got"]["tx_data"][1] == f"{_frame(A, COUNTS[0], 31) & 0xFFFFFFFF ^ 1:08x}"


def test_reset_flushes_frames_one_cycle_longer_than_latents():
    # Latents latency 2, frames 3; reset first seen at cycle 20: the input of cycle 18 still gives
    # latents (at 20) but its frame (due at 21) is flushed.
    model = ReferenceModel([A], frames=SPEC)
    lat_board, frame_board = Scoreboard(model, 2), FrameScoreboard(model, 3, SPEC.elinks)
    model.write(InputTxn(17, COUNTS[0], 1))
    model.write(InputTxn(18, COUNTS[1]))
    for b in (lat_board, frame_board):
        b.on_reset(20)
    model.on_reset(20)
    lat_board.observe(OutputTxn(19, *_golden(A, COUNTS[0])))
    lat_board.observe(OutputTxn(20, *_golden(A, COUNTS[1])))
    frame_board.observe(FrameTxn(20, _frame(A, COUNTS[0], 31)))
    for b in (lat_board, frame_board):
        b.check(now=40, final=True)
    assert lat_board.errors == 0 and lat_board.checked == 2 and not lat_board.flushed
    assert frame_board.errors == 0 and frame_board.checked == 1 and [e.cycle for e in frame_board.flushed] == [18]
