"""Other chip configurations: the kit follows the chip's rules, not the one configuration it was shown.

The given init.yaml gets new weights (random 6-bit codes, extremes that drive
the dense clamp to 511 and to 0, all-zero weights), low density and uneven
calibration; it goes through `encoder econt export` and `import`, then the
golden model runs on `decode-input` of eRx words (real rows plus sparse,
single-cell and full-scale ones). An independent per-module implementation
of the chip's arithmetic, written below with loops and plain ints from the
ECON-T vectors' README, must agree on every latent, sum code and frame.
"""

import json
from pathlib import Path

import numpy as np
import pytest
import yaml

from encoder import golden
from encoder.cli import main
from encoder.data import load_data
from encoder.ir import load_ir
from encoder.ir import EncoderIR, save_ir
from encoder.ir.schema import infer_accumulators

DATA = Path(__file__).parent / "data" / "econt"
INIT = DATA / "AE" / "init.yaml"


def run(*argv):
    assert main([str(a) for a in argv]) == 0


# -- the chip, one module at a time, from the README ------------------------------

def ref_decode(code, density):
    e, m = code >> 3, code & 7
    d = m if e == 0 else (8 + m) << (e - 1)
    b = 3 if density == 1 else 1
    d <<= b
    s = max(e - 1, 0) + b
    if s > 0:
        d += 1 << (s - 1)
    return d


def ref_module(words, density, mux, cal, cw, cb, dw, db):
    """eRx words of one BX -> (16 latents, sum code). cw[ky][kx][f], dw[j][i] as the README indexes them."""
    codes = [(words[g] >> (7 * k)) & 127 for g in range(12) for k in range(4)]
    dec = [ref_decode(c, density) for c in codes]
    calq = [(dec[mux[i]] * cal[i]) >> 11 for i in range(48)]
    s = sum(calq)
    m = s.bit_length() - 1 if s > 0 else 0
    x = [(q << 7) >> m for q in calq]
    img = [[0] * 9 for _ in range(9)]          # one zero row and column at the bottom/right
    for r in range(8):
        for c in range(8):
            if r < 4:
                img[r][c] = x[8 * r + c]
            elif c < 4:
                img[r][c] = x[32 + 4 * (r - 4) + c]
    h = [0] * 128
    for R in range(4):
        for C in range(4):
            for f in range(8):
                acc = 0
                for ky in range(3):
                    for kx in range(3):
                        acc += (img[2 * R + ky][2 * C + kx] * cw[ky][kx][f]) >> 5
                acc += cb[f] * 4
                h[(R * 4 + C) * 8 + f] = max(acc, 0)
    out = []
    for j in range(16):
        acc = sum((h[i] * dw[j][i]) >> 4 for i in range(128)) + db[j] * 8
        out.append(min(max(acc, 0), 511))
    if s < 16:
        code = s
    else:
        n = s.bit_length()
        code = 511 if n - 4 > 31 else ((n - 4) << 4) | ((s >> (n - 5)) & 15)
    return out, code


# -- configurations -----------------------------------------------------------

def weight_sets():
    rng = np.random.default_rng(2024)
    rand = dict(conv_w=rng.integers(-32, 32, (3, 3, 1, 8)), conv_b=rng.integers(-32, 32, 8),
                dense_w=rng.integers(-32, 32, (128, 16)), dense_b=rng.integers(-32, 32, 16))
    ext = {k: v.copy() for k, v in rand.items()}
    ext["conv_w"][:, :, :, :4] = 31          # filters 0-3 see every input positively
    ext["conv_b"][:4] = 31
    ext["dense_w"][:, 0], ext["dense_b"][0] = 31, 31          # latent 0: clamps at 511
    ext["dense_w"][:, 1], ext["dense_b"][1] = -32, -32        # latent 1: ReLU gives 0
    ext["dense_w"][:, 2], ext["dense_b"][2] = 31, -32
    low = dict(conv_w=rng.integers(-1, 2, (3, 3, 1, 8)), conv_b=rng.integers(-1, 2, 8),
               dense_w=rng.integers(-1, 2, (128, 16)), dense_b=rng.integers(0, 2, 16))
    zero = dict(conv_w=np.zeros((3, 3, 1, 8), int), conv_b=np.zeros(8, int),
                dense_w=np.zeros((128, 16), int), dense_b=np.arange(-8, 24, 2))
    return {"random": rand, "extremes": ext, "low_bits": low, "zero": zero}


def erx_rows(rng):
    """Real rows plus sparse, single-cell, empty and full-scale ones."""
    real = (DATA / "testInput.csv").read_text().splitlines()[1:121]
    words = [[int(w, 16) for w in line.split(",")] for line in real]

    def pack(codes):
        return [0xA << 28 | sum(codes[4 * g + k] << (7 * k) for k in range(4)) for g in range(12)]

    for _ in range(40):
        codes = [0] * 48
        for i in rng.choice(48, int(rng.integers(1, 4)), replace=False):
            codes[i] = int(rng.integers(1, 128))
        words.append(pack(codes))                             # sparse: small sums, large single inputs
    words.append(pack([0] * 48))                              # empty module
    words.append(pack([127] * 48))                            # full scale: sum above 2^22
    words.append(pack([127] + [0] * 47))                      # one cell holds (almost) the whole sum
    for _ in range(20):
        words.append(pack([int(v) for v in rng.integers(0, 128, 48)]))
    return words


