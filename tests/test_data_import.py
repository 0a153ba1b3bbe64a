"""ECON-T CSV import: real files, layouts, the fast parser, and bad input.

The reference reader is Python's csv module (independent of the NumPy
readers the importer uses).
"""

import csv
from pathlib import Path

import numpy as np
import pytest

from encoder.cli import main
from encoder.data import load_data
from encoder.data import csv_import
from encoder.data.csv_import import import_csv
from encoder.data.fastcsv import parse_unsigned_block
from encoder.errors import UserError

HERE = Path(__file__).resolve().parent
REAL_500 = HERE / "data" / "real_data" / "calq_ttbar_first500.csv"
REAL_FULL = [p for p in (HERE.parent / "data" / "cms" / "calq_ttbar_6050.csv",) if p.is_file()]
CALQ = [f"CALQ_{i}" for i in range(48)]


def _csv_reference(path):
    with open(path, newline="") as fh:
        rows = list(csv.reader(fh))
    header, body = rows[0], rows[1:]
    return header, np.array([[float(v) for v in r] for r in body])


def _write(path, header, rows, newline="\n"):
    lines = ([",".join(header)] if header else []) + [",".join(str(v) for v in r) for r in rows]
    path.write_bytes((newline.join(lines) + newline).encode())
    return path


def _rows(n=5, seed=0, cols=48):
    rng = np.random.default_rng(seed)
    return (rng.exponential(20, (n, cols)) * (rng.random((n, cols)) < 0.5)).astype(int)


# ---------------------------------------------------------------- real data

def test_real_file_excerpt_imports_exactly_in_mips():
    header, ref = _csv_reference(REAL_500)
    assert header == CALQ
    res = import_csv(REAL_500, units_per_mip=35)
    assert res.header and res.data.charges.shape == (500, 48)
    np.testing.assert_allclose(res.data.charges, ref / 35, rtol=1e-15)
    np.testing.assert_array_equal(import_csv(REAL_500).data.charges, ref)
    assert res.data.meta == {} and res.data.geometry == "hgcal"


@pytest.mark.skipif(not REAL_FULL, reason="data/cms/calq_ttbar_6050.csv missing from the clone")
def test_full_real_file_matches_its_documented_figures():
    # data/cms/README.md: 62 % zeros; module sums (1, 10, 50, 90, 99 %)
    # = 15, 99, 596, 2407, 4469 units; largest TC 5355 units.
    res = import_csv(REAL_FULL[0], units_per_mip=1)
    q = res.data.charges
    assert q.shape == (6050, 48)
    assert round(100 * np.mean(q == 0)) == 62
    np.testing.assert_allclose(np.percentile(q.sum(axis=1), [1, 10, 50, 90, 99]),
                               [15, 99, 596, 2407, 4469], rtol=0.01)
    assert q.max() == 5355
    _, ref = _csv_reference(REAL_FULL[0])
    np.testing.assert_array_equal(q, ref)


