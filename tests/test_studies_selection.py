"""The study keeps, per e-link budget, the point with the lowest validation EMD, never the test EMD."""

import json

from encoder.studies.report import rows, selected_ids, selected_json


def result(i, elinks, val_emd, test_emd, cms_emd):
    def algo(e):
        return {"ae_golden": {"bandwidth": {"bits_mean": 61.0, "bits_p99": 61.0, "bits_max": 61, "elinks_p99": 2,
                                            "compression_ratio": 5.5},
                              "emd": {"mean": e, "median": e, "sem": 0.01}, "mse_mean": 0.1,
                              "centroid_shift_cm_mean": 1.0, "sum_ratio_mean": 1.0, "sum_ratio_std": 0.0}}
    return {"id": f"p{i}", "label": f"p{i}", "index": i, "elinks": elinks, "n_latent": 16, "latent_bits": 3,
            "overrides": {}, "train": {"best_val_emd": val_emd, "epochs_run": 9},
            "evaluations": {"eval": {"algorithms": algo(test_emd)}, "cms": {"algorithms": algo(cms_emd)}}}


def test_selection_follows_validation_emd_even_when_the_test_emd_disagrees():
    res = [result(0, 2, 1.30, 1.10, 1.0),     # best on the test data, worse on validation
           result(1, 2, 1.20, 1.25, 1.2),
           result(2, 3, 1.00, 0.90, 0.9),
           result(3, 3, None, 0.10, 0.1),     # no validation EMD (old run): never preferred
           result(4, 3, 1.00, 0.80, 0.8)]     # a tie goes to the earlier point
    assert selected_ids(res) == {"p1", "p2"}
    table = rows(res, {}, ["cms"])
    assert [r["name"] for r in table if r["selected"]] == ["p1", "p2"]
    assert [r["best_val_emd"] for r in table] == [1.30, 1.20, 1.00, None, 1.00]
    kept = json.loads(selected_json(res))["by_elinks"]
    assert {k: v["point"] for k, v in kept.items()} == {"2": "p1", "3": "p2"}
    assert kept["3"]["ir"] == "points/p2/ir.json"
