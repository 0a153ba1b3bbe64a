"""The chip's reset values: what a register holds when a configuration file leaves it out.

Source: the ECON-T I2C register map with default values of the chip's test
software, repository cmantill/econt_sw, file
econt_sw/zmq_i2c/reg_maps/ECON_I2C_params_regmap.yaml (commit 644f62dd8888,
the version with mask_ae split into mask_ae (16 bytes) and mask_ae2 (2 bytes),
as in AE/init.yaml). Each value below names its register and the ``value:``
the map gives it; bit fields are cut from their register's value with the
map's param_mask/param_shift. This is the prototype's (ECON-T-P1) map, the only
one with reset values found in public material; the other layouts take the
same values.
"""

from __future__ import annotations

from ..registers import N_CELLS

# FMTBUF_ALL.config (addr 0x03b0): value 0x25 -> eporttx_numen = (0x25 >> 4) & 0xf = 2,
# use_sum = (0x25 >> 2) & 1 = 1, stc_type = 0x25 & 3 = 1. The chip agrees: the public vectors'
# mcDataset/AE_8x8_c8_S2_ele_qkeras (cmantill/econt_test-vectors) leave eporttx_numen out and
# their output words fill 2 e-links (tests/data/econt/AE_8x8_c8_S2_ele_qkeras).
_FMTBUF_CONFIG = 0x25
N_ELINKS = (_FMTBUF_CONFIG >> 4) & 0x0F
USE_SUM = (_FMTBUF_CONFIG >> 2) & 0x01
STC_TYPE = _FMTBUF_CONFIG & 0x03
# FMTBUF_ALL.tx_sync_word: the map says value 0x070f, but the emulator's words for a configuration
# that leaves it out (cmantill/econt_test-vectors, counterPatternInTC/TS_Thr47_13eTx) carry idle
# words ending in 0x122, as do the shipped files that set 290 = 0x122: the vectors win.
TX_SYNC_WORD = 0x122
BUFF_T1 = 0x0030                    # FMTBUF_ALL.buff_t1: value 0x0030
BUFF_T2 = 0x01FF                    # FMTBUF_ALL.buff_t2: value 0x01ff
BUFF_T3 = 0x00                      # FMTBUF_ALL.buff_t3: value 0x00
MASK_AE = (1 << 128) - 1            # FMTBUF_ALL.mask_ae: value 0xffff_..._ffff (16 bytes)
MASK_AE2 = 0xFFFF                   # FMTBUF_ALL.mask_ae2: value 0xffff
MUX = list(range(N_CELLS))          # MFC_MUX_SELECT.mux_select_*: value [0, 1, ..., 47]
CAL = [2048] * N_CELLS              # MFC_CAL_VAL.cal_*: value [2048] * 48 (gain 1.0)
# MFC_ALGORITHM_SEL_DENSITY.algo: value 0x0 -> select = 0x0 & 7 = 0 (threshold sum),
# density = (0x0 >> 3) & 1 = 0 (low density).
ALGORITHM = 0
DENSITY = 0
THRESHOLDS = [0] * N_CELLS          # ALGO_THRESHOLD_VAL.threshold_val_*: value [0] * 48
DROP_LSB = 0x0                      # ALGO_DROPLSB.drop_lsb: value 0x0
# AUTOENCODER_*INPUT.weights_byte*: value 0x0. Not applied to a file that writes no weight
# image at all: a configuration for the autoencoder without weights is far more likely a
# damaged file than a wish to run all-zero weights, so import stops and says so.
WEIGHT = 0x0