def test_cli_imports_the_real_excerpt_and_refuses_to_overwrite(tmp_path, capsys):
    out = tmp_path / "real.npz"
    assert main(["data", "import", str(REAL_500), "--units-per-mip", "35", "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "500 modules" in text and "occupancy" in text
    data = load_data(out)
    _, ref = _csv_reference(REAL_500)
    np.testing.assert_allclose(data.charges, ref / 35)
    assert main(["data", "import", str(REAL_500), "--out", str(out)]) == 1
    assert "already exists" in capsys.readouterr().err
    assert main(["data", "import", str(REAL_500), "--out", str(out), "--force"]) == 0
    np.testing.assert_array_equal(load_data(out).charges, ref)


# ---------------------------------------------------------------- layouts

def test_headerless_file_takes_the_first_48_columns_as_charges(tmp_path):
    rows = _rows(4, cols=50)
    path = _write(tmp_path / "plain.csv", None, rows.tolist())
    res = import_csv(path)
    assert not res.header
    np.testing.assert_array_equal(res.data.charges, rows[:, :48])
    np.testing.assert_array_equal(res.data.meta["col_48"], rows[:, 48])
    np.testing.assert_array_equal(res.data.meta["col_49"], rows[:, 49])


def test_extra_columns_are_kept_as_metadata_and_charge_columns_found_by_name(tmp_path):
    rng = np.random.default_rng(1)
    charges = _rows(6, seed=1)
    order = rng.permutation(48)
    header = ["layer"] + [CALQ[i] for i in order] + ["SimEnergyTotal", "HD_LD", "wafer u"]
    rows = [[9] + [int(charges[r, i]) for i in order] + [1.5 * r, "HD" if r % 2 else "LD", -r]
            for r in range(6)]
    path = _write(tmp_path / "extra.csv", header, rows)
    res = import_csv(path, units_per_mip=2)
    np.testing.assert_array_equal(res.data.charges, charges / 2)
    meta = res.data.meta
    assert set(meta) == {"layer", "SimEnergyTotal", "HD_LD", "wafer_u"}
    np.testing.assert_array_equal(meta["layer"], [9] * 6)
    np.testing.assert_array_equal(meta["SimEnergyTotal"], 1.5 * np.arange(6))
    assert meta["HD_LD"].tolist() == ["LD", "HD"] * 3
    np.testing.assert_array_equal(meta["wafer_u"], -np.arange(6))


def test_decimal_values_crlf_line_ends_byte_order_mark_and_trailing_blank_lines(tmp_path):
    rows = [[0.25 * (i + r) for i in range(48)] for r in range(3)]
    rows[1][5] = "1e2"
    rows[2][7] = " 3.5 "
    path = tmp_path / "dec.csv"
    text = ",".join(CALQ) + "\r\n" + "\r\n".join(",".join(str(v) for v in r) for r in rows) + "\r\n\r\n\r\n"
    path.write_bytes(b"\xef\xbb\xbf" + text.encode())
    res = import_csv(path)
    expected = np.array([[float(str(v)) for v in r] for r in rows])
    np.testing.assert_array_equal(res.data.charges, expected)


def test_blank_lines_inside_the_file_are_skipped(tmp_path):
    rows = _rows(3)
    path = tmp_path / "gaps.csv"
    lines = [",".join(CALQ), ",".join(map(str, rows[0])), "", ",".join(map(str, rows[1])), "  ",
             ",".join(map(str, rows[2]))]
    path.write_text("\n".join(lines) + "\n")
    np.testing.assert_array_equal(import_csv(path).data.charges, rows)


SMALL_BLOCK = 3000       # bytes: a few hundred rows then span many blocks


def test_file_of_many_blocks_imports_completely(tmp_path, monkeypatch):
    monkeypatch.setattr(csv_import, "BLOCK_BYTES", SMALL_BLOCK)
    rows = _rows(400, seed=2)
    path = _write(tmp_path / "big.csv", CALQ, rows.tolist())
    assert path.stat().st_size > 10 * SMALL_BLOCK
    np.testing.assert_array_equal(import_csv(path).data.charges, rows)
    # the same with decimals (general reader) and a text column (column subsets)
    dec = rows / 4
    path = _write(tmp_path / "dec.csv", CALQ + ["kind"], [list(r) + ["a"] for r in dec.tolist()])
    res = import_csv(path)
    np.testing.assert_array_equal(res.data.charges, dec)
    assert res.data.meta["kind"].tolist() == ["a"] * 400


def test_all_zero_rows_are_kept_and_counted(tmp_path):
    rows = _rows(4)
    rows[2] = 0
    res = import_csv(_write(tmp_path / "z.csv", CALQ, rows.tolist()))
    assert res.zero_rows == 1 and res.data.n_modules == 4


# ---------------------------------------------------------------- fast parser

def test_unsigned_block_parser_agrees_with_python_int():
    rng = np.random.default_rng(3)
    values = rng.integers(0, 10**rng.integers(1, 15, (200, 7)), dtype=np.int64)
    block = "".join(",".join(str(v) for v in row) + "\n" for row in values).encode()
    parsed = parse_unsigned_block(block, 7)
    np.testing.assert_array_equal(parsed, values.astype(np.float64))


@pytest.mark.parametrize("block", [
    b"1,2,3\n4,5,6", b"1,2,3\n4,-5,6\n", b"1,2.5,3\n", b"1,,3\n", b"1,2\n", b"1,2,3,4\n",
    b"1, 2,3\n", b"1,2,3\r\n", b"1,2,1234567890123456\n", b"",
])
def test_unsigned_block_parser_declines_anything_but_plain_rows(block):
    assert parse_unsigned_block(block, 3) is None


# ---------------------------------------------------------------- bad input

def _bad(tmp_path, header, rows, name="bad.csv"):
    return _write(tmp_path / name, header, rows)


def _expect_error(tmp_path, capsys, path, *fragments, args=(), names_file=True, code=1):
    out = tmp_path / "out.npz"
    assert main(["data", "import", str(path), "--out", str(out), *args]) == code
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1, err
    assert str(path) in err or not names_file
    for f in fragments:
        assert f in err, err
    assert not out.exists()
    assert not any(p.name.startswith(".out") for p in tmp_path.iterdir())
    return err


def test_missing_charge_columns_are_named(tmp_path, capsys):
    header = [c for c in CALQ if c not in ("CALQ_5", "CALQ_40")]
    path = _bad(tmp_path, header, _rows(2, cols=46).tolist())
    _expect_error(tmp_path, capsys, path, "line 1", "CALQ_5", "CALQ_40")


def test_duplicate_column_is_refused(tmp_path, capsys):
    path = _bad(tmp_path, CALQ + ["CALQ_3"], _rows(2, cols=49).tolist())
    _expect_error(tmp_path, capsys, path, "CALQ_3", "twice")


@pytest.mark.parametrize("value, fragment", [
    ("abc", "not a number ('abc')"),
    ("", "not a number ('')"),
    ("nan", "must be finite"),
    ("inf", "must be finite"),
    ("-3", "negative charge (-3)"),
])
def test_bad_value_names_line_and_column(tmp_path, capsys, value, fragment):
    rows = _rows(5).astype(object)
    rows[3, 17] = value
    path = _bad(tmp_path, CALQ, rows.tolist())
    _expect_error(tmp_path, capsys, path, "line 5 (data row 4)", "column CALQ_17", fragment)


def test_wrong_column_count_names_the_line(tmp_path, capsys):
    rows = _rows(4).tolist()
    rows[2] = rows[2][:47]
    path = _bad(tmp_path, CALQ, rows)
    _expect_error(tmp_path, capsys, path, "line 4 (data row 3)", "47 columns, expected 48")
    rows = _rows(4).tolist()
    rows[1] = rows[1] + [7]
    path = _bad(tmp_path, CALQ, rows, "bad2.csv")
    _expect_error(tmp_path, capsys, path, "line 3 (data row 2)", "49 columns, expected 48")


def test_error_far_into_a_file_of_many_blocks_reports_the_exact_line(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(csv_import, "BLOCK_BYTES", SMALL_BLOCK)
    n = 400
    rows = _rows(n, seed=4).astype(object)
    rows[n - 10, 30] = "x"
    path = _bad(tmp_path, CALQ, rows.tolist())
    _expect_error(tmp_path, capsys, path, f"line {n - 10 + 2} (data row {n - 9})", "column CALQ_30")


def test_bad_metadata_value_in_a_numeric_column_is_reported(tmp_path, capsys):
    rows = [list(r) + [1.0] for r in _rows(3).tolist()]
    rows[2][48] = "oops"
    path = _bad(tmp_path, CALQ + ["SimEnergyTotal"], rows)
    _expect_error(tmp_path, capsys, path, "line 4", "column SimEnergyTotal", "not a number")


def test_empty_file_header_only_and_too_few_columns(tmp_path, capsys):
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    _expect_error(tmp_path, capsys, empty, "empty file")
    only = tmp_path / "only.csv"
    only.write_text(",".join(CALQ) + "\n")
    _expect_error(tmp_path, capsys, only, "no data rows")
    narrow = _bad(tmp_path, None, _rows(2, cols=10).tolist(), "narrow.csv")
    _expect_error(tmp_path, capsys, narrow, "line 1", "10 columns")


def test_unreadable_inputs(tmp_path, capsys):
    _expect_error(tmp_path, capsys, tmp_path / "missing.csv", "cannot read")
    folder = tmp_path / "folder.csv"
    folder.mkdir()
    _expect_error(tmp_path, capsys, folder, "cannot read")
    binary = tmp_path / "binary.csv"
    binary.write_bytes(",".join(CALQ).encode() + b"\n" + b"1,2\xff\xfe," * 20 + b"\n")
    _expect_error(tmp_path, capsys, binary, "line 2", "not UTF-8")


@pytest.mark.parametrize("u,code", [("0", 1), ("-35", 1), ("nan", 2), ("inf", 2)])
def test_units_per_mip_must_be_positive(tmp_path, capsys, u, code):
    # nan and inf are refused by the parser (usage error, exit 2) like every non-finite float option
    _expect_error(tmp_path, capsys, REAL_500, "--units-per-mip", args=("--units-per-mip", u),
                  names_file=False, code=code)


def test_import_function_raises_user_error():
    with pytest.raises(UserError, match="cannot read"):
        import_csv("/nonexistent/file.csv")


def test_first_line_that_is_neither_header_nor_numbers_is_explained(tmp_path, capsys):
    path = tmp_path / "odd.csv"
    path.write_text("a,b,c\n1,2,3\n")
    _expect_error(tmp_path, capsys, path, "line 1", "neither a header naming CALQ_0..CALQ_47")
