"""JSON lines are read by msgspec first and by `json` for what msgspec refuses: the rows are what
`json` reads, and the rejects name the same errors."""

import json

from notus.data.readers import read_records


def test_values_msgspec_refuses_are_read_as_json_reads_them(tmp_path):
    lines = [
        '{"a": "\\ud800"}',  # a lone surrogate
        '{"a": 1e400}',  # out of float range: json reads inf
        '{"a": 123456789012345678901234567890}',  # beyond 64 bits
        '{"a": 1, "a": 2}',  # duplicate key: the last wins
        '{"a": [1.5, -0, "\\u00e9", null, true]}',
    ]
    path = tmp_path / "rows.jsonl"
    path.write_text("\n".join(lines) + "\n")
    records, rejects = read_records(path)
    assert rejects == []
    assert [r.row for r in records] == [json.loads(line) for line in lines]
    assert [r.line for r in records] == [1, 2, 3, 4, 5]


def test_bad_lines_are_rejected_with_json_messages(tmp_path):
    path = tmp_path / "rows.jsonl"
    path.write_text('{"a": 1}\n{"a": NaN}\n{"a": 1}x\n[1, 2]\n')
    records, rejects = read_records(path)
    assert [r.line for r in records] == [1]
    reasons = {r["line"]: r["reason"] for r in rejects}
    assert "NaN is not valid JSON" in reasons[2]
    assert reasons[3] == "not valid JSON (Extra data)"
    assert "not an object" in reasons[4]


def test_datasets_folder_is_read_in_parts(tmp_path):
    from datasets import Dataset, DatasetDict

    from notus.data.readers import read_parts

    train = [{"prompt": f"p{i}", "chosen": [{"role": "assistant", "content": "a"}], "n": i} for i in range(5)]
    test = [{"prompt": f"q{i}", "chosen": [{"role": "assistant", "content": "b"}], "n": i} for i in range(3)]
    DatasetDict({"train": Dataset.from_list(train), "test": Dataset.from_list(test)}).save_to_disk(
        tmp_path / "ds"
    )
    parts = list(read_parts(tmp_path / "ds", size=2))
    assert [len(records) for records, _ in parts] == [2, 2, 1, 2, 1]  # a part never spans two splits
    records = [r for part, _ in parts for r in part]
    assert [r.row for r in records] == train + test
    assert [(r.file, r.line) for r in records][4:6] == [
        (f"{tmp_path / 'ds'}[train]", 5),
        (f"{tmp_path / 'ds'}[test]", 1),
    ]
    only_test, _ = read_records(tmp_path / "ds", split="test")
    assert [r.row for r in only_test] == test