@pytest.fixture(scope="module")
def configured(tmp_path_factory):
    d = tmp_path_factory.mktemp("econt_other")
    rng = np.random.default_rng(11)
    run("econt", "import", INIT, "--out", d / "chip.json")
    base = json.loads((d / "chip.json").read_text())
    rows = erx_rows(rng)
    src = d / "in.csv"
    src.write_text(",".join(f"RX_DATA_{g}" for g in range(12)) + "\n" +
                   "\n".join(",".join(f"{w:08x}" for w in r) for r in rows) + "\n")
    mux = [int(v) for v in rng.permutation(48)]
    mux[5] = mux[6]                                            # the mux may also repeat an input
    cal = [int(v) for v in rng.integers(0, 4096, 48)]
    out = {}
    for name, w in weight_sets().items():
        doc = json.loads(json.dumps(base))
        doc.pop("hash")
        doc["layers"][0]["weight"]["values"] = [int(v) for v in w["conv_w"].ravel()]
        doc["layers"][0]["bias"]["values"] = [int(v) for v in w["conv_b"]]
        doc["layers"][2]["weight"]["values"] = [int(v) for v in w["dense_w"].ravel()]
        doc["layers"][2]["bias"]["values"] = [int(v) for v in w["dense_b"]]
        for i in (0, 2):     # wide enough for any weights; interval analysis then fits them to these
            doc["layers"][i]["accumulator"]["bits"] = 48
        ir = EncoderIR.from_dict(doc)
        infer_accumulators(ir)
        save_ir(ir, d / f"{name}.json")
        run("econt", "export", d / f"{name}.json", "--out", d / f"{name}.yaml", "--density", "low",
            "--elinks", "2", "--mux", ",".join(map(str, mux)), "--layout", "rw")
        cfg = yaml.safe_load((d / f"{name}.yaml").read_text())
        cfg["ECON-T"]["RW"]["MFC_CAL_VAL"]["registers"]["cal_*"]["value"] = cal
        (d / f"{name}.yaml").write_text(yaml.safe_dump(cfg))
        run("econt", "import", d / f"{name}.yaml", "--out", d / f"{name}_chip.json")
        run("econt", "decode-input", src, "--config", d / f"{name}.yaml", "--ir", d / f"{name}_chip.json",
            "--out", d / f"{name}.npz")
        run("golden", d / f"{name}_chip.json", "--data", d / f"{name}.npz", "--out", d / f"{name}_lat.npz")
        run("econt", "frames", d / f"{name}_lat.npz", "--config", d / f"{name}.yaml", "--data", d / f"{name}.npz",
            "--out", d / f"{name}_out.csv")
        out[name] = dict(weights=w, rows=rows, mux=mux, cal=cal, dir=d)
    return out


@pytest.mark.parametrize("name", ["random", "extremes", "low_bits", "zero"])
def test_export_import_keeps_the_weights(configured, name):
    c = configured[name]
    conv, _, dense = load_ir(c["dir"] / f"{name}_chip.json").layers
    w = c["weights"]
    assert np.array_equal(conv.weight, w["conv_w"]) and np.array_equal(conv.bias, w["conv_b"])
    assert np.array_equal(dense.weight, w["dense_w"]) and np.array_equal(dense.bias, w["dense_b"])


@pytest.mark.parametrize("name", ["random", "extremes", "low_bits", "zero"])
def test_golden_model_equals_an_independent_per_module_implementation(configured, name):
    c = configured[name]
    w = c["weights"]
    cw = w["conv_w"][:, :, 0, :].tolist()
    dw = w["dense_w"].T.tolist()
    ref = [ref_module(r, 0, c["mux"], c["cal"], cw, w["conv_b"].tolist(), dw, w["dense_b"].tolist())
           for r in c["rows"]]
    ref_lat = np.array([r[0] for r in ref])
    ref_sum = np.array([r[1] for r in ref])
    ir = load_ir(c["dir"] / f"{name}_chip.json")
    res = golden.run(ir, load_data(c["dir"] / f"{name}.npz").charges)
    assert np.array_equal(res.latents, ref_lat)
    assert np.array_equal(res.sum_code, ref_sum)
    if name == "extremes":
        # the configuration exercises what the vectors do not: the clamp at 511, ReLU to 0,
        # inputs of 1.0 or more, module sums below 128 and at 2^22 or more
        assert (ref_lat[:, 0] == 511).sum() > 100 and (ref_lat[:, 1] == 0).all()
        assert res.input_codes.max() >= 128
        assert res.module_sum.min() < 128 and res.module_sum.max() >= 1 << 22


@pytest.mark.parametrize("name", ["random", "extremes"])
def test_two_elink_frames_carry_the_low_50_latent_bits(configured, name):
    c = configured[name]
    with np.load(c["dir"] / f"{name}_lat.npz") as z:
        lat, sc = z["latents"], z["sum_code"]
    lines = (c["dir"] / f"{name}_out.csv").read_text().splitlines()[1:]
    for bx, line in enumerate(lines):
        cols = line.split(",")
        assert cols[2:] == ["00000000"] * 11
        frame = int(cols[0], 16) << 32 | int(cols[1], 16)
        word = sum(int(v) << (9 * j) for j, v in enumerate(lat[bx]))
        counter = 31 if bx == 0 else bx % 16
        assert frame == counter << 59 | int(sc[bx]) << 50 | (word & ((1 << 50) - 1))
