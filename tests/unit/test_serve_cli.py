"""`notus serve` command line: bad limits and unknown models fail with a clear message and exit code 2."""

from __future__ import annotations

from notus.cli.main import main


def test_bad_limits_are_reported_together(capsys):
    assert (
        main(
            ["serve", "smollm2-135m-instruct", "--max-batch-size", "0", "--max-queue", "0", "--port", "70000"]
        )
        == 2
    )
    err = capsys.readouterr().err
    assert "--max-batch-size must be >= 1" in err and "--max-queue must be >= 1" in err and "--port" in err


def test_unknown_model_is_a_clear_error(capsys, tmp_path):
    assert main(["serve", str(tmp_path)]) == 2
    assert "no config.json" in capsys.readouterr().err


def test_help_lists_the_limits(capsys):
    try:
        main(["serve", "--help"])
    except SystemExit as exc:
        assert exc.code == 0
    out = capsys.readouterr().out
    for option in (
        "--host",
        "--api-key",
        "--max-batch-size",
        "--max-queue",
        "--max-prompt-tokens",
        "127.0.0.1",
    ):
        assert option in out


def test_api_key_comes_from_the_flag_then_the_environment(monkeypatch):
    from notus.cli.main import build_parser
    from notus.cli.serve import api_key_from

    parser = build_parser()
    monkeypatch.delenv("NOTUS_API_KEY", raising=False)
    assert api_key_from(parser.parse_args(["serve", "m"])) is None
    monkeypatch.setenv("NOTUS_API_KEY", "from-env")
    assert api_key_from(parser.parse_args(["serve", "m"])) == "from-env"
    assert api_key_from(parser.parse_args(["serve", "m", "--api-key", "from-flag"])) == "from-flag"
